// Package console is the web console for policy admins, the digital office
// and issuers: plain HTML, CSS and JavaScript modules embedded in the
// binary and served under /console/. It talks to the same /graphql endpoint
// as every other client, with the token the user pastes in; the server
// decides what each token may do, the console only hides pages the token's
// roles cannot use.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"certd/internal/webasset"
)

//go:embed static
var static embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// CSP is the Content-Security-Policy of every console response (see
// webasset.CSP).
const CSP = webasset.CSP

// Files returns the embedded files, rooted at the static directory.
func Files() fs.FS { return webasset.Sub(static, "static") }

// Handler serves the console: GET /console redirects to /console/, which
// is index.html, and /console/<file> is an embedded file. Anything else
// under /console/ is 404.
func Handler() http.Handler {
	assets := loadAssets()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve(assets, w, r)
	})
}

// loadAssets reads the embedded files once.
var loadAssets = sync.OnceValue(func() *webasset.Set { return webasset.Load(Files()) })

func serve(assets *webasset.Set, w http.ResponseWriter, r *http.Request) {
	if !webasset.Headers(w, r) {
		return
	}
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		target := Prefix
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if name == "" {
		name = "index.html"
	}
	assets.Serve(w, r, name)
}
