package main

import (
	"testing"
	"time"
)

// TestSecondProcessPicksUpAPublishedPolicy runs two certd processes on one
// data directory: a policy proposed on one and approved there by a second
// policy admin is enforced by the other within 5 seconds, without a
// restart.
func TestSecondProcessPicksUpAPublishedPolicy(t *testing.T) {
	dir := t.TempDir()
	_, urlA := serve(t, dir, "--demo", "--policy-poll", "200ms")
	_, urlB := serve(t, dir, "--policy-poll", "200ms")
	admin := token(t, dir, "--sub", "pa", "--org", "11350100MB00000012", "--role", "policy_admin")
	second := token(t, dir, "--sub", "pb", "--org", "11350100MB00000012", "--role", "policy_admin")
	issuer := token(t, dir, "--sub", "i1", "--org", "11350100MB00000025", "--role", "issuer", "--amr", "cert")

	listed := func(url string) bool {
		out := gql(t, url, issuer, `{ certificates { totalCount } }`)
		return out["errors"] == nil
	}
	if !listed(urlB) {
		t.Fatal("issuers list their licences under the default policy")
	}
	v := publishAndApprove(t, urlA, admin, second, noIssuerListing(t), "issuers list through the console only")
	start := time.Now()
	for listed(urlB) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the second process still lists after 5 seconds")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the second process enforced policy version %d after %s", v, time.Since(start).Round(time.Millisecond))
}

// publishAndApprove proposes mods as proposer on url, checks that the
// proposal changes nothing until approved (the proposer's own approval is
// refused), has approver approve it there, and returns its version.
func publishAndApprove(t *testing.T, url, proposer, approver string, mods []map[string]any, msg string) int {
	t.Helper()
	out := post(t, url, proposer, map[string]any{
		"query":     `mutation($m: [PolicyModuleInput!]!, $msg: String!) { publishPolicy(modules: $m, message: $msg) { version state } }`,
		"variables": map[string]any{"m": mods, "msg": msg},
	})
	p := dig(out, "data", "publishPolicy")
	if out["errors"] != nil || p["state"] != "PROPOSED" {
		t.Fatalf("publish: %v", out)
	}
	approve := func(tok string) map[string]any {
		return post(t, url, tok, map[string]any{
			"query":     `mutation($v: Int!) { approvePolicyVersion(version: $v) { version state approvedBy } }`,
			"variables": map[string]any{"v": p["version"]},
		})
	}
	if out := approve(proposer); out["errors"] == nil {
		t.Fatalf("the proposer approved their own proposal: %v", out)
	}
	out = approve(approver)
	if a := dig(out, "data", "approvePolicyVersion"); out["errors"] != nil || a["state"] != "ACTIVE" {
		t.Fatalf("approve: %v", out)
	}
	return int(p["version"].(float64))
}
