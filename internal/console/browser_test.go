package console_test

import (
	"context"
	"encoding/json"
	"errors"
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

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"certd/internal/authz"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// The browser tests drive the console in headless Chromium (Debian's
// chromium package) against a real certd on loopback. Without Chromium
// they skip, unless CERTD_REQUIRE_BROWSER=1 (CI), when they fail. On a
// failure they save a full-page screenshot to $CERTD_SCREENSHOT_DIR, or to
// a temporary directory named in the log.

// chromiumPath finds Debian's Chromium.
func chromiumPath() string {
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

// browser is one headless Chromium shared by the subtests of a test.
type browser struct {
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string // uncaught exceptions and CSP violations
	shotDir  string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath()
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
	b := &browser{ctx: ctx, base: base}
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

// noProblems fails the test when the page threw or broke its CSP.
func (b *browser) noProblems(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(b.problems, "\n"))
		b.problems = nil
	}
}

// expectProblem waits up to two seconds for a reported problem containing
// want and removes it, failing the test when none comes.
func (b *browser) expectProblem(t *testing.T, want string) {
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

// screenshotOnFailure saves a full-page PNG when t has failed by the end.
func (b *browser) screenshotOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
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
				b.shotDir, err = os.MkdirTemp("", "certd-console-screenshots-")
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

// do runs steps with a time limit, failing the test with what was being done.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// text is the text of the first element matching a CSS selector, "" when
// there is none.
func text(t *testing.T, b *browser, sel string) string {
	t.Helper()
	return eval[string](t, b, fmt.Sprintf(`(document.querySelector(%s) || {textContent: ""}).textContent`, js(sel)))
}

// waitText waits until the element's text contains want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	expr := fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !!el && el.textContent.includes(%s); })()`, js(sel), js(want))
	return waitFor(expr, fmt.Sprintf("%s to show %q", sel, want))
}

// waitFor polls a predicate; on timeout the error names what was awaited.
func waitFor(expr, what string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, tg)
		if err != nil {
			return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", what, err)
		}
		return chromedp.Void{}, nil
	}
}

// setText replaces a text control's value as typing would: with an input
// event, so the page sees the change.
func setText(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) throw new Error("no element " + %s);
		el.value = %s;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, js(sel), js(sel), js(value)))
}

// signIn opens the console with an empty session and signs in with tok.
func (b *browser) signIn(t *testing.T, tok string) {
	t.Helper()
	b.do(t, "open the sign-in page",
		chromedp.Navigate(b.base+"/console"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.clear()`),
		chromedp.Navigate(b.base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("token-input")),
		chromedp.SetValue(chromedp.ID("token-input"), tok),
		chromedp.Click(chromedp.ID("signin-button")),
		waitFor(`!document.getElementById("nav").hidden && !!document.getElementById("page-title") && document.getElementById("page-title").dataset.i18n !== "signin.title"`, "the signed-in console"),
	)
}

// server starts a demo certd and a browser for a test.
func server(t *testing.T) (*testkit.Server, *browser) {
	s := testkit.Start(t, testkit.WithDemo())
	return s, newBrowser(t, s.URL)
}

func activePolicy(t *testing.T, s *testkit.Server, tok string) (int, string) {
	t.Helper()
	var out struct{ ActivePolicy struct{ Version int } }
	s.Do(tok, `{ activePolicy { version } }`, nil).Decode(t, &out)
	var mods struct {
		ActivePolicy struct{ Modules []struct{ Path, Rego string } }
	}
	s.Do(tok, `{ activePolicy { modules { path rego } } }`, nil).Decode(t, &mods)
	for _, m := range mods.ActivePolicy.Modules {
		if m.Path == "cases.rego" {
			return out.ActivePolicy.Version, m.Rego
		}
	}
	return out.ActivePolicy.Version, ""
}

func TestConsoleInBrowser(t *testing.T) {
	start := time.Now()
	s, b := server(t)
	admin := s.Token("pa", demo.DigitalOffice, identity.RolePolicyAdmin)
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	defer func() { t.Logf("browser tests took %s", time.Since(start).Round(time.Millisecond)) }()

	editCases := func(t *testing.T, old, new string) {
		t.Helper()
		b.do(t, "edit cases.rego",
			chromedp.Click(chromedp.CSS(`[role=tab][data-path="cases.rego"]`)),
			waitFor(`!document.querySelector('.tabpanel[data-path="cases.rego"]').hidden`, "the cases.rego panel"),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
				const ta = document.querySelector('.tabpanel[data-path="cases.rego"] textarea');
				if (!ta.value.includes(%[1]s)) throw new Error("cases.rego lacks " + %[1]s);
				ta.focus();
				ta.value = ta.value.replace(%[1]s, %[2]s);
				ta.dispatchEvent(new Event("input", {bubbles: true}));
			})()`, js(old), js(new))),
			waitFor(`!document.querySelector('[role=tab][data-path="cases.rego"] .modified').hidden`, "the modified mark"),
		)
	}

	t.Run("a refused publish shows why and changes nothing", func(t *testing.T) {
		b.screenshotOnFailure(t)
		b.signIn(t, admin)
		b.do(t, "the policy page",
			waitText("#active-version", "1"),
			chromedp.WaitVisible(chromedp.CSS(`.tabpanel:not([hidden]) .editor-hl .tok-keyword`)),
		)
		if loc := eval[string](t, b, `location.hash`); loc != "#/policy" {
			t.Errorf("a policy admin lands on %q", loc)
		}
		embedded, err := authz.DefaultModules()
		if err != nil {
			t.Fatal(err)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#module-tabs [role=tab]').length`); n != len(embedded) {
			t.Errorf("%d module tabs, want the %d modules of the embedded policy", n, len(embedded))
		}
		// Highlighting: the keyword package, rule heads, comments and strings.
		kinds := eval[map[string]int](t, b, `(() => {
			const out = {};
			for (const c of ["keyword", "rulehead", "comment", "string"]) out[c] = document.querySelectorAll('.tabpanel:not([hidden]) .editor-hl .tok-' + c).length;
			out.package = [...document.querySelectorAll('.tabpanel:not([hidden]) .tok-keyword')].filter((e) => e.textContent === "package").length;
			return out;
		})()`)
		for k, n := range kinds {
			if n == 0 {
				t.Errorf("no %s highlighted in the first module: %v", k, kinds)
			}
		}
		// The overlay must use the textarea's font, or the caret drifts from
		// the text.
		fonts := eval[[]string](t, b, `(() => {
			const panel = document.querySelector('.tabpanel:not([hidden])');
			const f = (el) => { const c = getComputedStyle(el); return c.fontFamily + " " + c.fontSize + " " + c.lineHeight + " " + c.letterSpacing; };
			const want = f(panel.querySelector('textarea'));
			return [want, ...new Set([...panel.querySelectorAll('.editor-hl code, .editor-hl span')].map(f).filter((x) => x !== want))];
		})()`)
		if len(fonts) > 1 {
			t.Errorf("the highlighted text has another font than the textarea (%s): %v", fonts[0], fonts[1:])
		}
		// The highlighter renders markup as text, never as elements.
		safe := eval[bool](t, b, `import("./rego.js").then((m) => {
			const pre = document.createElement("pre");
			const src = '"<img src=x onerror=alert(1)>" # <b>bold</b>\nx := `+"`<i>`"+`';
			m.highlight(pre, src);
			return pre.querySelector("img, b, i") === null && pre.textContent.startsWith(src);
		})`)
		if !safe {
			t.Error("the highlighter turned text into markup")
		}
		// Trusted Types are enforced: an HTML sink takes no plain string.
		b.noProblems(t)
		if got := eval[string](t, b, `(() => { try { document.createElement("div").innerHTML = "<b>x</b>"; return "assigned"; } catch (e) { return e.name; } })()`); got != "TypeError" {
			t.Errorf("innerHTML with a string under require-trusted-types-for: %s, want a TypeError", got)
		}
		b.expectProblem(t, "TrustedHTML")
		// The new-module path's pattern compiles (browsers use the v flag,
		// where a bare / or - in a class is a syntax error and the pattern
		// is ignored) and holds the path to *.rego.
		mismatch := eval[map[string]bool](t, b, `(() => {
			const el = document.getElementById("new-module-path");
			const out = {};
			for (const v of ["foo", "has space.rego", "extra/new_test.rego", "a-b.c.rego"]) { el.value = v; out[v] = el.validity.patternMismatch; }
			el.value = "";
			return out;
		})()`)
		for v, want := range map[string]bool{"foo": true, "has space.rego": true, "extra/new_test.rego": false, "a-b.c.rego": false} {
			if mismatch[v] != want {
				t.Errorf("new module path %q: patternMismatch %v, want %v", v, mismatch[v], want)
			}
		}

		b.do(t, "arrow keys move between module tabs",
			chromedp.Focus(chromedp.CSS(`#module-tabs [aria-selected=true]`)),
			chromedp.KeyEvent(kb.ArrowRight),
			waitFor(`document.activeElement.dataset.path === "authz_test.rego" && document.activeElement.getAttribute("aria-selected") === "true"`, "the second tab"),
			waitFor(`!document.querySelector('.tabpanel[data-path="authz_test.rego"]').hidden`, "the second panel"),
			chromedp.KeyEvent(kb.End),
			waitFor(`document.activeElement.dataset.path === "objections_test.rego"`, "the last tab"),
		)

		editCases(t, "max_certificates := 100", "max_certificates := 0")
		b.do(t, "run the tests",
			chromedp.Click(chromedp.ID("run-tests")),
			waitText("#test-summary", "failed"),
			waitText("#test-report tr.row-fail", "test_a_cap_on_licences_per_request"),
		)
		if n := eval[int](t, b, `document.querySelectorAll('#test-report tr.row-pass').length`); n < 10 {
			t.Errorf("only %d passing tests listed", n)
		}
		// The button keeps focus while busy and after (a disabled button
		// would drop it to <body>).
		b.do(t, "focus stays on the run button",
			waitFor(`document.activeElement && document.activeElement.id === "run-tests" && !document.activeElement.hasAttribute("aria-busy")`, "focus on the idle run button"))
		if got := text(t, b, "#test-failures caption"); !strings.HasPrefix(got, "Failed tests (") {
			t.Errorf("the failures table's caption is %q", got)
		}
		// In forced colours the highlighted overlay goes and the textarea's
		// own text shows.
		forced := eval[bool](t, b, `[...document.styleSheets].flatMap((s) => [...s.cssRules]).some((r) => r instanceof CSSMediaRule && r.conditionText.includes("forced-colors: active") &&
			[...r.cssRules].some((x) => x.selectorText === ".editor-hl" && x.style.display === "none") &&
			[...r.cssRules].some((x) => x.selectorText === ".editor-src" && x.style.color.toLowerCase() === "canvastext"))`)
		if !forced {
			t.Error("no forced-colors rule hides the editor overlay and shows the textarea's text")
		}
		// An empty message is refused by the form itself.
		b.do(t, "publish without a message",
			chromedp.Click(chromedp.ID("publish-button")),
			waitFor(`document.activeElement === document.getElementById("publish-message")`, "focus on the message"),
		)
		if got := text(t, b, "#publish-result"); got != "" {
			t.Errorf("publishing without a message reached the server: %q", got)
		}
		b.do(t, "publish the failing policy",
			chromedp.SendKeys(chromedp.ID("publish-message"), "no licences at all\r"),
			waitText("#publish-result .error-code", "POLICY_REJECTED"),
			waitText("#publish-result .error-details", "test_a_cap_on_licences_per_request"),
		)
		if v := text(t, b, "#active-version"); v != "1" {
			t.Errorf("the page shows active version %q after a refusal", v)
		}
		if v, rego := activePolicy(t, s, admin); v != 1 || !strings.Contains(rego, "max_certificates := 100") {
			t.Errorf("a refused publish changed the active policy: version %d", v)
		}
		b.noProblems(t)
	})

	t.Run("a passing publish becomes active", func(t *testing.T) {
		b.screenshotOnFailure(t)
		editCases(t, "max_certificates := 0", "max_certificates := 50")
		b.do(t, "run the tests",
			chromedp.Click(chromedp.ID("run-tests")),
			waitText("#test-summary", "All tests passed"),
		)
		if n := eval[int](t, b, `document.querySelectorAll('#test-report tr.row-fail').length`); n != 0 {
			t.Errorf("%d failing tests after the fix", n)
		}
		b.do(t, "publish",
			setText("#publish-message", ""),
			chromedp.SendKeys(chromedp.ID("publish-message"), "一次最多五十份证照\r"),
			waitText("#publish-result", "Version 2 is published"),
			waitText("#active-version", "2"),
			waitText("#active-message", "一次最多五十份证照"),
			waitFor(`document.querySelectorAll('#versions-table tbody tr').length === 2`, "two versions listed"),
		)
		if v, rego := activePolicy(t, s, admin); v != 2 || !strings.Contains(rego, "max_certificates := 50") {
			t.Errorf("activePolicy is version %d after the publish", v)
		}
		b.noProblems(t)
	})

	t.Run("diff and roll back", func(t *testing.T) {
		b.screenshotOnFailure(t)
		b.do(t, "diff v1 and v2",
			chromedp.SetValue(chromedp.ID("diff-from"), "1"),
			chromedp.SetValue(chromedp.ID("diff-to"), "2"),
			chromedp.Click(chromedp.ID("diff-button")),
			waitText(`#diff-output .diff-module[data-path="cases.rego"] .diff-del`, "max_certificates := 100"),
			waitText(`#diff-output .diff-module[data-path="cases.rego"] .diff-add`, "max_certificates := 50"),
		)
		if n := eval[int](t, b, `document.querySelectorAll('#diff-output .diff-module').length`); n != 1 {
			t.Errorf("%d modules in the diff, want only cases.rego", n)
		}
		b.do(t, "roll back to v1",
			chromedp.Click(chromedp.CSS(`button.rollback[data-version="1"]`)),
			waitFor(`document.activeElement && document.activeElement.id === "rollback-confirm"`, "the confirmation to take focus"),
		)
		if got := eval[string](t, b, `(() => { const g = document.getElementById("rollback-confirm").closest("[role=group]"); const l = g && document.getElementById(g.getAttribute("aria-labelledby")); return l ? l.textContent : ""; })()`); !strings.Contains(got, "Make version 1 active again?") {
			t.Errorf("the confirmation group is labelled %q", got)
		}
		if v := text(t, b, "#active-version"); v != "2" {
			t.Errorf("asking to roll back already rolled back: %q", v)
		}
		b.do(t, "confirm",
			chromedp.Click(chromedp.ID("rollback-confirm")),
			waitText("#active-version", "1"),
			waitText("#rollback-result", "Version 1 is active again"),
			waitFor(`document.querySelector('.tabpanel[data-path="cases.rego"] textarea').value.includes("max_certificates := 100")`, "the editor to show v1"),
		)
		if v, rego := activePolicy(t, s, admin); v != 1 || !strings.Contains(rego, "max_certificates := 100") {
			t.Errorf("activePolicy is version %d after the roll-back", v)
		}

		// Another admin rolls forward meanwhile: coming back, the page
		// follows, since nothing was edited.
		s.Do(admin, `mutation { rollbackPolicy(version: 2) { version } }`, nil).Decode(t, &struct{}{})
		b.do(t, "back to the policy page",
			// Policy admins have no audit page: the route says so.
			chromedp.Evaluate[chromedp.Void](`location.hash = "#/audit"`),
			waitFor(`location.hash === "#/audit" && document.getElementById("page-title").dataset.i18n === "nav.not_allowed"`, "the refusal of the audit page"),
			chromedp.Click(chromedp.ID("nav-policy")),
			waitText("#active-version", "2"),
			waitFor(`document.querySelector('.tabpanel[data-path="cases.rego"] textarea').value.includes("max_certificates := 50")`, "the editor to show v2"),
		)
		b.noProblems(t)
	})

	t.Run("big modules: the line diff is capped", func(t *testing.T) {
		b.screenshotOnFailure(t)
		// The diff function itself: two different 5000-line texts would need
		// a 25-million-cell table, so they come back too large, at once; a
		// one-line change inside 20,000 lines is still diffed, since the
		// common head and tail are set aside first.
		type result struct {
			TooLarge           bool
			OldLines, NewLines int
			Lines, Added       int
			Removed            int
			At                 []int
			Ms                 float64
		}
		got := eval[map[string]result](t, b, `import("./diff.js").then((m) => {
			const lines = (n, f) => Array.from({length: n}, (_, i) => f(i)).join("\n") + "\n";
			const run = (a, b) => {
				const t0 = performance.now();
				const d = m.diffLines(a, b);
				const ms = performance.now() - t0;
				const ls = d.lines || [];
				const changed = ls.filter((l) => l.op !== " ");
				return { tooLarge: d.tooLarge, oldLines: d.oldLines, newLines: d.newLines, lines: ls.length,
					added: ls.filter((l) => l.op === "+").length, removed: ls.filter((l) => l.op === "-").length,
					at: changed.map((l) => l.a || l.b), ms };
			};
			const big = lines(20000, (i) => "line " + i);
			return {
				different: run(lines(5000, (i) => "a" + i), lines(5000, (i) => "b" + i)),
				oneLine: run(big, big.replace("line 12345\n", "line 12345 changed\n")),
			};
		})`)
		t.Logf("diff times: %.1f ms (5000 different lines), %.1f ms (one line in 20,000)", got["different"].Ms, got["oneLine"].Ms)
		if d := got["different"]; !d.TooLarge || d.OldLines != 5000 || d.NewLines != 5000 || d.Lines != 0 || d.Ms > 1000 {
			t.Errorf("two different 5000-line texts: %+v, want too large at once", d)
		}
		if d := got["oneLine"]; d.TooLarge || d.Lines != 20001 || d.Added != 1 || d.Removed != 1 || len(d.At) != 2 || d.At[0] != 12346 || d.At[1] != 12346 || d.Ms > 2000 {
			t.Errorf("a one-line change in 20,000 lines: %+v, want one line removed and one added at line 12346", d)
		}

		// On the page: the editor's cases.rego (about 100 lines) replaced by
		// 45,000 other lines shows the message with the line counts instead
		// of a diff.
		b.do(t, "replace cases.rego with 45,000 other lines",
			chromedp.Click(chromedp.CSS(`[role=tab][data-path="cases.rego"]`)),
			waitFor(`!document.querySelector('.tabpanel[data-path="cases.rego"]').hidden`, "the cases.rego panel"),
			chromedp.Evaluate[chromedp.Void](`(() => {
				const ta = document.querySelector('.tabpanel[data-path="cases.rego"] textarea');
				ta.value = Array.from({length: 45000}, (_, i) => "# other " + i).join("\n");
				ta.dispatchEvent(new Event("input", {bubbles: true}));
			})()`),
			waitFor(`!document.querySelector('[role=tab][data-path="cases.rego"] .modified').hidden`, "the modified mark"),
			chromedp.SetValue(chromedp.ID("diff-from"), "2"),
			chromedp.SetValue(chromedp.ID("diff-to"), "editor"),
			chromedp.Click(chromedp.ID("diff-button")),
			waitText(`#diff-output .diff-module[data-path="cases.rego"] .diff-too-large`, "Too large to compare line by line"),
		)
		msg := text(t, b, `#diff-output .diff-module[data-path="cases.rego"] .diff-too-large`)
		if !strings.Contains(msg, "45000 line(s) in editor") || !regexp.MustCompile(`\d+ line\(s\) in v2`).MatchString(msg) {
			t.Errorf("the too-large message lacks the line counts: %q", msg)
		}
		b.do(t, "undo the change",
			chromedp.Click(chromedp.ID("revert-module")),
			waitFor(`document.querySelector('[role=tab][data-path="cases.rego"] .modified').hidden`, "no modified mark"),
		)
		b.noProblems(t)
	})

	t.Run("dry run explains a decision", func(t *testing.T) {
		b.screenshotOnFailure(t)
		in := `{"action": "unit.register", "principal": {"sub": "x", "roles": ["issuer"]}}`
		b.do(t, "explain with Ctrl+Enter",
			setText("#dryrun-query", "data.certd.authz.allow"),
			setText("#dryrun-input", in),
			chromedp.Focus(chromedp.ID("dryrun-input")),
			chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
			waitText("#dryrun-allowed", "no"),
			waitText("#dryrun-explanation", "role digital_office required"),
		)
		if v := text(t, b, "#dryrun-value"); v != "false" {
			t.Errorf("result %q", v)
		}
		b.do(t, "explain an allowed input",
			setText("#dryrun-input", strings.Replace(in, "issuer", "digital_office", 1)),
			chromedp.Click(chromedp.ID("dryrun-button")),
			waitText("#dryrun-allowed", "yes"),
			waitText("#dryrun-explanation", "applied"),
		)
		b.do(t, "invalid JSON",
			setText("#dryrun-input", "{not json"),
			chromedp.Click(chromedp.ID("dryrun-button")),
			waitText("#dryrun-result .error-code", "INVALID_JSON"),
		)
		b.noProblems(t)
	})

	t.Run("the digital office approves a bulk analysis", func(t *testing.T) {
		b.screenshotOnFailure(t)
		analyst := s.Token("a1", demo.ServiceCentre, identity.RoleAnalyst)
		// The office user is an analyst too, with a request of their own.
		office := s.Token("o1", demo.DigitalOffice, identity.RoleDigitalOffice, identity.RoleAnalyst)
		submit := func(tok, purpose string) string {
			var out struct{ SubmitBulkAnalysis struct{ ID, State string } }
			s.Do(tok, `mutation($in: BulkAnalysisInput!) { submitBulkAnalysis(input: $in) { id state } }`,
				map[string]any{"in": map[string]any{"purpose": purpose, "groupBy": []string{"TYPE", "ISSUER"}, "validDays": 7, "maxRuns": 2}}).Decode(t, &out)
			if out.SubmitBulkAnalysis.State != "PENDING" {
				t.Fatalf("submitted %+v", out.SubmitBulkAnalysis)
			}
			return out.SubmitBulkAnalysis.ID
		}
		approve := submit(analyst, "统计各类证照的发放数量，用于年度评估")
		reject := submit(analyst, "逐户导出全部持证人信息")
		own := submit(office, "本办自用的证照发放数量统计分析")

		b.do(t, "sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("token-input")))
		b.signIn(t, office)
		b.do(t, "the approvals page",
			waitFor(`location.hash === "#/approvals"`, "the approvals page"),
			waitText(fmt.Sprintf(`#approvals-list tr[data-id=%s]`, js(approve)), "统计各类证照"),
			waitText(fmt.Sprintf(`#approvals-list tr[data-id=%s]`, js(reject)), "逐户导出"),
		)
		if eval[bool](t, b, `!!document.getElementById("nav-policy")`) {
			t.Error("the digital office sees the policy page")
		}
		// The comment and reason fields have visible labels and are described
		// by their request's purpose.
		labels := eval[[]string](t, b, fmt.Sprintf(`[...document.querySelectorAll(%s)].map((el) => {
			const l = el.labels[0];
			const visible = !!l && l.getBoundingClientRect().width > 0;
			return (visible ? l.textContent : "(no visible label)") + " / " + document.getElementById(el.getAttribute("aria-describedby")).textContent;
		})`, js(fmt.Sprintf(`#approvals-list tr[data-id=%s] input`, js(approve)))))
		if want := []string{"Comment (optional) / 统计各类证照的发放数量，用于年度评估", "Reason (required) / 统计各类证照的发放数量，用于年度评估"}; !slices.Equal(labels, want) {
			t.Errorf("approve/reject fields: %q, want %q", labels, want)
		}
		row := fmt.Sprintf(`#approvals-list tr[data-id=%s]`, js(own))
		b.do(t, "approving one's own request is refused",
			chromedp.Click(chromedp.CSS(row+" button.approve")),
			waitText("#approvals-result .error-code", "FORBIDDEN"),
			waitText(row, "本办自用的证照发放数量统计分析"),
		)
		row = fmt.Sprintf(`#approvals-list tr[data-id=%s]`, js(approve))
		b.do(t, "approve with a comment, by keyboard",
			chromedp.SendKeys(chromedp.CSS(row+" .approve-comment"), "同意，仅限统计\r"),
			waitText("#approvals-result", "is now Approved"),
			waitFor(fmt.Sprintf(`!document.querySelector(%s)`, js(row)), "the approved request to leave the pending list"),
			waitFor(`document.activeElement === document.getElementById("approvals-result")`, "focus on the result"),
		)
		row = fmt.Sprintf(`#approvals-list tr[data-id=%s]`, js(reject))
		b.do(t, "reject without a reason is held by the form",
			chromedp.Click(chromedp.CSS(row+" button.reject")),
			waitFor(fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, js(row+" .reject-reason")), "focus on the reason"),
		)
		b.do(t, "reject with a reason",
			chromedp.SendKeys(chromedp.CSS(row+" .reject-reason"), "涉及个人信息，不予批准\r"),
			waitText("#approvals-result", "is now Rejected"),
			waitFor(fmt.Sprintf(`!document.querySelector(%s)`, js(row)), "the rejected request to leave the pending list"),
		)
		if n := eval[int](t, b, `document.querySelectorAll('#approvals-list tbody tr').length`); n != 1 {
			t.Errorf("%d pending requests left, want only the office's own", n)
		}
		var out struct {
			BulkAnalysisRequests []struct{ ID, State, DecidedBy, Comment string }
		}
		s.Do(office, `{ bulkAnalysisRequests { id state decidedBy comment } }`, nil).Decode(t, &out)
		states := map[string]string{}
		for _, r := range out.BulkAnalysisRequests {
			states[r.ID] = r.State
			if r.ID == approve && (r.DecidedBy != "o1" || r.Comment != "同意，仅限统计") {
				t.Errorf("approved %+v", r)
			}
		}
		if states[approve] != "APPROVED" || states[reject] != "REJECTED" || states[own] != "PENDING" {
			t.Errorf("states after the console: %v", states)
		}
		b.noProblems(t)
	})

	t.Run("an issuer reads the audit log and resolves an objection", func(t *testing.T) {
		b.screenshotOnFailure(t)
		owner := s.TokenFor(identity.TokenRequest{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})
		var mine struct {
			Me struct {
				Certificates []struct {
					ID   string
					Type struct{ Code string }
				}
			}
		}
		s.Do(owner, `{ me { certificates { id type { code } } } }`, nil).Decode(t, &mine)
		var food string
		for _, c := range mine.Me.Certificates {
			if c.Type.Code == demo.FoodLicence {
				food = c.ID
			}
		}
		if food == "" {
			t.Fatal("the demo holder has no food licence")
		}
		var filed struct{ FileObjection struct{ ID string } }
		s.Do(owner, `mutation($c: ID!) { fileObjection(certificateId: $c, fields: ["premises"], description: "经营场所地址有误") { id } }`,
			map[string]any{"c": food}).Decode(t, &filed)
		// The issuer reads its licences, so its access log has records: more
		// than one page of them.
		for range 20 {
			s.Do(clerk, `{ certificates(first: 5) { edges { node { id data } } } }`, nil).Decode(t, &struct{}{})
		}

		b.signIn(t, clerk)
		if eval[bool](t, b, `!!document.getElementById("nav-policy") || !!document.getElementById("nav-approvals")`) {
			t.Error("an issuer sees the policy or approvals page")
		}
		b.do(t, "the audit page",
			chromedp.Click(chromedp.ID("nav-audit")),
			waitFor(`document.querySelector('#audit-intact') && document.querySelector('#audit-intact').dataset.intact === "true"`, "an intact audit chain"),
			waitText("#audit-table", "certificate.read"),
			waitText("#audit-table caption", "Page 1: 50 record(s)"),
			// Kinds, operation types and decisions are labels.
			waitText("#audit-table", "access · query certificates"),
			waitText("#audit-table .decision", "allowed"),
		)
		first := eval[string](t, b, `document.querySelector("#audit-table tbody tr").dataset.id`)
		b.do(t, "the next page and back",
			chromedp.Click(chromedp.ID("audit-next")),
			waitText("#audit-table caption", "Page 2"),
			waitFor(fmt.Sprintf(`document.querySelector("#audit-table tbody tr").dataset.id !== %s`, js(first)), "other records"),
			chromedp.Click(chromedp.ID("audit-prev")),
			waitText("#audit-table caption", "Page 1"),
			waitFor(fmt.Sprintf(`document.querySelector("#audit-table tbody tr").dataset.id === %s`, js(first)), "the first page again"),
		)
		b.do(t, "filter by licence",
			setText("#filter-certificate", food),
			chromedp.Click(chromedp.ID("audit-search")),
			waitText("#audit-table caption", "Page 1"),
			waitText("#audit-table", food),
		)
		ids := eval[[]string](t, b, `[...document.querySelectorAll('#audit-table tbody tr')].map((tr) => tr.textContent)`)
		for _, row := range ids {
			if !strings.Contains(row, food) {
				t.Errorf("a record of another licence under the filter: %s", row)
			}
		}

		row := fmt.Sprintf(`#objections-list tr[data-id=%s]`, js(filed.FileObjection.ID))
		b.do(t, "the objections page",
			chromedp.Click(chromedp.ID("nav-objections")),
			waitText(row, "经营场所地址有误"),
			chromedp.Click(chromedp.CSS(row+" button.resolve")),
			chromedp.WaitVisible(chromedp.ID("resolve-form")),
			waitFor(`document.activeElement && document.activeElement.id === "outcome-rejected"`, "focus on the outcome"),
		)
		// The corrected data shows for CORRECTED only: [hidden] must win over
		// .field's display: flex.
		dataDisplay := `getComputedStyle(document.getElementById("resolve-data").closest(".field")).display`
		if d := eval[string](t, b, dataDisplay); d != "none" {
			t.Errorf("the corrected-data field shows (display %q) for REJECTED", d)
		}
		b.do(t, "choose CORRECTED",
			chromedp.Click(chromedp.ID("outcome-corrected")),
			waitFor(`document.getElementById("resolve-data").value.includes("{")`, "the licence's data to edit"),
		)
		if d := eval[string](t, b, dataDisplay); d != "flex" {
			t.Errorf("the corrected-data field has display %q for CORRECTED, want flex", d)
		}
		b.do(t, "choose REJECTED again", chromedp.Click(chromedp.ID("outcome-rejected")))
		if d := eval[string](t, b, dataDisplay); d != "none" {
			t.Errorf("the corrected-data field shows (display %q) after going back to REJECTED", d)
		}
		b.do(t, "reject the objection",
			chromedp.SendKeys(chromedp.ID("resolve-note"), "经核实，登记地址无误"),
			chromedp.Click(chromedp.ID("resolve-submit")),
			waitText("#objections-result", "is now Rejected"),
			chromedp.WaitVisible(chromedp.ID("objections-empty")),
		)
		var out struct {
			Objections []struct {
				ID         string
				Resolution *string
			}
		}
		s.Do(clerk, `{ objections(state: REJECTED) { id resolution } }`, nil).Decode(t, &out)
		if len(out.Objections) != 1 || out.Objections[0].ID != filed.FileObjection.ID || out.Objections[0].Resolution == nil || *out.Objections[0].Resolution != "经核实，登记地址无误" {
			t.Errorf("rejected objections %+v", out.Objections)
		}
		b.noProblems(t)
	})

	t.Run("Chinese labels, role-dependent navigation and sign-out", func(t *testing.T) {
		b.screenshotOnFailure(t)
		b.signIn(t, clerk)
		b.do(t, "the objections page", chromedp.Click(chromedp.ID("nav-objections")), waitText("#page-title", "Objections"))
		if lang := eval[string](t, b, `document.documentElement.lang`); lang != "en" {
			t.Errorf("html lang %q for an English browser", lang)
		}
		// Role names, the token's expiry (date and time, in the console's
		// language) and the tab's title are labels too.
		if got := text(t, b, "#whoami .role"); got != "issuer" {
			t.Errorf("role chip %q", got)
		}
		if got := text(t, b, "#whoami .who-exp time"); !regexp.MustCompile(`\b20\d\d\b.*\d\d:\d\d:\d\d`).MatchString(got) {
			t.Errorf("the token's expiry %q is not a date and time", got)
		}
		if got := eval[string](t, b, `document.title`); got != "Objections · certd" {
			t.Errorf("document title %q", got)
		}
		// An answer that is not GraphQL (e.g. a proxy's 502 page) is explained.
		if got := eval[string](t, b, `import("./ui.js").then((m) => m.errorBox({code: "HTTP_502", message: "Bad Gateway"}).textContent)`); !strings.Contains(got, "not a GraphQL response") {
			t.Errorf("the error box of a non-GraphQL answer: %q", got)
		}
		b.do(t, "switch to Chinese",
			setText("#lang-select", "zh"),
			waitText("#nav-audit", "审计"),
			waitText("#nav-objections", "异议"),
			waitText("#sign-out", "退出"),
		)
		if lang := eval[string](t, b, `document.documentElement.lang`); lang != "zh-CN" {
			t.Errorf("html lang %q after switching", lang)
		}
		if got := text(t, b, "#page-title"); got != "异议处理" {
			t.Errorf("page title %q in Chinese", got)
		}
		if got := text(t, b, "#whoami .role"); got != "发证单位" {
			t.Errorf("role chip %q in Chinese", got)
		}
		if got := text(t, b, "#whoami .who-exp time"); !strings.Contains(got, "年") {
			t.Errorf("the token's expiry %q in Chinese", got)
		}
		if got := eval[string](t, b, `document.title`); got != "异议 · certd" {
			t.Errorf("document title %q in Chinese", got)
		}
		// The choice is remembered; the pages an issuer lacks stay hidden.
		b.do(t, "reload", chromedp.Reload(), waitText("#nav-audit", "审计"))
		if eval[bool](t, b, `!!document.getElementById("nav-policy")`) {
			t.Error("an issuer sees the policy page")
		}
		b.do(t, "an issuer asking for the policy page",
			chromedp.Navigate(b.base+"/console/#/policy"),
			waitText("#page-title", "您的角色无权使用此页面"),
			waitText("#page-title + p", "您的角色：发证单位。"),
		)
		tok := eval[string](t, b, `sessionStorage.getItem("certd.console.token") || ""`)
		if tok == "" {
			t.Error("the token is not in sessionStorage")
		}
		if leaked := eval[bool](t, b, fmt.Sprintf(`Object.keys(localStorage).some((k) => localStorage.getItem(k).includes(%s))`, js(tok[:min(len(tok), 40)]))); leaked {
			t.Error("the token is in localStorage")
		}
		b.do(t, "sign out",
			chromedp.Click(chromedp.ID("sign-out")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			waitText("#page-title", "登录"),
			waitText("#signin-result", "令牌已从本标签页清除"),
		)
		if got := eval[string](t, b, `document.title`); got != "登录 · certd" {
			t.Errorf("document title %q on the sign-in page in Chinese", got)
		}
		if tok := eval[*string](t, b, `sessionStorage.getItem("certd.console.token")`); tok != nil {
			t.Error("sign-out left the token in sessionStorage")
		}
		if eval[bool](t, b, `!document.getElementById("nav").hidden`) {
			t.Error("the navigation shows after sign-out")
		}
		b.do(t, "back to English", setText("#lang-select", "en"), waitText("#page-title", "Sign in"))
		b.do(t, "the skip link comes first and shows when focused",
			chromedp.Navigate(b.base+"/console/"),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			waitFor(`document.querySelector("a[href], button, input, select, textarea").id === "skip-link"`, "the skip link first"),
			chromedp.Focus(chromedp.ID("skip-link")),
			waitFor(`document.getElementById("skip-link").getBoundingClientRect().left >= 0`, "the visible skip link"),
			chromedp.KeyEvent(kb.Enter),
			waitFor(`document.activeElement.id === "main"`, "focus on the main content"),
		)
		b.do(t, "a bad token, signed in by keyboard",
			chromedp.SetValue(chromedp.ID("token-input"), "not.a.token"),
			chromedp.Focus(chromedp.ID("token-input")),
			chromedp.KeyEvent(kb.Enter),
			waitText("#signin-result .error-code", "UNAUTHENTICATED"),
		)
		if got := text(t, b, "#signin-result"); strings.Contains(got, "session has ended") {
			t.Errorf("a bad token typed in is reported as an ended session: %q", got)
		}
		b.noProblems(t)
	})

	t.Run("a token refused mid-session leads back to sign-in", func(t *testing.T) {
		b.screenshotOnFailure(t)
		b.signIn(t, clerk)
		b.do(t, "the audit page",
			chromedp.Click(chromedp.ID("nav-audit")),
			waitFor(`!!document.querySelector('#audit-intact')`, "the audit status"),
		)
		// The token stops being accepted (as when it expires): the next
		// request is refused.
		b.do(t, "a refused request",
			chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("certd.console.token", sessionStorage.getItem("certd.console.token").slice(0, -4) + "AAAA")`),
			chromedp.Click(chromedp.ID("audit-status-refresh")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			waitText("#signin-result .error-lead", "the server refused your token (it has probably expired)"),
			waitText("#signin-result .error-code", "UNAUTHENTICATED"),
		)
		if tok := eval[*string](t, b, `sessionStorage.getItem("certd.console.token")`); tok != nil {
			t.Error("the refused token is still in sessionStorage")
		}
		if eval[bool](t, b, `!document.getElementById("nav").hidden || !document.getElementById("whoami").hidden`) {
			t.Error("the navigation or the signed-in user still shows")
		}
		if got := eval[string](t, b, `document.activeElement.id`); got != "token-input" {
			t.Errorf("focus on %q, want the token box", got)
		}
		// Signing in again goes back to the same page.
		b.do(t, "sign in again",
			chromedp.SetValue(chromedp.ID("token-input"), clerk),
			chromedp.Click(chromedp.ID("signin-button")),
			waitFor(`location.hash === "#/audit" && document.getElementById("page-title").dataset.i18n === "audit.title"`, "the audit page again"),
			waitFor(`!!document.querySelector('#audit-intact')`, "the audit status"),
		)
		// A reload with a token that is no longer accepted says so too.
		b.do(t, "reload with a refused token",
			chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("certd.console.token", "not.a.token")`),
			chromedp.Reload(),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			waitText("#signin-result .error-lead", "Your session has ended"),
		)
		b.noProblems(t)
	})
}

// TestScreenshotPolicyPage writes the README's picture of the policy page
// when CERTD_SCREENSHOT_README names a file (relative to the module root),
// e.g. CERTD_SCREENSHOT_README=docs/console-policy.png.
func TestScreenshotPolicyPage(t *testing.T) {
	out := os.Getenv("CERTD_SCREENSHOT_README")
	if out == "" {
		t.Skip("set CERTD_SCREENSHOT_README=docs/console-policy.png to write the README's screenshot")
	}
	if !filepath.IsAbs(out) {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		out = filepath.Join(root, out)
	}
	s, b := server(t)
	b.screenshotOnFailure(t)
	admin := s.TokenFor(identity.TokenRequest{Subject: "policy-admin", Name: "策略管理员", Org: demo.DigitalOffice, Roles: []string{identity.RolePolicyAdmin}, AMR: []string{"pwd"}, TTL: time.Hour})
	b.signIn(t, admin)
	b.do(t, "the policy page",
		chromedp.EmulateViewport(1280, 800),
		waitText("#active-version", "1"),
		chromedp.Click(chromedp.CSS(`[role=tab][data-path="cases.rego"]`)),
		chromedp.Evaluate[chromedp.Void](`(() => {
			const ta = document.querySelector('.tabpanel[data-path="cases.rego"] textarea');
			ta.value = ta.value.replace("max_certificates := 100", "max_certificates := 0");
			ta.dispatchEvent(new Event("input", {bubbles: true}));
			const i = ta.value.indexOf("max_certificates := 0");
			ta.focus();
			ta.setSelectionRange(i + 20, i + 21);
			const line = ta.value.slice(0, i).split("\n").length;
			ta.scrollTop = Math.max(0, (line - 6) * 20);
			ta.dispatchEvent(new Event("scroll"));
		})()`),
		chromedp.Click(chromedp.ID("run-tests")),
		waitText("#test-summary", "failed"),
		// A shorter editor (it is resizable) leaves room for the test results.
		chromedp.Evaluate[chromedp.Void](`(() => {
			document.querySelector('.tabpanel[data-path="cases.rego"] .editor').style.height = "200px";
			document.getElementById("status").replaceChildren();
			window.scrollTo(0, 0);
		})()`),
	)
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
