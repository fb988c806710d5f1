// Package webasset serves the browser pages certd embeds in its binary
// (the console, GraphiQL): files read once, each with its content type
// and an ETag, under one strict Content-Security-Policy.
package webasset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// CSP is the Content-Security-Policy of every page certd serves: only its
// own files, no inline script or style, no eval, no framing, fetches to
// the same origin only (the GraphQL endpoint), and Trusted Types required
// for every HTML and script sink, so a stray innerHTML of a plain string
// is refused by the browser.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'"

// contentTypes names the type of every extension served; a file with
// another extension is not served.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".txt":   "text/plain; charset=utf-8",
	".woff":  "font/woff",
	".woff2": "font/woff2",
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Set is a directory of files to serve.
type Set struct{ assets map[string]asset }

// Sub is dir of fsys, for an embedded directory: it panics if dir is not
// a valid path, which for an embed pattern cannot happen.
func Sub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Load reads every file of root whose extension has a content type.
// root is embedded, so reading cannot fail; Load panics if it does.
func Load(root fs.FS) *Set {
	s := &Set{assets: map[string]asset{}}
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.assets[p] = asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return s
}

// Headers sets the headers of every response of a page: the CSP and the
// usual hardening. It answers 405 and returns false for a method other
// than GET and HEAD.
func Headers(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
	return true
}

// Serve answers with the file name, or 404; call Headers first.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := s.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
