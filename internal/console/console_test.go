package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"certd/internal/console"
	"certd/internal/testkit"
)

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerServesTheConsole(t *testing.T) {
	h := console.Handler()

	r := get(t, h, http.MethodGet, "/console")
	if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/console/" {
		t.Errorf("/console: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	for _, p := range []string{"/console/", "/console/index.html"} {
		r := get(t, h, http.MethodGet, p)
		b := body(t, r)
		if r.StatusCode != http.StatusOK || !strings.Contains(b, `<script type="module" src="app.js"></script>`) {
			t.Errorf("%s: %d\n%s", p, r.StatusCode, b)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
	}

	r = get(t, h, http.MethodGet, "/console/")
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
		t.Errorf("CSP %q allows too much", csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}

	types := map[string]string{
		"/console/app.js":           "text/javascript; charset=utf-8",
		"/console/pages/policy.js":  "text/javascript; charset=utf-8",
		"/console/console.css":      "text/css; charset=utf-8",
		"/console/favicon.svg":      "image/svg+xml",
		"/console/i18n.js":          "text/javascript; charset=utf-8",
		"/console/pages/objects.js": "",
		"/console/nope.html":        "",
		"/console/../console.go":    "",
		"/console/static/app.js":    "",
		"/console/console.go":       "",
		"/consolex":                 "",
		"/console/pages/":           "",
	}
	for p, want := range types {
		r := get(t, h, http.MethodGet, p)
		if want == "" {
			if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMovedPermanently {
				t.Errorf("%s: %d, want 404", p, r.StatusCode)
			}
			continue
		}
		if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != want {
			t.Errorf("%s: %d %q, want %q", p, r.StatusCode, r.Header.Get("Content-Type"), want)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: headers %v", p, r.Header)
		}
	}

	// Revalidation with the ETag answers 304; other methods are refused.
	r = get(t, h, http.MethodGet, "/console/app.js")
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if r := get(t, h, http.MethodGet, "/console/app.js", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", r.StatusCode)
	}
	if r := get(t, h, http.MethodPost, "/console/app.js"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.StatusCode)
	}
	if r := get(t, h, http.MethodHead, "/console/"); r.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %d", r.StatusCode)
	}
}

// TestServedByCertd checks the wiring: a real certd serves the console
// without a token, next to /graphql.
func TestServedByCertd(t *testing.T) {
	s := testkit.Start(t)
	code, b := s.Get("/console/")
	if code != http.StatusOK || !strings.Contains(b, "app.js") {
		t.Fatalf("/console/ from certd: %d %s", code, b)
	}
	resp, err := http.Get(s.URL + "/console/app.js")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("app.js from certd: %d %v", resp.StatusCode, resp.Header)
	}
	// Following the redirect from /console lands on the console.
	code, b = s.Get("/console")
	if code != http.StatusOK || !strings.Contains(b, "app.js") {
		t.Fatalf("/console from certd: %d", code)
	}
}

// TestNoInlineScript scans every embedded file: no inline script, no
// inline event handler, no inline style, no external URL, and text set
// with innerHTML nowhere.
func TestNoInlineScript(t *testing.T) {
	files := console.Files()
	var names []string
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index.html", "app.js", "api.js", "i18n.js", "rego.js", "diff.js", "editor.js", "console.css",
		"pages/policy.js", "pages/approvals.js", "pages/audit.js", "pages/objections.js"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s is not embedded", want)
		}
	}
	scriptTag := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	handler := regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	styleAttr := regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`)
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		switch path.Ext(name) {
		case ".html":
			for _, m := range scriptTag.FindAllStringSubmatch(text, -1) {
				if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
					t.Errorf("%s has an inline script: %s", name, m[0])
				}
			}
			if m := handler.FindString(text); m != "" {
				t.Errorf("%s has an inline event handler: %s", name, m)
			}
			if m := styleAttr.FindString(text); m != "" {
				t.Errorf("%s has an inline style: %s", name, m)
			}
			if m := external.FindString(text); m != "" {
				t.Errorf("%s loads from elsewhere: %s", name, m)
			}
		case ".js":
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage.setItem('certd.console.token", "http://", "https://"} {
				if strings.Contains(text, bad) {
					t.Errorf("%s uses %s", name, bad)
				}
			}
		}
	}
}

// TestDictionary checks that every label key the console uses has an
// English and a Chinese text, and that every dictionary entry is used.
func TestDictionary(t *testing.T) {
	files := console.Files()
	dict, err := fs.ReadFile(files, "i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	entry := regexp.MustCompile(`(?m)^\s*'([A-Za-z0-9_.]+)': \['((?:[^'\\]|\\.)*)', '((?:[^'\\]|\\.)*)'\],$`)
	keys := map[string]bool{}
	for _, m := range entry.FindAllStringSubmatch(string(dict), -1) {
		if keys[m[1]] {
			t.Errorf("%s is defined twice", m[1])
		}
		keys[m[1]] = true
		if strings.TrimSpace(m[2]) == "" || strings.TrimSpace(m[3]) == "" {
			t.Errorf("%s lacks a text: %q / %q", m[1], m[2], m[3])
		}
		if !regexp.MustCompile(`[\p{Han}]`).MatchString(m[3]) && !regexp.MustCompile(`^[\s\p{P}{}a-z0-9…]*$`).MatchString(m[3]) {
			t.Errorf("%s has no Chinese text: %q", m[1], m[3])
		}
	}
	if len(keys) < 100 {
		t.Fatalf("only %d dictionary entries parsed", len(keys))
	}

	// Every quoted name in a namespace of the dictionary is a key, and so
	// is every data-i18n attribute; families are built with ${...}.
	used := map[string]bool{}
	literal := regexp.MustCompile(`'(skip|signout|(?:app|lang|nav|signout|signin|who|common|err|policy|approvals|bulk|audit|objections|objection)(?:\.[A-Za-z0-9_]+)+)'|data-i18n[a-z-]*="([^"]+)"`)
	family := regexp.MustCompile("`([a-z]+\\.[a-z_]+\\.)\\$\\{")
	families := map[string]bool{}
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "i18n.js" || (path.Ext(p) != ".js" && path.Ext(p) != ".html") {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			for _, k := range m[1:] {
				if k != "" {
					used[k] = true
				}
			}
		}
		for _, m := range family.FindAllStringSubmatch(string(b), -1) {
			families[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range used {
		if !keys[k] {
			t.Errorf("%s is used but not in the dictionary", k)
		}
	}
	for k := range keys {
		inFamily := false
		for f := range families {
			inFamily = inFamily || strings.HasPrefix(k, f)
		}
		if !used[k] && !inFamily {
			t.Errorf("%s is in the dictionary but not used", k)
		}
	}
	for f := range families {
		n := 0
		for k := range keys {
			if strings.HasPrefix(k, f) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no dictionary entries for the family %s*", f)
		}
	}
}

// TestScreenshotIsCommitted keeps the README's picture in the tree.
func TestScreenshotIsCommitted(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(root + "/docs/console-policy.png")
	if err != nil {
		t.Fatalf("docs/console-policy.png: %v (CERTD_SCREENSHOT_README=docs/console-policy.png go test -run TestScreenshotPolicyPage ./internal/console/ makes it)", err)
	}
	if len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Fatal("docs/console-policy.png is not a PNG")
	}
}
