package console_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"certd/internal/authz"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
	"certd/internal/testkit/browsertest"
)

// The browser tests drive the console in headless Chromium against a real
// certd on loopback (see internal/testkit/browsertest).
type browser = browsertest.Browser

// signIn opens the console with an empty session and signs in with tok.
func signIn(t *testing.T, b *browser, tok string) {
	t.Helper()
	b.Do(t, "open the sign-in page",
		chromedp.Navigate(b.Base+"/console"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.clear()`),
		chromedp.Navigate(b.Base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("token-input")),
		chromedp.SetValue(chromedp.ID("token-input"), tok),
		chromedp.Click(chromedp.ID("signin-button")),
		browsertest.WaitFor(`!document.getElementById("nav").hidden && !!document.getElementById("page-title") && document.getElementById("page-title").dataset.i18n !== "signin.title"`, "the signed-in console"),
	)
}

// server starts a demo certd and a browser for a test.
func server(t *testing.T) (*testkit.Server, *browser) {
	s := testkit.Start(t, testkit.WithDemo())
	return s, browsertest.New(t, s.URL)
}

// casesEdited is the embedded policy with old replaced by new in
// cases.rego, as publishPolicy's modules.
func casesEdited(t *testing.T, old, new string) []map[string]any {
	t.Helper()
	mods, err := authz.DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(mods))
	for i, m := range mods {
		if m.Path == "cases.rego" {
			m.Rego = strings.Replace(m.Rego, old, new, 1)
		}
		out[i] = map[string]any{"path": m.Path, "rego": m.Rego}
	}
	return out
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
		b.Do(t, "edit cases.rego",
			chromedp.Click(chromedp.CSS(`[role=tab][data-path="cases.rego"]`)),
			browsertest.WaitFor(`!document.querySelector('.tabpanel[data-path="cases.rego"]').hidden`, "the cases.rego panel"),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
				const ta = document.querySelector('.tabpanel[data-path="cases.rego"] textarea');
				if (!ta.value.includes(%[1]s)) throw new Error("cases.rego lacks " + %[1]s);
				ta.focus();
				ta.value = ta.value.replace(%[1]s, %[2]s);
				ta.dispatchEvent(new Event("input", {bubbles: true}));
			})()`, browsertest.JS(old), browsertest.JS(new))),
			browsertest.WaitFor(`!document.querySelector('[role=tab][data-path="cases.rego"] .modified').hidden`, "the modified mark"),
		)
	}

	t.Run("a refused proposal shows why and changes nothing", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
		signIn(t, b, admin)
		b.Do(t, "the policy page",
			browsertest.WaitText("#active-version", "1"),
			chromedp.WaitVisible(chromedp.CSS(`.tabpanel:not([hidden]) .editor-hl .tok-keyword`)),
		)
		if loc := browsertest.Eval[string](t, b, `location.hash`); loc != "#/policy" {
			t.Errorf("a policy admin lands on %q", loc)
		}
		embedded, err := authz.DefaultModules()
		if err != nil {
			t.Fatal(err)
		}
		if n := browsertest.Eval[int](t, b, `document.querySelectorAll('#module-tabs [role=tab]').length`); n != len(embedded) {
			t.Errorf("%d module tabs, want the %d modules of the embedded policy", n, len(embedded))
		}
		// Highlighting: the keyword package, rule heads, comments and strings.
		kinds := browsertest.Eval[map[string]int](t, b, `(() => {
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
		fonts := browsertest.Eval[[]string](t, b, `(() => {
			const panel = document.querySelector('.tabpanel:not([hidden])');
			const f = (el) => { const c = getComputedStyle(el); return c.fontFamily + " " + c.fontSize + " " + c.lineHeight + " " + c.letterSpacing; };
			const want = f(panel.querySelector('textarea'));
			return [want, ...new Set([...panel.querySelectorAll('.editor-hl code, .editor-hl span')].map(f).filter((x) => x !== want))];
		})()`)
		if len(fonts) > 1 {
			t.Errorf("the highlighted text has another font than the textarea (%s): %v", fonts[0], fonts[1:])
		}
		// The highlighter renders markup as text, never as elements.
		safe := browsertest.Eval[bool](t, b, `import("./rego.js").then((m) => {
			const pre = document.createElement("pre");
			const src = '"<img src=x onerror=alert(1)>" # <b>bold</b>\nx := `+"`<i>`"+`';
			m.highlight(pre, src);
			return pre.querySelector("img, b, i") === null && pre.textContent.startsWith(src);
		})`)
		if !safe {
			t.Error("the highlighter turned text into markup")
		}
		// Trusted Types are enforced: an HTML sink takes no plain string.
		b.NoProblems(t)
		if got := browsertest.Eval[string](t, b, `(() => { try { document.createElement("div").innerHTML = "<b>x</b>"; return "assigned"; } catch (e) { return e.name; } })()`); got != "TypeError" {
			t.Errorf("innerHTML with a string under require-trusted-types-for: %s, want a TypeError", got)
		}
		b.ExpectProblem(t, "TrustedHTML")
		// The new-module path's pattern compiles (browsers use the v flag,
		// where a bare / or - in a class is a syntax error and the pattern
		// is ignored) and holds the path to *.rego.
		mismatch := browsertest.Eval[map[string]bool](t, b, `(() => {
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

		b.Do(t, "arrow keys move between module tabs",
			chromedp.Focus(chromedp.CSS(`#module-tabs [aria-selected=true]`)),
			chromedp.KeyEvent(kb.ArrowRight),
			browsertest.WaitFor(`document.activeElement.dataset.path === "authz_test.rego" && document.activeElement.getAttribute("aria-selected") === "true"`, "the second tab"),
			browsertest.WaitFor(`!document.querySelector('.tabpanel[data-path="authz_test.rego"]').hidden`, "the second panel"),
			chromedp.KeyEvent(kb.End),
			browsertest.WaitFor(`document.activeElement.dataset.path === "objections_test.rego"`, "the last tab"),
		)

		editCases(t, "max_certificates := 100", "max_certificates := 0")
		b.Do(t, "run the tests",
			chromedp.Click(chromedp.ID("run-tests")),
			browsertest.WaitText("#test-summary", "failed"),
			browsertest.WaitText("#test-report tr.row-fail", "test_a_cap_on_licences_per_request"),
		)
		if n := browsertest.Eval[int](t, b, `document.querySelectorAll('#test-report tr.row-pass').length`); n < 10 {
			t.Errorf("only %d passing tests listed", n)
		}
		// The button keeps focus while busy and after (a disabled button
		// would drop it to <body>).
		b.Do(t, "focus stays on the run button",
			browsertest.WaitFor(`document.activeElement && document.activeElement.id === "run-tests" && !document.activeElement.hasAttribute("aria-busy")`, "focus on the idle run button"))
		if got := browsertest.Text(t, b, "#test-failures caption"); !strings.HasPrefix(got, "Failed tests (") {
			t.Errorf("the failures table's caption is %q", got)
		}
		// In forced colours the highlighted overlay goes and the textarea's
		// own text shows.
		forced := browsertest.Eval[bool](t, b, `[...document.styleSheets].flatMap((s) => [...s.cssRules]).some((r) => r instanceof CSSMediaRule && r.conditionText.includes("forced-colors: active") &&
			[...r.cssRules].some((x) => x.selectorText === ".editor-hl" && x.style.display === "none") &&
			[...r.cssRules].some((x) => x.selectorText === ".editor-src" && x.style.color.toLowerCase() === "canvastext"))`)
		if !forced {
			t.Error("no forced-colors rule hides the editor overlay and shows the textarea's text")
		}
		// An empty message is refused by the form itself.
		b.Do(t, "publish without a message",
			chromedp.Click(chromedp.ID("publish-button")),
			browsertest.WaitFor(`document.activeElement === document.getElementById("publish-message")`, "focus on the message"),
		)
		if got := browsertest.Text(t, b, "#publish-result"); got != "" {
			t.Errorf("publishing without a message reached the server: %q", got)
		}
		b.Do(t, "publish the failing policy",
			chromedp.SendKeys(chromedp.ID("publish-message"), "no licences at all\r"),
			browsertest.WaitText("#publish-result .error-code", "POLICY_REJECTED"),
			browsertest.WaitText("#publish-result .error-details", "test_a_cap_on_licences_per_request"),
		)
		if v := browsertest.Text(t, b, "#active-version"); v != "1" {
			t.Errorf("the page shows active version %q after a refusal", v)
		}
		if v, rego := activePolicy(t, s, admin); v != 1 || !strings.Contains(rego, "max_certificates := 100") {
			t.Errorf("a refused publish changed the active policy: version %d", v)
		}
		b.NoProblems(t)
	})

	t.Run("a passing proposal waits for another admin", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
		editCases(t, "max_certificates := 0", "max_certificates := 50")
		b.Do(t, "run the tests",
			chromedp.Click(chromedp.ID("run-tests")),
			browsertest.WaitText("#test-summary", "All tests passed"),
		)
		if n := browsertest.Eval[int](t, b, `document.querySelectorAll('#test-report tr.row-fail').length`); n != 0 {
			t.Errorf("%d failing tests after the fix", n)
		}
		if got := browsertest.Text(t, b, "#publish-button"); got != "Propose" {
			t.Errorf("the publish button reads %q, want Propose", got)
		}
		b.Do(t, "propose",
			browsertest.SetText("#publish-message", ""),
			chromedp.SendKeys(chromedp.ID("publish-message"), "一次最多五十份证照\r"),
			browsertest.WaitText("#publish-result", "Version 2 is proposed"),
			browsertest.WaitFor(`document.querySelectorAll('#versions-table tbody tr').length === 2`, "two versions listed"),
			browsertest.WaitText(`#versions-table tr[data-version="2"]`, "Proposed"),
		)
		// Nothing is active yet; the editor shows the active version again.
		if v := browsertest.Text(t, b, "#active-version"); v != "1" {
			t.Errorf("the page shows active version %q after a proposal", v)
		}
		if v, rego := activePolicy(t, s, admin); v != 1 || !strings.Contains(rego, "max_certificates := 100") {
			t.Errorf("activePolicy is version %d after a proposal", v)
		}
		if !browsertest.Eval[bool](t, b, `document.querySelector('.tabpanel[data-path="cases.rego"] textarea').value.includes("max_certificates := 100")`) {
			t.Error("the editor does not show the active version after proposing")
		}
		// Its author gets no Approve button, only Withdraw, and is told why.
		row := `#versions-table tr[data-version="2"]`
		if n := browsertest.Eval[int](t, b, `document.querySelectorAll('`+row+` button.approve').length`); n != 0 {
			t.Error("the author is offered to approve their own proposal")
		}
		if got := browsertest.Text(t, b, row+" .own-proposal"); !strings.Contains(got, "another policy admin must approve it") {
			t.Errorf("the author's note: %q", got)
		}
		if got := browsertest.Text(t, b, row+" button.reject"); got != "Withdraw" {
			t.Errorf("the author's reject button reads %q", got)
		}
		b.NoProblems(t)
	})

	adminB := s.Token("pb", demo.DigitalOffice, identity.RolePolicyAdmin)

	t.Run("another admin rejects one proposal and approves the other", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
		// pa proposes a second change through the API.
		var p3 struct{ PublishPolicy struct{ Version int } }
		s.Do(admin, `mutation($m: [PolicyModuleInput!]!) { publishPolicy(modules: $m, message: "一次最多六十份") { version } }`,
			map[string]any{"m": casesEdited(t, "max_certificates := 100", "max_certificates := 60")}).Decode(t, &p3)
		if p3.PublishPolicy.Version != 3 {
			t.Fatalf("the second proposal is version %d", p3.PublishPolicy.Version)
		}
		signIn(t, b, adminB)
		b.Do(t, "the proposals waiting",
			browsertest.WaitText("#proposals-waiting", "2 proposal(s) waiting for your approval"),
			chromedp.WaitVisible(chromedp.CSS(`#versions-table tr[data-version="2"] button.approve`)),
			chromedp.WaitVisible(chromedp.CSS(`#versions-table tr[data-version="3"] button.approve`)),
		)
		// The reviewer compares the proposal with the version it is based on.
		b.Do(t, "compare v2 with v1",
			chromedp.Click(chromedp.CSS(`#versions-table tr[data-version="2"] button.compare`)),
			browsertest.WaitText(`#diff-output .diff-module[data-path="cases.rego"] .diff-add`, "max_certificates := 50"),
			browsertest.WaitFor(`document.activeElement && document.activeElement.id === "diff-result"`, "focus on the diff"),
		)
		// Reject v3: the reason is required and labelled.
		row3 := `#versions-table tr[data-version="3"]`
		b.Do(t, "reject without a reason",
			chromedp.Click(chromedp.CSS(row3+" button.reject")),
			browsertest.WaitFor(`document.activeElement && document.activeElement.classList.contains("reject-reason")`, "focus on the reason"),
		)
		if got := browsertest.Eval[string](t, b, `(() => { const i = document.querySelector('`+row3+` input.reject-reason'); return document.querySelector('label[for="' + i.id + '"]').textContent; })()`); got != "Reason (required)" {
			t.Errorf("the reason field is labelled %q", got)
		}
		b.Do(t, "reject v3",
			chromedp.SendKeys(chromedp.CSS(row3+" input.reject-reason"), "放宽过多\r"),
			browsertest.WaitText("#rollback-result", "Version 3 is rejected"),
			browsertest.WaitText(row3, "Rejected"),
			browsertest.WaitText(row3+" .rejecter", "rejected by pb"),
			browsertest.WaitText(row3+" .reject-reason-text", "放宽过多"),
		)
		// Approve v2, after a confirmation naming what it replaces.
		b.Do(t, "approve v2",
			chromedp.Click(chromedp.CSS(`#versions-table tr[data-version="2"] button.approve`)),
			browsertest.WaitFor(`document.activeElement && document.activeElement.id === "approve-confirm"`, "the confirmation to take focus"),
		)
		if got := browsertest.Eval[string](t, b, `(() => { const g = document.getElementById("approve-confirm").closest("[role=group]"); const l = g && document.getElementById(g.getAttribute("aria-labelledby")); return l ? l.textContent : ""; })()`); got != "Make version 2 active in place of version 1?" {
			t.Errorf("the confirmation group is labelled %q", got)
		}
		b.Do(t, "confirm",
			chromedp.Click(chromedp.ID("approve-confirm")),
			browsertest.WaitText("#rollback-result", "Version 2 is approved and active"),
			browsertest.WaitText("#active-version", "2"),
			browsertest.WaitText("#active-approver", "pb"),
			browsertest.WaitText(`#versions-table tr[data-version="2"]`, "Active"),
			browsertest.WaitText(`#versions-table tr[data-version="2"] .approver`, "approved by pb"),
			browsertest.WaitText(`#versions-table tr[data-version="1"]`, "Superseded"),
			browsertest.WaitFor(`document.querySelector('.tabpanel[data-path="cases.rego"] textarea').value.includes("max_certificates := 50")`, "the editor to show v2"),
		)
		if v, rego := activePolicy(t, s, admin); v != 2 || !strings.Contains(rego, "max_certificates := 50") {
			t.Errorf("activePolicy is version %d after the approval", v)
		}
		// In Chinese too.
		b.Do(t, "switch to Chinese",
			chromedp.SetValue(chromedp.ID("lang-select"), "zh"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("lang-select").dispatchEvent(new Event("change"))`),
			browsertest.WaitText(`#versions-table tr[data-version="2"]`, "生效中"),
			browsertest.WaitText(`#versions-table tr[data-version="3"]`, "已驳回"),
			browsertest.WaitText("#publish-button", "提交提案"),
			chromedp.SetValue(chromedp.ID("lang-select"), "en"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("lang-select").dispatchEvent(new Event("change"))`),
			browsertest.WaitText("#publish-button", "Propose"),
		)
		b.NoProblems(t)
	})

	t.Run("diff and propose a roll back", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
		b.Do(t, "diff v1 and v2",
			chromedp.SetValue(chromedp.ID("diff-from"), "1"),
			chromedp.SetValue(chromedp.ID("diff-to"), "2"),
			chromedp.Click(chromedp.ID("diff-button")),
			browsertest.WaitText(`#diff-output .diff-module[data-path="cases.rego"] .diff-del`, "max_certificates := 100"),
			browsertest.WaitText(`#diff-output .diff-module[data-path="cases.rego"] .diff-add`, "max_certificates := 50"),
		)
		if n := browsertest.Eval[int](t, b, `document.querySelectorAll('#diff-output .diff-module').length`); n != 1 {
			t.Errorf("%d modules in the diff, want only cases.rego", n)
		}
		b.Do(t, "propose a roll back to v1",
			chromedp.Click(chromedp.CSS(`button.rollback[data-version="1"]`)),
			browsertest.WaitFor(`document.activeElement && document.activeElement.id === "rollback-confirm"`, "the confirmation to take focus"),
		)
		if got := browsertest.Eval[string](t, b, `(() => { const g = document.getElementById("rollback-confirm").closest("[role=group]"); const l = g && document.getElementById(g.getAttribute("aria-labelledby")); return l ? l.textContent : ""; })()`); !strings.Contains(got, "Propose making version 1 active again?") {
			t.Errorf("the confirmation group is labelled %q", got)
		}
		b.Do(t, "confirm",
			chromedp.Click(chromedp.ID("rollback-confirm")),
			browsertest.WaitText("#rollback-result", "Version 4 proposes the return to version 1"),
			browsertest.WaitText(`#versions-table tr[data-version="4"]`, "returns to v1"),
		)
		if v := browsertest.Text(t, b, "#active-version"); v != "2" {
			t.Errorf("a proposed roll back is active: %q", v)
		}
		if n := browsertest.Eval[int](t, b, `document.querySelectorAll('#versions-table tr[data-version="4"] button.approve').length`); n != 0 {
			t.Error("the roll back's proposer is offered to approve it")
		}

		// The first admin approves it meanwhile: coming back, the page
		// follows, since nothing was edited.
		s.Do(admin, `mutation { approvePolicyVersion(version: 4) { version } }`, nil).Decode(t, &struct{}{})
		b.Do(t, "back to the policy page",
			// Policy admins have no audit page: the route says so.
			chromedp.Evaluate[chromedp.Void](`location.hash = "#/audit"`),
			browsertest.WaitFor(`location.hash === "#/audit" && document.getElementById("page-title").dataset.i18n === "nav.not_allowed"`, "the refusal of the audit page"),
			chromedp.Click(chromedp.ID("nav-policy")),
			browsertest.WaitText("#active-version", "4"),
			browsertest.WaitText(`#versions-table tr[data-version="4"]`, "approved by pa"),
			browsertest.WaitFor(`document.querySelector('.tabpanel[data-path="cases.rego"] textarea').value.includes("max_certificates := 100")`, "the editor to show v4"),
		)
		if v, rego := activePolicy(t, s, admin); v != 4 || !strings.Contains(rego, "max_certificates := 100") {
			t.Errorf("activePolicy is version %d after the roll back", v)
		}
		b.NoProblems(t)
	})

	t.Run("big modules: the line diff is capped", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
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
		got := browsertest.Eval[map[string]result](t, b, `import("./diff.js").then((m) => {
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
		b.Do(t, "replace cases.rego with 45,000 other lines",
			chromedp.Click(chromedp.CSS(`[role=tab][data-path="cases.rego"]`)),
			browsertest.WaitFor(`!document.querySelector('.tabpanel[data-path="cases.rego"]').hidden`, "the cases.rego panel"),
			chromedp.Evaluate[chromedp.Void](`(() => {
				const ta = document.querySelector('.tabpanel[data-path="cases.rego"] textarea');
				ta.value = Array.from({length: 45000}, (_, i) => "# other " + i).join("\n");
				ta.dispatchEvent(new Event("input", {bubbles: true}));
			})()`),
			browsertest.WaitFor(`!document.querySelector('[role=tab][data-path="cases.rego"] .modified').hidden`, "the modified mark"),
			chromedp.SetValue(chromedp.ID("diff-from"), "2"),
			chromedp.SetValue(chromedp.ID("diff-to"), "editor"),
			chromedp.Click(chromedp.ID("diff-button")),
			browsertest.WaitText(`#diff-output .diff-module[data-path="cases.rego"] .diff-too-large`, "Too large to compare line by line"),
		)
		msg := browsertest.Text(t, b, `#diff-output .diff-module[data-path="cases.rego"] .diff-too-large`)
		if !strings.Contains(msg, "45000 line(s) in editor") || !regexp.MustCompile(`\d+ line\(s\) in v2`).MatchString(msg) {
			t.Errorf("the too-large message lacks the line counts: %q", msg)
		}
		b.Do(t, "undo the change",
			chromedp.Click(chromedp.ID("revert-module")),
			browsertest.WaitFor(`document.querySelector('[role=tab][data-path="cases.rego"] .modified').hidden`, "no modified mark"),
		)
		b.NoProblems(t)
	})

	t.Run("dry run explains a decision", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
		in := `{"action": "unit.register", "principal": {"sub": "x", "roles": ["issuer"]}}`
		b.Do(t, "explain with Ctrl+Enter",
			browsertest.SetText("#dryrun-query", "data.certd.authz.allow"),
			browsertest.SetText("#dryrun-input", in),
			chromedp.Focus(chromedp.ID("dryrun-input")),
			chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
			browsertest.WaitText("#dryrun-allowed", "no"),
			browsertest.WaitText("#dryrun-explanation", "role digital_office required"),
		)
		if v := browsertest.Text(t, b, "#dryrun-value"); v != "false" {
			t.Errorf("result %q", v)
		}
		b.Do(t, "explain an allowed input",
			browsertest.SetText("#dryrun-input", strings.Replace(in, "issuer", "digital_office", 1)),
			chromedp.Click(chromedp.ID("dryrun-button")),
			browsertest.WaitText("#dryrun-allowed", "yes"),
			browsertest.WaitText("#dryrun-explanation", "applied"),
		)
		b.Do(t, "invalid JSON",
			browsertest.SetText("#dryrun-input", "{not json"),
			chromedp.Click(chromedp.ID("dryrun-button")),
			browsertest.WaitText("#dryrun-result .error-code", "INVALID_JSON"),
		)
		b.NoProblems(t)
	})

	t.Run("the digital office approves a bulk analysis", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
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

		b.Do(t, "sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("token-input")))
		signIn(t, b, office)
		b.Do(t, "the approvals page",
			browsertest.WaitFor(`location.hash === "#/approvals"`, "the approvals page"),
			browsertest.WaitText(fmt.Sprintf(`#approvals-list tr[data-id=%s]`, browsertest.JS(approve)), "统计各类证照"),
			browsertest.WaitText(fmt.Sprintf(`#approvals-list tr[data-id=%s]`, browsertest.JS(reject)), "逐户导出"),
		)
		if browsertest.Eval[bool](t, b, `!!document.getElementById("nav-policy")`) {
			t.Error("the digital office sees the policy page")
		}
		// The comment and reason fields have visible labels and are described
		// by their request's purpose.
		labels := browsertest.Eval[[]string](t, b, fmt.Sprintf(`[...document.querySelectorAll(%s)].map((el) => {
			const l = el.labels[0];
			const visible = !!l && l.getBoundingClientRect().width > 0;
			return (visible ? l.textContent : "(no visible label)") + " / " + document.getElementById(el.getAttribute("aria-describedby")).textContent;
		})`, browsertest.JS(fmt.Sprintf(`#approvals-list tr[data-id=%s] input`, browsertest.JS(approve)))))
		if want := []string{"Comment (optional) / 统计各类证照的发放数量，用于年度评估", "Reason (required) / 统计各类证照的发放数量，用于年度评估"}; !slices.Equal(labels, want) {
			t.Errorf("approve/reject fields: %q, want %q", labels, want)
		}
		row := fmt.Sprintf(`#approvals-list tr[data-id=%s]`, browsertest.JS(own))
		b.Do(t, "approving one's own request is refused",
			chromedp.Click(chromedp.CSS(row+" button.approve")),
			browsertest.WaitText("#approvals-result .error-code", "FORBIDDEN"),
			browsertest.WaitText(row, "本办自用的证照发放数量统计分析"),
		)
		row = fmt.Sprintf(`#approvals-list tr[data-id=%s]`, browsertest.JS(approve))
		b.Do(t, "approve with a comment, by keyboard",
			chromedp.SendKeys(chromedp.CSS(row+" .approve-comment"), "同意，仅限统计\r"),
			browsertest.WaitText("#approvals-result", "is now Approved"),
			browsertest.WaitFor(fmt.Sprintf(`!document.querySelector(%s)`, browsertest.JS(row)), "the approved request to leave the pending list"),
			browsertest.WaitFor(`document.activeElement === document.getElementById("approvals-result")`, "focus on the result"),
		)
		row = fmt.Sprintf(`#approvals-list tr[data-id=%s]`, browsertest.JS(reject))
		b.Do(t, "reject without a reason is held by the form",
			chromedp.Click(chromedp.CSS(row+" button.reject")),
			browsertest.WaitFor(fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, browsertest.JS(row+" .reject-reason")), "focus on the reason"),
		)
		b.Do(t, "reject with a reason",
			chromedp.SendKeys(chromedp.CSS(row+" .reject-reason"), "涉及个人信息，不予批准\r"),
			browsertest.WaitText("#approvals-result", "is now Rejected"),
			browsertest.WaitFor(fmt.Sprintf(`!document.querySelector(%s)`, browsertest.JS(row)), "the rejected request to leave the pending list"),
		)
		if n := browsertest.Eval[int](t, b, `document.querySelectorAll('#approvals-list tbody tr').length`); n != 1 {
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
		b.NoProblems(t)
	})

	t.Run("an issuer reads the audit log and resolves an objection", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
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

		signIn(t, b, clerk)
		if browsertest.Eval[bool](t, b, `!!document.getElementById("nav-policy") || !!document.getElementById("nav-approvals")`) {
			t.Error("an issuer sees the policy or approvals page")
		}
		b.Do(t, "the audit page",
			chromedp.Click(chromedp.ID("nav-audit")),
			browsertest.WaitFor(`document.querySelector('#audit-intact') && document.querySelector('#audit-intact').dataset.intact === "true"`, "an intact audit chain"),
			browsertest.WaitText("#audit-table", "certificate.read"),
			browsertest.WaitText("#audit-table caption", "Page 1: 50 record(s)"),
			// Kinds, operation types and decisions are labels.
			browsertest.WaitText("#audit-table", "access · query certificates"),
			browsertest.WaitText("#audit-table .decision", "allowed"),
		)
		first := browsertest.Eval[string](t, b, `document.querySelector("#audit-table tbody tr").dataset.id`)
		b.Do(t, "the next page and back",
			chromedp.Click(chromedp.ID("audit-next")),
			browsertest.WaitText("#audit-table caption", "Page 2"),
			browsertest.WaitFor(fmt.Sprintf(`document.querySelector("#audit-table tbody tr").dataset.id !== %s`, browsertest.JS(first)), "other records"),
			chromedp.Click(chromedp.ID("audit-prev")),
			browsertest.WaitText("#audit-table caption", "Page 1"),
			browsertest.WaitFor(fmt.Sprintf(`document.querySelector("#audit-table tbody tr").dataset.id === %s`, browsertest.JS(first)), "the first page again"),
		)
		b.Do(t, "filter by licence",
			browsertest.SetText("#filter-certificate", food),
			chromedp.Click(chromedp.ID("audit-search")),
			browsertest.WaitText("#audit-table caption", "Page 1"),
			browsertest.WaitText("#audit-table", food),
		)
		ids := browsertest.Eval[[]string](t, b, `[...document.querySelectorAll('#audit-table tbody tr')].map((tr) => tr.textContent)`)
		for _, row := range ids {
			if !strings.Contains(row, food) {
				t.Errorf("a record of another licence under the filter: %s", row)
			}
		}

		row := fmt.Sprintf(`#objections-list tr[data-id=%s]`, browsertest.JS(filed.FileObjection.ID))
		b.Do(t, "the objections page",
			chromedp.Click(chromedp.ID("nav-objections")),
			browsertest.WaitText(row, "经营场所地址有误"),
			chromedp.Click(chromedp.CSS(row+" button.resolve")),
			chromedp.WaitVisible(chromedp.ID("resolve-form")),
			browsertest.WaitFor(`document.activeElement && document.activeElement.id === "outcome-rejected"`, "focus on the outcome"),
		)
		// The corrected data shows for CORRECTED only: [hidden] must win over
		// .field's display: flex.
		dataDisplay := `getComputedStyle(document.getElementById("resolve-data").closest(".field")).display`
		if d := browsertest.Eval[string](t, b, dataDisplay); d != "none" {
			t.Errorf("the corrected-data field shows (display %q) for REJECTED", d)
		}
		b.Do(t, "choose CORRECTED",
			chromedp.Click(chromedp.ID("outcome-corrected")),
			browsertest.WaitFor(`document.getElementById("resolve-data").value.includes("{")`, "the licence's data to edit"),
		)
		if d := browsertest.Eval[string](t, b, dataDisplay); d != "flex" {
			t.Errorf("the corrected-data field has display %q for CORRECTED, want flex", d)
		}
		b.Do(t, "choose REJECTED again", chromedp.Click(chromedp.ID("outcome-rejected")))
		if d := browsertest.Eval[string](t, b, dataDisplay); d != "none" {
			t.Errorf("the corrected-data field shows (display %q) after going back to REJECTED", d)
		}
		b.Do(t, "reject the objection",
			chromedp.SendKeys(chromedp.ID("resolve-note"), "经核实，登记地址无误"),
			chromedp.Click(chromedp.ID("resolve-submit")),
			browsertest.WaitText("#objections-result", "is now Rejected"),
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
		b.NoProblems(t)
	})

	t.Run("Chinese labels, role-dependent navigation and sign-out", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
		signIn(t, b, clerk)
		b.Do(t, "the objections page", chromedp.Click(chromedp.ID("nav-objections")), browsertest.WaitText("#page-title", "Objections"))
		if lang := browsertest.Eval[string](t, b, `document.documentElement.lang`); lang != "en" {
			t.Errorf("html lang %q for an English browser", lang)
		}
		// Role names, the token's expiry (date and time, in the console's
		// language) and the tab's title are labels too.
		if got := browsertest.Text(t, b, "#whoami .role"); got != "issuer" {
			t.Errorf("role chip %q", got)
		}
		if got := browsertest.Text(t, b, "#whoami .who-exp time"); !regexp.MustCompile(`\b20\d\d\b.*\d\d:\d\d:\d\d`).MatchString(got) {
			t.Errorf("the token's expiry %q is not a date and time", got)
		}
		if got := browsertest.Eval[string](t, b, `document.title`); got != "Objections · certd" {
			t.Errorf("document title %q", got)
		}
		// An answer that is not GraphQL (e.g. a proxy's 502 page) is explained.
		if got := browsertest.Eval[string](t, b, `import("./ui.js").then((m) => m.errorBox({code: "HTTP_502", message: "Bad Gateway"}).textContent)`); !strings.Contains(got, "not a GraphQL response") {
			t.Errorf("the error box of a non-GraphQL answer: %q", got)
		}
		b.Do(t, "switch to Chinese",
			browsertest.SetText("#lang-select", "zh"),
			browsertest.WaitText("#nav-audit", "审计"),
			browsertest.WaitText("#nav-objections", "异议"),
			browsertest.WaitText("#sign-out", "退出"),
		)
		if lang := browsertest.Eval[string](t, b, `document.documentElement.lang`); lang != "zh-CN" {
			t.Errorf("html lang %q after switching", lang)
		}
		if got := browsertest.Text(t, b, "#page-title"); got != "异议处理" {
			t.Errorf("page title %q in Chinese", got)
		}
		if got := browsertest.Text(t, b, "#whoami .role"); got != "发证单位" {
			t.Errorf("role chip %q in Chinese", got)
		}
		if got := browsertest.Text(t, b, "#whoami .who-exp time"); !strings.Contains(got, "年") {
			t.Errorf("the token's expiry %q in Chinese", got)
		}
		if got := browsertest.Eval[string](t, b, `document.title`); got != "异议 · certd" {
			t.Errorf("document title %q in Chinese", got)
		}
		// The choice is remembered; the pages an issuer lacks stay hidden.
		b.Do(t, "reload", chromedp.Reload(), browsertest.WaitText("#nav-audit", "审计"))
		if browsertest.Eval[bool](t, b, `!!document.getElementById("nav-policy")`) {
			t.Error("an issuer sees the policy page")
		}
		b.Do(t, "an issuer asking for the policy page",
			chromedp.Navigate(b.Base+"/console/#/policy"),
			browsertest.WaitText("#page-title", "您的角色无权使用此页面"),
			browsertest.WaitText("#page-title + p", "您的角色：发证单位。"),
		)
		tok := browsertest.Eval[string](t, b, `sessionStorage.getItem("certd.console.token") || ""`)
		if tok == "" {
			t.Error("the token is not in sessionStorage")
		}
		if leaked := browsertest.Eval[bool](t, b, fmt.Sprintf(`Object.keys(localStorage).some((k) => localStorage.getItem(k).includes(%s))`, browsertest.JS(tok[:min(len(tok), 40)]))); leaked {
			t.Error("the token is in localStorage")
		}
		b.Do(t, "sign out",
			chromedp.Click(chromedp.ID("sign-out")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			browsertest.WaitText("#page-title", "登录"),
			browsertest.WaitText("#signin-result", "令牌已从本标签页清除"),
		)
		if got := browsertest.Eval[string](t, b, `document.title`); got != "登录 · certd" {
			t.Errorf("document title %q on the sign-in page in Chinese", got)
		}
		if tok := browsertest.Eval[*string](t, b, `sessionStorage.getItem("certd.console.token")`); tok != nil {
			t.Error("sign-out left the token in sessionStorage")
		}
		if browsertest.Eval[bool](t, b, `!document.getElementById("nav").hidden`) {
			t.Error("the navigation shows after sign-out")
		}
		b.Do(t, "back to English", browsertest.SetText("#lang-select", "en"), browsertest.WaitText("#page-title", "Sign in"))
		b.Do(t, "the skip link comes first and shows when focused",
			chromedp.Navigate(b.Base+"/console/"),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			browsertest.WaitFor(`document.querySelector("a[href], button, input, select, textarea").id === "skip-link"`, "the skip link first"),
			chromedp.Focus(chromedp.ID("skip-link")),
			browsertest.WaitFor(`document.getElementById("skip-link").getBoundingClientRect().left >= 0`, "the visible skip link"),
			chromedp.KeyEvent(kb.Enter),
			browsertest.WaitFor(`document.activeElement.id === "main"`, "focus on the main content"),
		)
		b.Do(t, "a bad token, signed in by keyboard",
			chromedp.SetValue(chromedp.ID("token-input"), "not.a.token"),
			chromedp.Focus(chromedp.ID("token-input")),
			chromedp.KeyEvent(kb.Enter),
			browsertest.WaitText("#signin-result .error-code", "UNAUTHENTICATED"),
		)
		if got := browsertest.Text(t, b, "#signin-result"); strings.Contains(got, "session has ended") {
			t.Errorf("a bad token typed in is reported as an ended session: %q", got)
		}
		b.NoProblems(t)
	})

	t.Run("a token refused mid-session leads back to sign-in", func(t *testing.T) {
		b.ScreenshotOnFailure(t)
		signIn(t, b, clerk)
		b.Do(t, "the audit page",
			chromedp.Click(chromedp.ID("nav-audit")),
			browsertest.WaitFor(`!!document.querySelector('#audit-intact')`, "the audit status"),
		)
		// The token stops being accepted (as when it expires): the next
		// request is refused.
		b.Do(t, "a refused request",
			chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("certd.console.token", sessionStorage.getItem("certd.console.token").slice(0, -4) + "AAAA")`),
			chromedp.Click(chromedp.ID("audit-status-refresh")),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			browsertest.WaitText("#signin-result .error-lead", "the server refused your token (it has probably expired)"),
			browsertest.WaitText("#signin-result .error-code", "UNAUTHENTICATED"),
		)
		if tok := browsertest.Eval[*string](t, b, `sessionStorage.getItem("certd.console.token")`); tok != nil {
			t.Error("the refused token is still in sessionStorage")
		}
		if browsertest.Eval[bool](t, b, `!document.getElementById("nav").hidden || !document.getElementById("whoami").hidden`) {
			t.Error("the navigation or the signed-in user still shows")
		}
		if got := browsertest.Eval[string](t, b, `document.activeElement.id`); got != "token-input" {
			t.Errorf("focus on %q, want the token box", got)
		}
		// Signing in again goes back to the same page.
		b.Do(t, "sign in again",
			chromedp.SetValue(chromedp.ID("token-input"), clerk),
			chromedp.Click(chromedp.ID("signin-button")),
			browsertest.WaitFor(`location.hash === "#/audit" && document.getElementById("page-title").dataset.i18n === "audit.title"`, "the audit page again"),
			browsertest.WaitFor(`!!document.querySelector('#audit-intact')`, "the audit status"),
		)
		// A reload with a token that is no longer accepted says so too.
		b.Do(t, "reload with a refused token",
			chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("certd.console.token", "not.a.token")`),
			chromedp.Reload(),
			chromedp.WaitVisible(chromedp.ID("token-input")),
			browsertest.WaitText("#signin-result .error-lead", "Your session has ended"),
		)
		b.NoProblems(t)
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
	b.ScreenshotOnFailure(t)
	admin := s.TokenFor(identity.TokenRequest{Subject: "policy-admin", Name: "策略管理员", Org: demo.DigitalOffice, Roles: []string{identity.RolePolicyAdmin}, AMR: []string{"pwd"}, TTL: time.Hour})
	signIn(t, b, admin)
	b.Do(t, "the policy page",
		chromedp.EmulateViewport(1280, 800),
		browsertest.WaitText("#active-version", "1"),
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
		browsertest.WaitText("#test-summary", "failed"),
		// A shorter editor (it is resizable) leaves room for the test results.
		chromedp.Evaluate[chromedp.Void](`(() => {
			document.querySelector('.tabpanel[data-path="cases.rego"] .editor').style.height = "200px";
			document.getElementById("status").replaceChildren();
			window.scrollTo(0, 0);
		})()`),
	)
	png, err := chromedp.Run(b.Ctx, chromedp.CaptureScreenshot())
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
