// Package graphiql serves GraphiQL at / outside production: a GraphiQL
// build vendored from npm (static/vendor, refreshed by
// scripts/vendor-graphiql.sh; versions in static/vendor/versions.json,
// licences in static/vendor/LICENSES.txt), embedded in the binary and
// served from this server only, under the console's strict
// Content-Security-Policy: no CDN, no inline script, no eval. It works on
// a machine without internet. Like the console it takes a pasted token.
package graphiql

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

// Prefix is where GraphiQL's files are served; the page itself is at /.
const Prefix = "/graphiql/"

// Files returns the embedded files, rooted at the static directory.
func Files() fs.FS { return webasset.Sub(static, "static") }

var assets = sync.OnceValue(func() *webasset.Set { return webasset.Load(Files()) })

// Handler serves the page at / and its files under /graphiql/; anything
// else is 404.
func Handler() http.Handler {
	set := assets()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !webasset.Headers(w, r) {
			return
		}
		if r.URL.Path == "/" {
			set.Serve(w, r, "index.html")
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok || name == "" || name == "index.html" {
			http.NotFound(w, r)
			return
		}
		set.Serve(w, r, name)
	})
}
