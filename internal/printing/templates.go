package printing

import "html/template"

const style = `
@page { size: A4; margin: 18mm 16mm 20mm 16mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", serif; color: #000; background: #fff; margin: 0 auto; max-width: 180mm; font-size: 11pt; line-height: 1.5; }
h1 { font-size: 18pt; text-align: center; margin: 0 0 2mm; letter-spacing: .2em; }
h2 { font-size: 13pt; text-align: center; margin: 0 0 5mm; font-weight: normal; }
h3 { font-size: 11pt; margin: 5mm 0 2mm; border-bottom: 1px solid #000; }
.en { color: #444; font-size: 8.5pt; font-weight: normal; letter-spacing: 0; }
.banner { border: 3px solid #b00; color: #b00; text-align: center; font-size: 16pt; font-weight: bold; padding: 2mm; margin: 0 0 4mm; }
.banner ul { font-size: 9pt; font-weight: normal; margin: 1mm 0 0; padding: 0; list-style: none; }
table { width: 100%; border-collapse: collapse; }
th, td { border: 1px solid #000; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
th { width: 35%; background: #f2f2f2; font-weight: bold; }
td { overflow-wrap: anywhere; }
.missing { color: #666; }
.mono { font-family: "DejaVu Sans Mono", "Courier New", monospace; font-size: 8pt; white-space: pre-wrap; word-break: break-all; border: 1px solid #000; padding: 2mm; margin: 0; }
.verify { display: flex; gap: 5mm; align-items: center; margin-top: 4mm; page-break-inside: avoid; break-inside: avoid; }
.verify img { width: 40mm; height: 40mm; image-rendering: pixelated; border: 1px solid #000; }
.verify .url { font-family: monospace; font-size: 8.5pt; word-break: break-all; }
.verify .code { font-family: "DejaVu Sans Mono", "Courier New", monospace; font-size: 13pt; letter-spacing: .1em; }
.seal, .fields, .verify { page-break-inside: avoid; break-inside: avoid; }
footer { margin-top: 6mm; font-size: 9pt; border-top: 1px solid #000; padding-top: 2mm; }
@media print {
  body { max-width: none; }
  th { background: #f2f2f2 !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: #000; text-decoration: none; }
}
`

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>电子证照打印件 {{.TypeName}} {{.ID}}</title>
<style>` + style + `</style>
</head>
<body>
<header>
<h1>电子证照打印件 <span class="en">Printed copy of an electronic licence</span></h1>
<h2>{{.TypeName}}</h2>
</header>
{{if .NotCitable}}<div class="banner" role="alert">不可引用 / NOT CITABLE{{if .Reasons}}<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}</div>
{{end}}<section>
<h3>证照信息 <span class="en">Licence</span></h3>
<table>
<tr><th>证照类型 <span class="en">Type</span></th><td>{{.TypeName}} ({{.TypeCode}})</td></tr>
<tr><th>签发单位 <span class="en">Issuer</span></th><td>{{.IssuerName}} ({{.IssuerCode}})</td></tr>
<tr><th>证照标识 <span class="en">Licence ID</span></th><td>{{.ID}}</td></tr>
<tr><th>版本 <span class="en">Version</span></th><td>{{.Version}}</td></tr>
<tr><th>状态 <span class="en">State</span></th><td>{{.StateLabel}} {{.State}}</td></tr>
<tr><th>持证主体 <span class="en">Holder</span></th><td>{{.HolderName}}</td></tr>
<tr><th>主体代码 <span class="en">Holder code</span></th><td>{{.HolderCode}}{{if .HolderKind}} <span class="en">{{.HolderKind}}</span>{{end}}</td></tr>
<tr><th>有效期 <span class="en">Validity</span></th><td>{{.ValidFrom}} 至 {{.ValidUntil}}</td></tr>
<tr><th>签发时间 <span class="en">Issued at</span></th><td>{{.IssuedAt}}</td></tr>
{{if .CaseID}}<tr><th>办件 <span class="en">Case</span></th><td>{{.CaseID}}</td></tr>
{{end}}</table>
</section>
<section class="fields">
<h3>照面信息 <span class="en">Fields</span></h3>
<table>
{{range .Fields}}<tr><th>{{.Label}} <span class="en">{{.Name}}</span></th><td>{{if .Missing}}<span class="missing">—</span>{{else}}{{.Value}}{{end}}</td></tr>
{{end}}</table>
{{if .HiddenCount}}<p class="en">另有 {{.HiddenCount}} 项信息未向本单位披露，未予打印 / {{.HiddenCount}} field(s) not disclosed to the reader are not printed.</p>{{end}}
</section>
<section class="seal">
<h3>电子印章 <span class="en">Electronic seal</span></h3>
<table>
<tr><th>算法 <span class="en">Algorithm</span></th><td>{{.SealAlgorithm}}</td></tr>
<tr><th>密钥标识 <span class="en">Key ID</span></th><td>{{.SealKeyID}}</td></tr>
<tr><th>盖章时间 <span class="en">Sealed at</span></th><td>{{.SealedAt}}</td></tr>
</table>
<p>签名值 <span class="en">Signature</span></p>
<pre class="mono">{{.Signature}}</pre>
</section>
<section class="verify">
<img src="{{.QR}}" alt="验证二维码 / verification QR code" width="256" height="256">
<div>
<p>扫描二维码或访问以下地址核验本证照 <span class="en">Scan the code or open this address to verify the licence</span></p>
<p class="url">{{.VerifyURL}}</p>
{{if .Code}}<p>核验码 <span class="en">Verification code</span> <strong class="code">{{.Code}}</strong></p>
{{else}}<p class="en">公开核验需要持证主体或签发单位持有的核验码 / Public verification needs the verification code, which the holder and the issuer have.</p>
{{end}}
</div>
</section>
<footer>
打印时间 <span class="en">printed at</span> {{.PrintedAt}}<br>
本打印件仅作纸质存档材料，证照状态以在线核验结果为准。<span class="en">This printout is an archival copy; the licence's current state is what the online verification shows.</span>
</footer>
</body>
</html>
`))

var errorTmpl = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>无法打印 / Cannot print ({{.Status}})</title>
<style>body { font-family: sans-serif; max-width: 40em; margin: 2em auto; } code { font-family: monospace; }</style>
</head>
<body>
<h1>无法打印 <small>Cannot print</small></h1>
<p>{{.Status}} {{.StatusText}} — <code>{{.Code}}</code></p>
<p>{{.Message}}</p>
</body>
</html>
`))
