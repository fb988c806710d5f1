// Copies the browser builds certd serves as GraphiQL out of an npm
// install (node_modules, argv[2]) into the vendor directory (argv[3]), run
// by scripts/vendor-graphiql.sh:
//
// - GraphiQL's UMD build and stylesheet, React and ReactDOM's UMD builds
//   (GraphiQL's UMD build expects them as globals) and DOMPurify (the
//   Trusted Types policy of certd-graphiql.js sanitizes with it);
// - the stylesheet's data: fonts as files under fonts/, since the page's
//   Content-Security-Policy allows fonts from 'self' only;
// - no source maps, and no sourceMappingURL comments pointing at them;
// - LICENSES.txt: name, version, licence and licence text of every package
//   installed (GraphiQL's UMD build bundles its dependencies), and
//   versions.json: the version of each file's package.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [nm, dst] = process.argv.slice(2);
if (!nm || !dst) throw new Error('usage: node vendor.mjs NODE_MODULES DEST');

const files = {
  'graphiql.min.js': ['graphiql', 'graphiql.min.js'],
  'graphiql.min.css': ['graphiql', 'graphiql.min.css'],
  'react.production.min.js': ['react', 'umd/react.production.min.js'],
  'react-dom.production.min.js': ['react-dom', 'umd/react-dom.production.min.js'],
  'purify.min.js': ['dompurify', 'dist/purify.min.js'],
};

const pkg = (name) => JSON.parse(readFileSync(join(nm, name, 'package.json'), 'utf8'));
const stripMap = (s) => s.replace(/\n?\/[/*]# sourceMappingURL=[^\n]*\n?$/, '\n');

mkdirSync(join(dst, 'fonts'), { recursive: true });
const versions = {};
for (const [out, [name, path]] of Object.entries(files)) {
  let text = stripMap(readFileSync(join(nm, name, path), 'utf8'));
  if (out.endsWith('.css')) {
    text = text.replace(/url\(\s*["']?data:font\/(woff2?|ttf|otf);base64,([A-Za-z0-9+/=]+)["']?\s*\)/g, (_, ext, b64) => {
      const bytes = Buffer.from(b64, 'base64');
      const file = `fonts/${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.${ext}`;
      writeFileSync(join(dst, file), bytes);
      return `url(${file})`;
    });
    if (/url\(\s*["']?data:font/.test(text)) throw new Error(`${out}: a data: font was not extracted`);
  }
  writeFileSync(join(dst, out), text);
  versions[out] = `${name}@${pkg(name).version}`;
}
writeFileSync(join(dst, 'versions.json'), JSON.stringify(versions, null, 2) + '\n');

// Every installed package, scoped ones included.
const installed = [];
for (const entry of readdirSync(nm).sort()) {
  if (entry.startsWith('.')) continue;
  const names = entry.startsWith('@') ? readdirSync(join(nm, entry)).sort().map((s) => `${entry}/${s}`) : [entry];
  for (const name of names) {
    if (existsSync(join(nm, name, 'package.json'))) installed.push(name);
  }
}
const MIT = `MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;
const author = (p) => (typeof p.author === 'string' ? p.author : p.author?.name) || 'its authors';
let notice = 'Third-party software in this directory, as installed from npm by scripts/vendor-graphiql.sh.\n' +
  'GraphiQL\'s UMD build bundles its dependencies; every package of the install is listed.\n';
for (const name of installed) {
  const p = pkg(name);
  const lic = readdirSync(join(nm, name)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const license = typeof p.license === 'string' ? p.license : JSON.stringify(p.license ?? 'see text');
  notice += `\n${'='.repeat(78)}\n${name}@${p.version} — ${license}\n${'='.repeat(78)}\n`;
  if (lic) {
    notice += readFileSync(join(nm, name, lic), 'utf8').trim() + '\n';
  } else if (license === 'MIT') {
    notice += `The package ships no licence file; its package.json names the MIT License.\nCopyright (c) ${author(p)}\n\n${MIT}\n`;
  } else {
    throw new Error(`${name}@${p.version}: no licence file and licence ${license}; add its text by hand`);
  }
}
writeFileSync(join(dst, 'LICENSES.txt'), notice);
