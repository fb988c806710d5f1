// Package browsertest drives headless Chromium (Debian's chromium package)
// against a real certd for the browser tests of its pages (the console,
// GraphiQL). Without Chromium the tests skip, unless
// CERTD_REQUIRE_BROWSER=1 (CI), when they fail. On a failure they save a
// full-page screenshot to $CERTD_SCREENSHOT_DIR, or to a temporary
// directory named in the log.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ChromiumPath finds Debian's Chromium.
func ChromiumPath() string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is one headless Chromium shared by the subtests of a test.
type Browser struct {
	// Ctx is the browser's chromedp context; Base the server's URL.
	Ctx  context.Context
	Base string

	mu       sync.Mutex
	problems []string // uncaught exceptions and CSP violations
	shotDir  string
}

// New starts a headless Chromium for a test against the server at base
// (no trailing slash), or skips the test when there is none (see the
// package comment). It records uncaught exceptions and CSP violations for
// NoProblems.
func New(t *testing.T, base string) *Browser {
	t.Helper()
	path := ChromiumPath()
	if path == "" {
		if os.Getenv("CERTD_REQUIRE_BROWSER") == "1" {
			t.Fatal("CERTD_REQUIRE_BROWSER=1 but no Chromium found (/usr/bin/chromium or chromium on PATH); install Debian's chromium package")
		}
		t.Skip("no Chromium (/usr/bin/chromium or chromium on PATH): browser tests skipped; `apt-get install chromium` runs them (CERTD_REQUIRE_BROWSER=1 makes this a failure)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("LANGUAGE=en_US", "LANG=en_US.UTF-8"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &Browser{Ctx: ctx, Base: base}
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// NoProblems fails the test when the page threw or broke its CSP.
func (b *Browser) NoProblems(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(b.problems, "\n"))
		b.problems = nil
	}
}

// ExpectProblem waits up to two seconds for a reported problem containing
// want and removes it, failing the test when none comes.
func (b *Browser) ExpectProblem(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b.mu.Lock()
		n := len(b.problems)
		b.problems = slices.DeleteFunc(b.problems, func(p string) bool { return strings.Contains(p, want) })
		found := len(b.problems) < n
		b.mu.Unlock()
		if found {
			return
		}
	}
	t.Errorf("no problem reported with %q", want)
}

// ScreenshotOnFailure saves a full-page PNG when t has failed by the end.
func (b *Browser) ScreenshotOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
		dir := os.Getenv("CERTD_SCREENSHOT_DIR")
		if dir == "" {
			b.mu.Lock()
			if b.shotDir == "" {
				b.shotDir, err = os.MkdirTemp("", "certd-browser-screenshots-")
			}
			dir = b.shotDir
			b.mu.Unlock()
			if err != nil {
				t.Logf("no screenshot directory: %v", err)
				return
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Logf("no screenshot directory: %v", err)
			return
		}
		name := filepath.Join(dir, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_")+".png")
		if err := os.WriteFile(name, png, 0o644); err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
		t.Logf("screenshot of the failure: %s", name)
	})
}

// Do runs steps with a time limit, failing the test with what was being done.
func (b *Browser) Do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression and decodes its value.
func Eval[T any](t *testing.T, b *Browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// JS quotes a Go string as a JavaScript string literal.
func JS(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Text is the text of the first element matching a CSS selector, "" when
// there is none.
func Text(t *testing.T, b *Browser, sel string) string {
	t.Helper()
	return Eval[string](t, b, fmt.Sprintf(`(document.querySelector(%s) || {textContent: ""}).textContent`, JS(sel)))
}

// WaitText waits until the element's text contains want.
func WaitText(sel, want string) chromedp.Action[chromedp.Void] {
	expr := fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !!el && el.textContent.includes(%s); })()`, JS(sel), JS(want))
	return WaitFor(expr, fmt.Sprintf("%s to show %q", sel, want))
}

// WaitFor polls a predicate; on timeout the error names what was awaited.
func WaitFor(expr, what string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, tg)
		if err != nil {
			return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", what, err)
		}
		return chromedp.Void{}, nil
	}
}

// SetText replaces a text control's value as typing would: with an input
// event, so the page sees the change.
func SetText(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) throw new Error("no element " + %s);
		el.value = %s;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, JS(sel), JS(sel), JS(value)))
}

// BlockOutside makes every request of the page to anywhere but the
// server (b.Base) fail, as on a machine without internet, and returns a
// function that lists the URLs that were blocked so far.
func (b *Browser) BlockOutside(t *testing.T) func() []string {
	t.Helper()
	var mu sync.Mutex
	var blocked []string
	paused := chromedp.Events(b.Ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.Ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		t.Fatalf("intercept requests: %v", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if ev.Request.URL == b.Base || strings.HasPrefix(ev.Request.URL, b.Base+"/") {
				_, _ = chromedp.Call(b.Ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			mu.Lock()
			blocked = append(blocked, ev.Request.URL)
			mu.Unlock()
			_, _ = chromedp.Call(b.Ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(blocked)
	}
}
