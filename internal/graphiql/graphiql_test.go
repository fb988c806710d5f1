package graphiql_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"certd/internal/console"
	"certd/internal/graphiql"
)

func get(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestHandler(t *testing.T) {
	h := graphiql.Handler()
	for path, ctype := range map[string]string{
		"/":                                          "text/html; charset=utf-8",
		"/graphiql/certd-graphiql.js":                "text/javascript; charset=utf-8",
		"/graphiql/trusted-types.js":                 "text/javascript; charset=utf-8",
		"/graphiql/vendor/graphiql.min.js":           "text/javascript; charset=utf-8",
		"/graphiql/vendor/graphiql.min.css":          "text/css; charset=utf-8",
		"/graphiql/vendor/react.production.min.js":   "text/javascript; charset=utf-8",
		"/graphiql/vendor/LICENSES.txt":              "text/plain; charset=utf-8",
		"/graphiql/":                                 "",
		"/graphiql/index.html":                       "",
		"/graphiql/../graphiql.go":                   "",
		"/graphiql/vendor/versions.json":             "", // not a served type
		"/graphiql/vendor/../../graphiql_test.go":    "",
		"/graphiql/vendor/fonts/does-not-exist.woff": "",
	} {
		rec := get(h, "GET", path)
		if ctype == "" {
			if rec.Code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, rec.Code)
			}
			continue
		}
		if rec.Code != 200 || rec.Header().Get("Content-Type") != ctype {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if got := rec.Header().Get("Content-Security-Policy"); got != console.CSP {
			t.Errorf("GET %s: CSP %q, want the console's", path, got)
		}
	}
	if rec := get(h, "POST", "/"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", rec.Code)
	}
}

// TestNoExternalURLs: certd's own files name no other server, and the
// vendored stylesheet embeds no data: fonts (the CSP allows fonts from
// 'self' only; scripts/vendor-graphiql.sh extracts them to files).
func TestNoExternalURLs(t *testing.T) {
	files := graphiql.Files()
	for _, name := range []string{"index.html", "certd-graphiql.js", "certd-graphiql.css", "trusted-types.js"} {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//unpkg", "//cdn", "eval(", "new Function", "innerHTML"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
	css, err := fs.ReadFile(files, "vendor/graphiql.min.css")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(css), "data:font") || strings.Contains(string(css), "@import") {
		t.Error("vendor/graphiql.min.css loads fonts from data: URLs or imports other stylesheets")
	}
}

// TestVendoredVersionsArePinned: the vendored files are the exact
// versions pinned in npm/package.json, and LICENSES.txt carries the
// licence of each.
func TestVendoredVersionsArePinned(t *testing.T) {
	var pkg struct{ Dependencies map[string]string }
	raw, err := os.ReadFile("npm/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	var versions map[string]string
	raw, err = fs.ReadFile(graphiql.Files(), "vendor/versions.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &versions); err != nil {
		t.Fatal(err)
	}
	licences, err := fs.ReadFile(graphiql.Files(), "vendor/LICENSES.txt")
	if err != nil {
		t.Fatal(err)
	}
	for file, nv := range versions {
		name, version, _ := strings.Cut(nv[1:], "@")
		name = nv[:1] + name
		if pkg.Dependencies[name] != version {
			t.Errorf("%s comes from %s, but npm/package.json pins %q: run scripts/vendor-graphiql.sh", file, nv, pkg.Dependencies[name])
		}
		if !strings.Contains(string(licences), "\n"+nv+" — ") {
			t.Errorf("LICENSES.txt lacks %s", nv)
		}
	}
	for _, v := range pkg.Dependencies {
		if strings.ContainsAny(v, "^~*<>= ") {
			t.Errorf("npm/package.json pins a range %q, want an exact version", v)
		}
	}
}
