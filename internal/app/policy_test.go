package app_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/authz"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
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

// policyVersionOut is a PolicyVersion as these tests read it.
type policyVersionOut struct {
	Version      int
	Active       bool
	State        string
	Author       string
	ApprovedBy   *string
	ApprovedAt   *string
	BasedOn      *int
	RollbackOf   *int
	RejectedBy   *string
	RejectReason *string
	TestsPassed  int
}

const versionFields = `version active state author approvedBy approvedAt basedOn rollbackOf rejectedBy rejectReason testsPassed`

// propose publishes mods as tok and returns the proposal.
func propose(t *testing.T, s *testkit.Server, tok string, mods []any, msg string) policyVersionOut {
	t.Helper()
	var out struct{ PublishPolicy policyVersionOut }
	s.Do(tok, `mutation($m: [PolicyModuleInput!]!, $msg: String!) { publishPolicy(modules: $m, message: $msg) { `+versionFields+` } }`,
		map[string]any{"m": mods, "msg": msg}).Decode(t, &out)
	return out.PublishPolicy
}

const approveQ = `mutation($v: Int!) { approvePolicyVersion(version: $v) { ` + versionFields + ` } }`

// approve approves version as tok and returns it.
func approve(t *testing.T, s *testkit.Server, tok string, version int) policyVersionOut {
	t.Helper()
	var out struct{ ApprovePolicyVersion policyVersionOut }
	s.Do(tok, approveQ, map[string]any{"v": version}).Decode(t, &out)
	return out.ApprovePolicyVersion
}

func policyVersions(t *testing.T, s *testkit.Server, tok string) []policyVersionOut {
	t.Helper()
	var out struct{ Policies []policyVersionOut }
	s.Do(tok, `{ policies { `+versionFields+` } }`, nil).Decode(t, &out)
	return out.Policies
}

// eventually waits up to 5 seconds for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 seconds", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPolicyAdministrationOnSQLite(t *testing.T) {
	dir := t.TempDir()
	fast := testkit.WithConfig(func(c *app.Config) { c.DataDir, c.PolicyPoll = dir, 100*time.Millisecond })
	a := testkit.Start(t, testkit.WithDemo(), fast)
	a.RunBackground(t)
	b := testkit.Start(t, fast) // a second instance on the same store
	b.RunBackground(t)
	runPolicyAdministration(t, a, b)
}

func TestPolicyAdministrationOnMongo(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	dir, uri := t.TempDir(), ferrettest.Start(t)
	fast := testkit.WithConfig(func(c *app.Config) { c.DataDir, c.MongoURI, c.PolicyPoll = dir, uri, 100*time.Millisecond })
	a := testkit.Start(t, testkit.WithDemo(), fast)
	a.RunBackground(t)
	b := testkit.Start(t, fast)
	b.RunBackground(t)
	runPolicyAdministration(t, a, b)
}

// runPolicyAdministration drives two instances on one store, with two
// policy admins: pa proposes, pb approves, and the other way round.
func runPolicyAdministration(t *testing.T, a, b *testkit.Server) {
	admin := a.Token("pa", demo.DigitalOffice, identity.RolePolicyAdmin)
	adminB := a.Token("pb", demo.DigitalOffice, identity.RolePolicyAdmin)
	staff := a.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	if v := activeVersion(t, a, admin); v != 1 {
		t.Fatalf("the embedded default is version 1, got %d", v)
	}
	if vs := policyVersions(t, a, admin); len(vs) != 1 || vs[0].State != "ACTIVE" || ptrVal(vs[0].ApprovedBy) != "system" || vs[0].BasedOn != nil {
		t.Fatalf("the embedded default: %+v", vs)
	}

	// Refusals store nothing.
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
	if vs := policyVersions(t, a, admin); len(vs) != 1 {
		t.Fatalf("refused proposals were stored: %+v", vs)
	}

	// A case under the default policy sees both licences of the renewal matter.
	c := openCase(t, a, staff, "SP-1", "91350100MA0000001P", "350100-SP-0002")
	caseCerts := func(s *testkit.Server) *testkit.Response {
		return s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID})
	}
	if r := caseCerts(b); r.Code() != "" {
		t.Fatalf("before the proposal: %+v", r.Errors)
	}

	// pa proposes a stricter cap on instance a: nothing changes yet.
	p := propose(t, a, admin, bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 1"), "一次最多一份证照")
	if p.Version != 2 || p.Active || p.State != "PROPOSED" || p.Author != "pa" || p.ApprovedBy != nil || ptrVal(p.BasedOn) != 1 || p.TestsPassed == 0 {
		t.Fatalf("proposed %+v", p)
	}
	time.Sleep(300 * time.Millisecond) // three polls
	if r, r2 := caseCerts(a), caseCerts(b); r.Code() != "" || r2.Code() != "" {
		t.Fatalf("a proposal is enforced: %+v %+v", r.Errors, r2.Errors)
	}

	// pa cannot approve it, on either instance, nor can staff.
	for _, s := range []*testkit.Server{a, b} {
		r := s.Do(admin, approveQ, map[string]any{"v": 2})
		if r.Code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "another policy admin") {
			t.Fatalf("the author approves: %+v", r.Errors)
		}
	}
	if r := a.Do(staff, approveQ, map[string]any{"v": 2}); r.Code() != "FORBIDDEN" {
		t.Fatalf("staff approve: %+v", r.Errors)
	}
	if v := activeVersion(t, a, admin); v != 1 {
		t.Fatalf("refused approvals changed the active version to %d", v)
	}

	// pb approves it on instance b; instance a enforces it soon.
	got := approve(t, b, adminB, 2)
	if got.State != "ACTIVE" || !got.Active || ptrVal(got.ApprovedBy) != "pb" || got.ApprovedAt == nil || got.Author != "pa" {
		t.Fatalf("approved %+v", got)
	}
	if r := caseCerts(b); r.Code() != "FORBIDDEN" {
		t.Fatalf("the approving instance does not enforce the new cap: %+v", r.Errors)
	}
	eventually(t, "instance a enforces the approved policy", func() bool { return caseCerts(a).Code() == "FORBIDDEN" })
	if r := b.Do(adminB, approveQ, map[string]any{"v": 2}); r.Code() != "CONFLICT" {
		t.Fatalf("approving an active version: %+v", r.Errors)
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

	// pb proposes the rollback to version 1 on instance b; pb cannot
	// approve it, pa can; both instances follow.
	var rb struct{ RollbackPolicy policyVersionOut }
	b.Do(adminB, `mutation { rollbackPolicy(version: 1) { `+versionFields+` } }`, nil).Decode(t, &rb)
	if r := rb.RollbackPolicy; r.Version != 3 || r.State != "PROPOSED" || ptrVal(r.RollbackOf) != 1 || ptrVal(r.BasedOn) != 2 || r.Author != "pb" {
		t.Fatalf("rollback proposal: %+v", r)
	}
	if caseCerts(b).Code() != "FORBIDDEN" {
		t.Fatal("a rollback proposal is enforced")
	}
	if r := b.Do(adminB, approveQ, map[string]any{"v": 3}); r.Code() != "FORBIDDEN" {
		t.Fatalf("the rollback's proposer approves it: %+v", r.Errors)
	}
	if got := approve(t, a, admin, 3); got.State != "ACTIVE" || ptrVal(got.ApprovedBy) != "pa" {
		t.Fatalf("rollback approved: %+v", got)
	}
	if caseCerts(a).Code() != "" {
		t.Fatal("the approving instance does not enforce the rollback")
	}
	eventually(t, "instance b follows the rollback", func() bool { return caseCerts(b).Code() == "" })
	if r := a.Do(admin, `mutation { rollbackPolicy(version: 99) { version } }`, nil); r.Code() != "NOT_FOUND" {
		t.Fatalf("rollback to a missing version: %+v", r.Errors)
	}

	// Two proposals on top of version 3: once one is approved, the other
	// can no longer be (it would undo the first); it is rejected.
	x := propose(t, a, admin, bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 50"), "x")
	y := propose(t, b, adminB, bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 60"), "y")
	approve(t, a, admin, y.Version)
	r := b.Do(adminB, approveQ, map[string]any{"v": x.Version})
	if r.Code() != "CONFLICT" || !strings.Contains(r.Errors[0].Message, "propose it again") {
		t.Fatalf("approving a proposal based on a superseded version: %+v", r.Errors)
	}
	var rj struct{ RejectPolicyVersion policyVersionOut }
	b.Do(adminB, `mutation($v: Int!) { rejectPolicyVersion(version: $v, reason: "基于已被取代的版本") { `+versionFields+` } }`,
		map[string]any{"v": x.Version}).Decode(t, &rj)
	if g := rj.RejectPolicyVersion; g.State != "REJECTED" || ptrVal(g.RejectedBy) != "pb" || ptrVal(g.RejectReason) != "基于已被取代的版本" || g.ApprovedBy != nil {
		t.Fatalf("rejected: %+v", g)
	}
	if r := a.Do(admin, `mutation { rejectPolicyVersion(version: 1, reason: " ") { version } }`, nil); r.Code() != "INVALID_INPUT" {
		t.Fatalf("a rejection without a reason: %+v", r.Errors)
	}
	if r := a.Do(staff, `mutation { rejectPolicyVersion(version: 1, reason: "x") { version } }`, nil); r.Code() != "FORBIDDEN" {
		t.Fatalf("staff reject: %+v", r.Errors)
	}

	// Two admins approve one proposal at the same moment, on the two
	// instances: one approval wins, the other is CONFLICT.
	z := propose(t, a, admin, bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 70"), "z")
	adminC := a.Token("pc", demo.DigitalOffice, identity.RolePolicyAdmin)
	var wg sync.WaitGroup
	rs := make([]*testkit.Response, 2)
	for i, s := range []*testkit.Server{a, b} {
		tok := []string{adminB, adminC}[i]
		wg.Go(func() { rs[i] = s.Do(tok, approveQ, map[string]any{"v": z.Version}) })
	}
	wg.Wait()
	codes := []string{rs[0].Code(), rs[1].Code()}
	slices.Sort(codes)
	if !slices.Equal(codes, []string{"", "CONFLICT"}) {
		t.Fatalf("racing approvals: %+v / %+v", rs[0].Errors, rs[1].Errors)
	}

	// Every version with its state and approver.
	vs := policyVersions(t, b, admin)
	want := []struct{ state, by string }{{"SUPERSEDED", "system"}, {"SUPERSEDED", "pb"}, {"SUPERSEDED", "pa"}, {"REJECTED", ""}, {"SUPERSEDED", "pa"}, {"ACTIVE", ""}}
	if len(vs) != len(want) {
		t.Fatalf("%d versions: %+v", len(vs), vs)
	}
	for i, w := range want {
		if vs[i].State != w.state || w.by != "" && ptrVal(vs[i].ApprovedBy) != w.by {
			t.Errorf("version %d: %s by %v, want %s by %s", vs[i].Version, vs[i].State, ptrVal(vs[i].ApprovedBy), w.state, w.by)
		}
	}
	if a := vs[5]; a.Version != z.Version || (ptrVal(a.ApprovedBy) != "pb" && ptrVal(a.ApprovedBy) != "pc") {
		t.Errorf("the raced version: %+v", a)
	}
}

func ptrVal[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
