package app

import (
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"certd/internal/apperr"
	"certd/internal/certificate"
	"certd/internal/ratelimit"
	"certd/internal/server"
)

// publicURL is the base of the addresses printed licences carry (the
// verification link and its QR code): --public-url, required in
// production; otherwise the listen address. Never the Host header of a
// request, which the client chooses.
func publicURL(cfg Config, log *slog.Logger) (string, error) {
	if cfg.PublicURL == "" {
		if cfg.Production {
			return "", fmt.Errorf("%w: --production needs --public-url (the address printed licences carry for verification, e.g. https://certd.city.example)", ErrConfig)
		}
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return "http://localhost", nil
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			log.Warn("no --public-url: printed licences will carry verification links to localhost; set --public-url to the address the public reaches certd at", "addr", cfg.Addr)
			host = "localhost"
		}
		return "http://" + net.JoinHostPort(host, port), nil
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: --public-url %q must be an absolute http(s) URL without user, query or fragment", ErrConfig, cfg.PublicURL)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// verifyLink is the public verification address of licence version id
// with its verification code (none when code is empty), under base.
func verifyLink(base, id, code string) string {
	q := url.Values{"id": {id}}
	if code != "" {
		q.Set("code", code)
	}
	return base + "/verify?" + q.Encode()
}

// verifyHandler answers GET /verify?id=…&code=… for anyone, as
// verifyCertificate does for the public: only the right code shows found,
// citable, seal, state and issuer; throttled per client address (429 with
// Retry-After). A browser (Accept: text/html), as when a QR code is
// scanned, gets a page; anything else JSON.
func verifyHandler(lic *certificate.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ctx := ratelimit.WithClient(r.Context(), server.ClientAddress(r))
		v, err := lic.Verify(ctx, q.Get("id"), q.Get("code"))
		html := strings.Contains(r.Header.Get("Accept"), "text/html")
		if err != nil {
			code, msg, _ := apperr.CodeOf(err)
			status := http.StatusInternalServerError
			if code == apperr.RateLimited {
				status = http.StatusTooManyRequests
				w.Header().Set("Retry-After", strconv.Itoa(apperr.RetrySeconds(err)))
			} else {
				msg = "verification failed"
			}
			if html {
				writeVerifyPage(w, status, verifyPage{Error: msg})
				return
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": string(code)}}}})
			return
		}
		reasons := v.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		if html {
			writeVerifyPage(w, http.StatusOK, verifyPage{V: v, Reasons: reasons})
			return
		}
		state, issuer := any(nil), any(nil)
		if v.Found {
			state, issuer = v.State, v.IssuerCode
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": v.ID, "found": v.Found, "citable": v.Citable,
			"sealValid": v.SealValid, "state": state, "issuer": issuer, "reasons": reasons})
	})
}

type verifyPage struct {
	V       certificate.Verification
	Reasons []string
	Error   string
}

var verifyTmpl = template.Must(template.New("verify").Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>电子证照核验 / Licence verification</title>
<style>body{font-family:sans-serif;max-width:36em;margin:1.5em auto;padding:0 1em;line-height:1.5}
.ok{color:#060}.no{color:#b00}dt{font-weight:bold}code{word-break:break-all}</style>
</head>
<body>
<h1>电子证照核验 <small>Licence verification</small></h1>
{{if .Error}}<p class="no">{{.Error}}</p>
{{else}}{{if .V.Found}}<p class="{{if .V.Citable}}ok{{else}}no{{end}}">{{if .V.Citable}}本证照有效，可以引用 / This licence is valid and may be cited.{{else}}本证照当前不可引用 / This licence may not be cited now.{{end}}</p>
<dl>
<dt>证照标识 / Licence ID</dt><dd><code>{{.V.ID}}</code></dd>
<dt>状态 / State</dt><dd>{{.V.State}}</dd>
<dt>签发单位 / Issuer</dt><dd>{{.V.IssuerCode}}</dd>
<dt>电子印章 / Seal</dt><dd>{{if .V.SealValid}}有效 / valid{{else}}无效 / not valid{{end}}</dd>
</dl>
{{else}}<p class="no">无法核验 / Nothing to show.</p>
{{end}}{{if .Reasons}}<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}</body>
</html>
`))

func writeVerifyPage(w http.ResponseWriter, status int, p verifyPage) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = verifyTmpl.Execute(w, p)
}
