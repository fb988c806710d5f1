package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// TestGraphQLOverHTTP checks the status codes, media types and the data
// entry that the GraphQL-over-HTTP spec asks for (graphql-http's audit,
// run by CI with scripts/graphql-http-audit.sh, checks the same and more).
func TestGraphQLOverHTTP(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	tok := s.Token("h", demo.MarketRegistry, identity.RoleIssuer)
	send := func(accept, body string) (int, string, map[string]json.RawMessage) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.URL+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]json.RawMessage
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: not JSON: %s", body, raw)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), out
	}
	const (
		legacy = "application/json"
		gqlrsp = "application/graphql-response+json"
	)
	failures := map[string]string{
		"parse":      `{"query":"{"}`,
		"validation": `{"query":"{ nosuchfield }"}`,
		"coercion":   `{"query":"query($c: ID!) { unit(code: $c) { name } }","variables":{"c":{"x":1}}}`,
	}
	for what, body := range failures {
		for accept, want := range map[string]int{legacy: 200, gqlrsp: 400, "": 200, "*/*": 200} {
			status, ctype, out := send(accept, body)
			if status != want {
				t.Errorf("%s failure, Accept %q: HTTP %d, want %d", what, accept, status, want)
			}
			wantType := legacy
			if accept == gqlrsp {
				wantType = gqlrsp
			}
			if !strings.HasPrefix(ctype, wantType) {
				t.Errorf("%s failure, Accept %q: Content-Type %q, want %s", what, accept, ctype, wantType)
			}
			if _, ok := out["data"]; ok {
				t.Errorf("%s failure, Accept %q: a data entry although nothing executed: %v", what, accept, out)
			}
			if !bytes.Contains(out["errors"], []byte(`"INVALID_INPUT"`)) {
				t.Errorf("%s failure, Accept %q: errors %s", what, accept, out["errors"])
			}
		}
	}
	// A misspelt or missing query is not a GraphQL request: 400 either way.
	for _, accept := range []string{legacy, gqlrsp} {
		if status, _, out := send(accept, `{"qeury":"{ units { code } }"}`); status != 400 || !bytes.Contains(out["errors"], []byte("INVALID_INPUT")) {
			t.Errorf("no query, Accept %q: HTTP %d %v", accept, status, out)
		}
	}
	// An executed request is 200 with its data, in the media type asked for.
	for _, accept := range []string{legacy, gqlrsp, "application/json;q=0.5, application/graphql-response+json"} {
		status, ctype, out := send(accept, `{"query":"{ units { code } }"}`)
		if status != 200 || !bytes.Contains(out["data"], []byte("11350100MB00000012")) {
			t.Errorf("Accept %q: HTTP %d %v", accept, status, out)
		}
		if want := strings.Contains(accept, gqlrsp); strings.HasPrefix(ctype, gqlrsp) != want {
			t.Errorf("Accept %q: Content-Type %q", accept, ctype)
		}
	}
	// A field error keeps data (null where the field failed) and 200.
	if status, _, out := send(gqlrsp, `{"query":"{ unit(code: \"91350100MA0000001X\") { name } }"}`); status != 200 || string(out["data"]) == "" {
		t.Errorf("a field error: HTTP %d %v", status, out)
	}
}
