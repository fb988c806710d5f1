package graphiql_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
	"certd/internal/testkit/browsertest"
)

// TestGraphiQLOffline loads GraphiQL in headless Chromium from a demo
// server with every request to anywhere else blocked, as on an intranet
// without internet: the page must load from the server alone, under the
// strict CSP, list Query's fields in the Docs pane, and run a query with a
// pasted token.
func TestGraphiQLOffline(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	b := browsertest.New(t, s.URL)
	b.ScreenshotOnFailure(t)
	blocked := b.BlockOutside(t)

	// What the Docs pane must list: every field of Query, as the server
	// itself reports them.
	var schema struct {
		Type struct{ Fields []struct{ Name string } } `json:"__type"`
	}
	s.Do("", `{ __type(name: "Query") { fields { name } } }`, nil).Decode(t, &schema)
	var want []string
	for _, f := range schema.Type.Fields {
		want = append(want, f.Name)
	}
	if len(want) < 10 {
		t.Fatalf("Query has only %d fields: %v", len(want), want)
	}

	b.Do(t, "open GraphiQL",
		chromedp.Navigate(s.URL+"/"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.clear(); localStorage.clear()`),
		chromedp.Navigate(s.URL+"/"),
		browsertest.WaitFor(`!!document.querySelector('.graphiql-container .graphiql-query-editor .CodeMirror')`, "GraphiQL's query editor"),
	)
	b.Do(t, "open the Docs pane",
		chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`)),
		browsertest.WaitText(`.graphiql-doc-explorer`, "Query"),
		chromedp.Click(chromedp.CSS(`.graphiql-doc-explorer a.graphiql-doc-explorer-type-name`)),
		browsertest.WaitText(`.graphiql-doc-explorer-title`, "Query"),
		browsertest.WaitText(`.graphiql-doc-explorer`, "verifyCertificate"),
	)
	listed := browsertest.Eval[[]string](t, b, `[...document.querySelectorAll('.graphiql-doc-explorer .graphiql-doc-explorer-field-name')].map((e) => e.textContent)`)
	for _, f := range want {
		if !slices.Contains(listed, f) {
			t.Errorf("the Docs pane does not list Query.%s (it lists %v)", f, listed)
		}
	}

	// Without a token the catalogue is refused; with a pasted one it answers.
	run := func(what, want string) {
		t.Helper()
		b.Do(t, what,
			chromedp.Evaluate[chromedp.Void](`document.querySelector('.graphiql-execute-button').click()`),
			browsertest.WaitText(`.graphiql-response`, want),
		)
	}
	run("run the default query without a token", "UNAUTHENTICATED")
	tok := s.Token("gq", demo.MarketRegistry, identity.RoleIssuer)
	b.Do(t, "paste a token",
		browsertest.SetText("#token", tok),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)),
		browsertest.WaitText("#token-state", "carry your token"),
	)
	run("run the default query with the token", "食品经营许可证")
	if got := browsertest.Eval[string](t, b, `sessionStorage.getItem('certd.console.token')`); got != tok {
		t.Errorf("the token is not kept in sessionStorage under the console's key")
	}
	if strings.Contains(browsertest.Eval[string](t, b, `JSON.stringify(localStorage)`), tok) {
		t.Error("the token was written to localStorage")
	}

	if got := blocked(); len(got) > 0 {
		t.Errorf("GraphiQL asked for files outside the server: %v", got)
	}
	b.NoProblems(t)
}
