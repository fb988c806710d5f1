package app_test

import (
	"strings"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/authz"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

const publishQ = `mutation($m: [PolicyModuleInput!]!, $msg: String!) { publishPolicy(modules: $m, message: $msg) { version active author message testsPassed } }`

// bundle is the embedded policy with one module's text replaced.
func bundle(t *testing.T, path, old, new string) []any {
	t.Helper()
	mods, err := authz.DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	found := false
	for _, m := range mods {
		if m.Path == path {
			if !strings.Contains(m.Rego, old) {
				t.Fatalf("%s does not contain %q", path, old)
			}
			m.Rego = strings.Replace(m.Rego, old, new, 1)
			found = true
		}
		out = append(out, map[string]any{"path": m.Path, "rego": m.Rego})
	}
	if !found && path != "" {
		t.Fatalf("no module %s", path)
	}
	return out
}

func activeVersion(t *testing.T, s *testkit.Server, tok string) int {
	var out struct{ ActivePolicy struct{ Version int } }
	s.Do(tok, `{ activePolicy { version } }`, nil).Decode(t, &out)
	return out.ActivePolicy.Version
}

func TestPolicyAdministration(t *testing.T) {
	dir := t.TempDir()
	fast := testkit.WithConfig(func(c *app.Config) { c.DataDir, c.PolicyPoll = dir, 100*time.Millisecond })
	a := testkit.Start(t, testkit.WithDemo(), fast)
	a.RunBackground(t)
	b := testkit.Start(t, fast) // a second instance on the same store
	b.RunBackground(t)

	admin := a.Token("pa", demo.DigitalOffice, identity.RolePolicyAdmin)
	staff := a.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	if v := activeVersion(t, a, admin); v != 1 {
		t.Fatalf("the embedded default is version 1, got %d", v)
	}

	// Refusals leave the active version alone.
	rejected := map[string][]any{
		"syntax error":       bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := := 100"),
		"failing test":       bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 0"),
		"infinite recursion": bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 100\n\nloop_a if loop_b\n\nloop_b if loop_a"),
		"network call":       bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 100\n\nleak if http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1:1\"})"),
	}
	var noTests []any
	for _, m := range bundle(t, "", "", "") {
		if !strings.HasSuffix(m.(map[string]any)["path"].(string), "_test.rego") {
			noTests = append(noTests, m)
		}
	}
	rejected["no tests"] = noTests
	for name, mods := range rejected {
		r := a.Do(admin, publishQ, map[string]any{"m": mods, "msg": name})
		if r.Code() != "POLICY_REJECTED" || r.Errors[0].Extensions["details"] == nil && name != "no tests" {
			t.Errorf("%s: %+v", name, r.Errors)
		}
	}
	if r := a.Do(staff, publishQ, map[string]any{"m": bundle(t, "", "", ""), "msg": "x"}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a non-admin publishing: %+v", r.Errors)
	}
	if v := activeVersion(t, a, admin); v != 1 {
		t.Fatalf("a refused publish changed the active version to %d", v)
	}

	// A case under the default policy sees both licences of the renewal matter.
	c := openCase(t, a, staff, "SP-1", "91350100MA0000001P", "350100-SP-0002")
	caseCerts := func(s *testkit.Server) *testkit.Response {
		return s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID})
	}
	if r := caseCerts(b); r.Code() != "" {
		t.Fatalf("before the publish: %+v", r.Errors)
	}

	// Publish a stricter cap on one instance; the other enforces it soon.
	var pub struct {
		PublishPolicy struct {
			Version     int
			Active      bool
			Author      string
			TestsPassed int
		}
	}
	a.Do(admin, publishQ, map[string]any{"m": bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 1"), "msg": "一次最多一份证照"}).Decode(t, &pub)
	if p := pub.PublishPolicy; p.Version != 2 || !p.Active || p.Author != "pa" || p.TestsPassed == 0 {
		t.Fatalf("published %+v", p)
	}
	if r := caseCerts(a); r.Code() != "FORBIDDEN" {
		t.Fatalf("the publishing instance does not enforce the new cap: %+v", r.Errors)
	}
	deadline := time.Now().Add(5 * time.Second)
	for caseCerts(b).Code() != "FORBIDDEN" {
		if time.Now().After(deadline) {
			t.Fatal("the second instance did not enforce the new policy within 5 seconds")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Explain, dry run.
	var ex struct {
		ExplainDecision struct {
			Allowed     bool
			Explanation []string
		}
	}
	a.Do(admin, `query($in: JSON!) { explainDecision(query: "data.certd.authz.allow", input: $in) { allowed result explanation } }`,
		map[string]any{"in": map[string]any{"action": "unit.register", "principal": map[string]any{"sub": "x", "roles": []any{"issuer"}}}}).Decode(t, &ex)
	if ex.ExplainDecision.Allowed || !strings.Contains(strings.Join(ex.ExplainDecision.Explanation, "\n"), "role digital_office required") {
		t.Fatalf("explain %+v", ex.ExplainDecision)
	}
	if r := a.Do(admin, `{ explainDecision(query: "http.send({})", input: {}) { allowed } }`, nil); r.Code() != "INVALID_INPUT" {
		t.Fatalf("explain of an arbitrary query: %+v", r.Errors)
	}

	// Roll back on the second instance; the first follows.
	var rb struct{ RollbackPolicy struct{ Version int } }
	b.Do(admin, `mutation { rollbackPolicy(version: 1) { version active } }`, nil).Decode(t, &rb)
	if rb.RollbackPolicy.Version != 1 || caseCerts(b).Code() != "" {
		t.Fatalf("rollback: %+v", rb)
	}
	deadline = time.Now().Add(5 * time.Second)
	for caseCerts(a).Code() != "" {
		if time.Now().After(deadline) {
			t.Fatal("the first instance did not follow the rollback within 5 seconds")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var list struct {
		Policies []struct {
			Version int
			Active  bool
			Modules []struct{ Path string }
		}
	}
	a.Do(admin, `{ policies { version active modules { path } } }`, nil).Decode(t, &list)
	if len(list.Policies) != 2 || !list.Policies[0].Active || list.Policies[1].Active || len(list.Policies[1].Modules) == 0 {
		t.Fatalf("policies %+v", list.Policies)
	}
	if r := a.Do(admin, `mutation { rollbackPolicy(version: 99) { version } }`, nil); r.Code() != "NOT_FOUND" {
		t.Fatalf("rollback to a missing version: %+v", r.Errors)
	}
}
