package main

import (
	"testing"
	"time"
)

// TestSecondProcessPicksUpAPublishedPolicy runs two certd processes on one
// data directory: a policy published on one is enforced by the other
// within 5 seconds, without a restart.
func TestSecondProcessPicksUpAPublishedPolicy(t *testing.T) {
	dir := t.TempDir()
	_, urlA := serve(t, dir, "--demo", "--policy-poll", "200ms")
	_, urlB := serve(t, dir, "--policy-poll", "200ms")
	admin := token(t, dir, "--sub", "pa", "--org", "11350100MB00000012", "--role", "policy_admin")
	issuer := token(t, dir, "--sub", "i1", "--org", "11350100MB00000025", "--role", "issuer", "--amr", "cert")

	listed := func(url string) bool {
		out := gql(t, url, issuer, `{ certificates { totalCount } }`)
		return out["errors"] == nil
	}
	if !listed(urlB) {
		t.Fatal("issuers list their licences under the default policy")
	}
	in := noIssuerListing(t)
	out := post(t, urlA, admin, map[string]any{
		"query":     `mutation($m: [PolicyModuleInput!]!) { publishPolicy(modules: $m, message: "issuers list through the console only") { version } }`,
		"variables": map[string]any{"m": in},
	})
	if out["errors"] != nil {
		t.Fatalf("publish: %v", out["errors"])
	}
	start := time.Now()
	for listed(urlB) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the second process still lists after 5 seconds")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the second process enforced the new policy after %s", time.Since(start).Round(time.Millisecond))
}
