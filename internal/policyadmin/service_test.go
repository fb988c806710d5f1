package policyadmin_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/identity"
	"certd/internal/policyadmin"
	"certd/internal/store/sqlite"
	"certd/internal/testkit"
)

// roleAuthorizer allows policy admins and nobody else. It stands in for
// the policy engine's own policy.* rules (policy/cases.rego), which are
// tested with the policy; here it keeps these tests independent of
// whatever the bundles they publish say about policy administration.
// TestEngineAuthorizesPolicyAdmins runs the service with the real engine.
type roleAuthorizer struct{}

func (roleAuthorizer) Authorize(ctx context.Context, action string, _ map[string]any) error {
	p, err := identity.Require(ctx)
	if err != nil {
		return err
	}
	if !p.HasRole(identity.RolePolicyAdmin) {
		return apperr.Forbiddenf("%s is not allowed: role policy_admin required", action)
	}
	return nil
}

var (
	admin  = &identity.Principal{Subject: "pa1", Name: "策略管理员", Roles: []string{identity.RolePolicyAdmin}}
	admin2 = &identity.Principal{Subject: "pa2", Name: "复核管理员", Roles: []string{identity.RolePolicyAdmin}}
	office = &identity.Principal{Subject: "o1", Org: "11350100MB0000000B", Roles: []string{identity.RoleDigitalOffice}}
	issuer = &identity.Principal{Subject: "i1", Org: "11350100MB0000001X", Roles: []string{identity.RoleIssuer}}
)

func as(p *identity.Principal) context.Context {
	return identity.WithPrincipal(context.Background(), p)
}

// env is one certd instance: a store, a running engine and the service.
type env struct {
	store  *sqlite.Store
	engine *authz.Engine
	svc    *policyadmin.Service
	log    *testkit.SyncBuffer
}

// newEnv opens the SQLite store at path (a fresh one when path is ""),
// starts an engine on the embedded policy as version 0 and bootstraps.
func newEnv(t *testing.T, path string) *env {
	t.Helper()
	ctx := context.Background()
	if path == "" {
		path = filepath.Join(t.TempDir(), sqlite.FileName)
	}
	st, err := sqlite.OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := authz.NewEngine(ctx, defaults(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(buf, nil))
	svc := policyadmin.NewService(st, roleAuthorizer{}, e, log)
	if err := svc.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Version() != 1 {
		t.Fatalf("engine at version %d after bootstrap, want 1", e.Version())
	}
	return &env{store: st, engine: e, svc: svc, log: buf}
}

func defaults(t *testing.T) []authz.Module {
	t.Helper()
	mods, err := authz.DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

// edit returns the embedded bundle with old replaced by new in module
// path (which is added when missing).
func edit(t *testing.T, path, old, new string) []authz.Module {
	t.Helper()
	mods := defaults(t)
	for i, m := range mods {
		if m.Path == path {
			if !strings.Contains(m.Rego, old) {
				t.Fatalf("%s does not contain %q", path, old)
			}
			mods[i].Rego = strings.Replace(m.Rego, old, new, 1)
			return mods
		}
	}
	return append(mods, authz.Module{Path: path, Rego: new})
}

// withoutUnitUpdate is the embedded bundle with the digital office no
// longer allowed to update units, and a test saying so.
func withoutUnitUpdate(t *testing.T) []authz.Module {
	mods := edit(t, "authz.rego", `{"unit.register", "unit.update", "matter.register", "matter.update"}`,
		`{"unit.register", "matter.register", "matter.update"}`)
	for i, m := range mods {
		if m.Path == "authz_test.rego" {
			mods[i].Rego += "\n# 单位信息暂停修改\ntest_office_cannot_update_units if {\n\tnot authz.allow with input as {\"action\": \"unit.update\", \"principal\": office}\n}\n"
		}
	}
	return mods
}

func decide(t *testing.T, e *authz.Engine, p *identity.Principal, action string) bool {
	t.Helper()
	d, err := e.Decide(context.Background(), authz.Input{Action: action, Principal: p})
	if err != nil {
		t.Fatal(err)
	}
	return d.Allowed
}

// propose publishes mods as admin (pa1) and approves the proposal as
// admin2 (pa2).
func propose(t *testing.T, en *env, mods []authz.Module, msg string) policyadmin.Version {
	t.Helper()
	v, err := en.svc.Publish(as(admin), mods, msg, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func approve(t *testing.T, en *env, version int) policyadmin.Version {
	t.Helper()
	v, err := en.svc.Approve(as(admin2), version)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestProposeThenApprove(t *testing.T) {
	ctx := as(admin)
	en := newEnv(t, "")
	if !decide(t, en.engine, office, "unit.update") {
		t.Fatal("the embedded policy lets the office update units")
	}
	start := time.Now()
	v, err := en.svc.Publish(ctx, withoutUnitUpdate(t), "  暂停单位信息修改  ", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("propose took %v", time.Since(start))
	if v.Version != 2 || v.Author != "pa1" || v.Message != "暂停单位信息修改" || v.TestsPassed == 0 || v.PublishedAt.IsZero() ||
		v.State != policyadmin.Proposed || v.BasedOn != 1 || v.ApprovedBy != "" {
		t.Fatalf("proposed %+v", v)
	}
	// A proposal changes nothing that is enforced.
	if a, err := en.svc.Active(ctx); en.engine.Version() != 1 || err != nil || a.Version != 1 || !decide(t, en.engine, office, "unit.update") {
		t.Fatalf("after the proposal: engine at %d, active %d (%v)", en.engine.Version(), a.Version, err)
	}

	// Its author cannot approve it, whatever the policy says.
	_, err = en.svc.Approve(ctx, 2)
	if !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("the author approves: %v", err)
	}
	if _, msg, _ := apperr.CodeOf(err); !strings.Contains(msg, "proposed by you") || !strings.Contains(msg, "another policy admin") {
		t.Errorf("the refusal does not say why: %s", msg)
	}
	if en.engine.Version() != 1 {
		t.Fatal("a refused approval changed the engine")
	}

	got := approve(t, en, 2)
	if got.State != policyadmin.Active || got.ApprovedBy != "pa2" || got.ApprovedAt == nil || got.Author != "pa1" {
		t.Fatalf("approved %+v", got)
	}
	if en.engine.Version() != 2 {
		t.Fatalf("engine at version %d, want 2", en.engine.Version())
	}
	if decide(t, en.engine, office, "unit.update") {
		t.Fatal("version 2 still lets the office update units")
	}
	if !decide(t, en.engine, office, "unit.register") {
		t.Fatal("version 2 no longer lets the office register units")
	}
	active, err := en.svc.Active(ctx)
	if err != nil || active.Version != 2 || len(active.Modules) != len(v.Modules) {
		t.Fatalf("active %d, %v", active.Version, err)
	}
	vs, err := en.svc.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != 1 || vs[0].Author != "system" || vs[0].Message != "embedded default policy" ||
		vs[0].TestsPassed == 0 || vs[0].State != policyadmin.Superseded || vs[0].ApprovedBy != "system" ||
		vs[1].Version != 2 || vs[1].State != policyadmin.Active {
		t.Fatalf("versions %+v", vs)
	}
	if _, err := en.svc.Approve(as(admin2), 2); !apperr.CodeIs(err, apperr.Conflict) {
		t.Fatalf("approving twice: %v", err)
	}
	if _, err := en.svc.Approve(as(admin2), 99); !apperr.CodeIs(err, apperr.NotFound) {
		t.Fatalf("approving a missing version: %v", err)
	}
}

// allowAll is a policy that allows everything: the two-person rule must
// hold even under it.
type allowAll struct{}

func (allowAll) Authorize(ctx context.Context, _ string, _ map[string]any) error {
	_, err := identity.Require(ctx)
	return err
}

func TestOwnApprovalRefusedWhateverThePolicy(t *testing.T) {
	en := newEnv(t, "")
	svc := policyadmin.NewService(en.store, allowAll{}, en.engine, nil)
	v, err := svc.Publish(as(admin), withoutUnitUpdate(t), "mine", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(as(admin), v.Version); !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("own approval under a policy allowing everything: %v", err)
	}
	// The same subject with other roles is the same person.
	other := &identity.Principal{Subject: "pa1", Roles: []string{identity.RolePolicyAdmin, identity.RoleSupervisor}}
	if _, err := svc.Approve(as(other), v.Version); !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("own approval with more roles: %v", err)
	}
	if en.engine.Version() != 1 {
		t.Fatal("a refused approval changed the engine")
	}
	// A rollback's proposer cannot approve it, nor can the author of the
	// version it restores.
	if _, err := svc.Approve(as(admin2), v.Version); err != nil {
		t.Fatal(err)
	}
	third := &identity.Principal{Subject: "pa3", Roles: []string{identity.RolePolicyAdmin}}
	v3, err := svc.Publish(as(third), defaults(t), "pa3's change", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(as(admin), v3.Version); err != nil {
		t.Fatal(err)
	}
	rb, err := svc.Rollback(as(admin2), 2) // restores pa1's version 2
	if err != nil {
		t.Fatal(err)
	}
	if rb.RollbackOf != 2 || rb.BasedOn != 3 || rb.Author != "pa2" || rb.State != policyadmin.Proposed {
		t.Fatalf("rollback proposal %+v", rb)
	}
	for _, p := range []*identity.Principal{admin2, admin} {
		_, err := svc.Approve(as(p), rb.Version)
		if !apperr.CodeIs(err, apperr.Forbidden) {
			t.Fatalf("%s approves the rollback: %v", p.Subject, err)
		}
		t.Logf("%s: %v", p.Subject, err)
	}
	if got, err := svc.Approve(as(third), rb.Version); err != nil || got.State != policyadmin.Active || en.engine.Version() != rb.Version {
		t.Fatalf("pa3 approves the rollback: %+v, %v", got, err)
	}
}

func TestStaleProposal(t *testing.T) {
	en := newEnv(t, "")
	a := propose(t, en, withoutUnitUpdate(t), "a")
	b := propose(t, en, defaults(t), "b")
	if a.BasedOn != 1 || b.BasedOn != 1 {
		t.Fatalf("based on %d and %d, want 1", a.BasedOn, b.BasedOn)
	}
	approve(t, en, a.Version)
	_, err := en.svc.Approve(as(admin2), b.Version)
	if !apperr.CodeIs(err, apperr.Conflict) {
		t.Fatalf("approving a proposal based on a superseded version: %v", err)
	}
	if _, msg, _ := apperr.CodeOf(err); !strings.Contains(msg, "propose it again") {
		t.Errorf("the conflict does not say what to do: %s", msg)
	}
	if en.engine.Version() != a.Version {
		t.Fatal("the stale approval changed the engine")
	}
	// Edits made on version 1 are refused now that another is active.
	if _, err := en.svc.Publish(as(admin), defaults(t), "edited on 1", 1); !apperr.CodeIs(err, apperr.Conflict) {
		t.Fatalf("proposing edits based on a superseded version: %v", err)
	}
	if c, err := en.svc.Publish(as(admin), defaults(t), "edited on the active", a.Version); err != nil || c.BasedOn != a.Version {
		t.Fatalf("proposing edits based on the active version: %+v, %v", c, err)
	}
	// It stays a proposal until someone rejects it.
	got, err := en.svc.Reject(as(admin), b.Version, "  based on version 1; superseded  ")
	if err != nil || got.State != policyadmin.Rejected || got.RejectedBy != "pa1" || got.RejectReason != "based on version 1; superseded" || got.RejectedAt == nil {
		t.Fatalf("reject: %+v, %v", got, err)
	}
}

func TestReject(t *testing.T) {
	en := newEnv(t, "")
	v := propose(t, en, withoutUnitUpdate(t), "to be rejected")
	for _, r := range []string{"", "  ", strings.Repeat("长", 501), "\xff"} {
		if _, err := en.svc.Reject(as(admin2), v.Version, r); !apperr.CodeIs(err, apperr.InvalidInput) {
			t.Errorf("reason %q: %v", r, err)
		}
	}
	if _, err := en.svc.Reject(as(issuer), v.Version, "no"); !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("an issuer rejects: %v", err)
	}
	got, err := en.svc.Reject(as(admin2), v.Version, "放宽过多")
	if err != nil || got.State != policyadmin.Rejected || got.RejectedBy != "pa2" {
		t.Fatalf("reject: %+v, %v", got, err)
	}
	if _, err := en.svc.Approve(as(admin2), v.Version); !apperr.CodeIs(err, apperr.Conflict) {
		t.Fatalf("approving a rejected version: %v", err)
	}
	if _, err := en.svc.Reject(as(admin2), v.Version, "again"); !apperr.CodeIs(err, apperr.Conflict) {
		t.Fatalf("rejecting twice: %v", err)
	}
	if _, err := en.svc.Rollback(as(admin2), v.Version); !apperr.CodeIs(err, apperr.InvalidInput) {
		t.Fatalf("rolling back to a rejected version: %v", err)
	}
	if _, err := en.svc.Reject(as(admin2), 1, "no"); !apperr.CodeIs(err, apperr.Conflict) {
		t.Fatalf("rejecting the active version: %v", err)
	}
	// The author may withdraw their own proposal.
	w := propose(t, en, withoutUnitUpdate(t), "withdrawn")
	if got, err := en.svc.Reject(as(admin), w.Version, "withdrawn by its author"); err != nil || got.State != policyadmin.Rejected {
		t.Fatalf("withdraw: %+v, %v", got, err)
	}
	if en.engine.Version() != 1 {
		t.Fatal("rejections changed the engine")
	}
}

// TestApprovalReviewsAgain stores a proposal that no longer passes review
// (as if the tests had changed meanwhile): approving it is refused.
func TestApprovalReviewsAgain(t *testing.T) {
	en := newEnv(t, "")
	bad := edit(t, "cases.rego", "max_certificates := 100", "max_certificates := 0")
	err := en.store.InsertPolicy(context.Background(), policyadmin.Version{Version: 2, Modules: bad, Message: "m", Author: "pa1",
		PublishedAt: time.Now(), State: policyadmin.Proposed, BasedOn: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := en.svc.Approve(as(admin2), 2); !apperr.CodeIs(err, apperr.PolicyRejected) {
		t.Fatalf("approving a bundle that fails its tests: %v", err)
	}
	if v, _ := en.store.PolicyVersion(context.Background(), 2); v.State != policyadmin.Proposed || en.engine.Version() != 1 {
		t.Fatalf("after the refused approval: %s, engine %d", v.State, en.engine.Version())
	}
}

func TestPublishRejected(t *testing.T) {
	en := newEnv(t, "")
	ctx := as(admin)
	testOnly := []authz.Module{{Path: "x_test.rego", Rego: "package x_test\n\ntest_a if true\n"}}
	cases := []struct {
		name    string
		mods    []authz.Module
		timeout time.Duration
		want    string // in the message or a detail
	}{
		{"syntax error", edit(t, "authz.rego", "default allow := false", "default allow := false\n\nallow if {"), 0, "rego_parse_error"},
		{"unsafe variable", edit(t, "authz.rego", "default allow := false", "default allow := false\n\nallow if x > 1"), 0, "rego_unsafe_var_error"},
		{"failing test", edit(t, "authz_test.rego", "test_unknown_action_is_denied if {", "test_deliberately_wrong if {\n\tauthz.allow with input as {}\n}\n\ntest_unknown_action_is_denied if {"), 0,
			"certd.authz_test.test_deliberately_wrong"},
		{"no test modules", nonTests(defaults(t)), 0, "no tests"},
		{"test module without tests", append(nonTests(defaults(t)), authz.Module{Path: "empty_test.rego", Rego: "package certd.empty_test\n\nx := 1\n"}), 0, "no tests"},
		{"recursion", edit(t, "authz.rego", "default allow := false", "default allow := false\n\np if q\n\nq if p"), 0, "rego_recursion_error"},
		{"http.send", edit(t, "authz.rego", "default allow := false",
			"default allow := false\n\nallow if http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1:1/\"}).status_code == 200"), 0, "http.send"},
		{"no entrypoint", append(testOnly, authz.Module{Path: "x.rego", Rego: "package certd.other\n\nallow := true\n"}), 0, "data.certd.authz.allow"},
		{"entrypoint only in a test module", []authz.Module{{Path: "a_test.rego", Rego: "package certd.authz\n\nallow := true\n\ntest_a if allow\n"}}, 0, "data.certd.authz.allow"},
		{"runaway test", append(defaults(t), authz.Module{Path: "slow_test.rego", Rego: "package certd.slow_test\n\n" +
			"test_runaway if {\n\txs := numbers.range(1, 3000)\n\tevery a in xs {\n\t\tevery b in xs {\n\t\t\tevery c in xs { a + b + c > 0 }\n\t\t}\n\t}\n}\n"}),
			500 * time.Millisecond, "did not finish"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.timeout > 0 {
				policyadmin.SetTestTimeout(en.svc, c.timeout)
				defer policyadmin.SetTestTimeout(en.svc, 20*time.Second)
			}
			start := time.Now()
			_, err := en.svc.Publish(ctx, c.mods, "should be refused", 0)
			if !apperr.CodeIs(err, apperr.PolicyRejected) {
				t.Fatalf("want POLICY_REJECTED, got %v", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("refusal took %v", took)
			}
			_, msg, details := apperr.CodeOf(err)
			all := msg + "\n" + strings.Join(details, "\n")
			if !strings.Contains(all, c.want) {
				t.Fatalf("refusal does not mention %q: %s", c.want, all)
			}
			t.Logf("%s: %s", c.name, apperr.Truncate(all, 300))
			assertUnchanged(t, en)
		})
	}
	// A refusal of a compile error comes with the compiler's messages.
	_, err := en.svc.Publish(ctx, edit(t, "authz.rego", "default allow := false", "default allow := false\n\nallow if {"), "x", 0)
	if _, _, details := apperr.CodeOf(err); len(details) == 0 {
		t.Fatal("a syntax error is refused without details")
	}
}

func nonTests(mods []authz.Module) []authz.Module {
	var out []authz.Module
	for _, m := range mods {
		if !m.IsTest() {
			out = append(out, m)
		}
	}
	return out
}

// assertUnchanged checks that only version 1 is stored, active and
// running.
func assertUnchanged(t *testing.T, en *env) {
	t.Helper()
	ctx := context.Background()
	vs, err := en.store.PolicyVersions(ctx)
	if err != nil || len(vs) != 1 {
		t.Fatalf("%d versions stored (%v), want 1", len(vs), err)
	}
	if v, rev, err := en.store.ActivePolicy(ctx); err != nil || v != 1 || rev != 1 {
		t.Fatalf("active version %d rev %d (%v), want 1 rev 1", v, rev, err)
	}
	if en.engine.Version() != 1 {
		t.Fatalf("engine at version %d, want 1", en.engine.Version())
	}
}

func TestPublishInvalidInput(t *testing.T) {
	en := newEnv(t, "")
	ctx := as(admin)
	mods := defaults(t)
	with := func(extra ...authz.Module) []authz.Module { return append(defaults(t), extra...) }
	many := make([]authz.Module, 51)
	for i := range many {
		many[i] = authz.Module{Path: "m" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".rego", Rego: "package x"}
	}
	cases := []struct {
		name string
		mods []authz.Module
		msg  string
	}{
		{"no modules", nil, "m"},
		{"too many modules", many, "m"},
		{"traversal", with(authz.Module{Path: "../etc/x.rego", Rego: "package x"}), "m"},
		{"absolute", with(authz.Module{Path: "/etc/x.rego", Rego: "package x"}), "m"},
		{"hidden", with(authz.Module{Path: "a/.x.rego", Rego: "package x"}), "m"},
		{"backslash", with(authz.Module{Path: `a\..\x.rego`, Rego: "package x"}), "m"},
		{"empty segment", with(authz.Module{Path: "a//x.rego", Rego: "package x"}), "m"},
		{"not rego", with(authz.Module{Path: "x.txt", Rego: "package x"}), "m"},
		{"only suffix", with(authz.Module{Path: ".rego", Rego: "package x"}), "m"},
		{"duplicate path", with(mods[0]), "m"},
		{"too large", with(authz.Module{Path: "big.rego", Rego: "package big\n\n# " + strings.Repeat("x", 1<<20)}), "m"},
		{"invalid utf-8", with(authz.Module{Path: "bad.rego", Rego: "package bad\n# \xff"}), "m"},
		{"no message", mods, " \n\t "},
		{"long message", mods, strings.Repeat("长", 501)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := en.svc.Publish(ctx, c.mods, c.msg, 0); !apperr.CodeIs(err, apperr.InvalidInput) {
				t.Fatalf("want INVALID_INPUT, got %v", err)
			}
			assertUnchanged(t, en)
		})
	}
	// 500 characters of Chinese are fine.
	if _, err := en.svc.Publish(ctx, withoutUnitUpdate(t), strings.Repeat("长", 500), 0); err != nil {
		t.Fatal(err)
	}
}

func TestOnlyPolicyAdmins(t *testing.T) {
	en := newEnv(t, "")
	for _, c := range []struct {
		ctx  context.Context
		want apperr.Code
	}{{as(issuer), apperr.Forbidden}, {as(office), apperr.Forbidden}, {context.Background(), apperr.Unauthenticated}} {
		if _, err := en.svc.Publish(c.ctx, withoutUnitUpdate(t), "x", 0); !apperr.CodeIs(err, c.want) {
			t.Errorf("publish: %v, want %s", err, c.want)
		}
		if _, err := en.svc.Rollback(c.ctx, 1); !apperr.CodeIs(err, c.want) {
			t.Errorf("rollback: %v, want %s", err, c.want)
		}
		if _, err := en.svc.Approve(c.ctx, 1); !apperr.CodeIs(err, c.want) {
			t.Errorf("approve: %v, want %s", err, c.want)
		}
		if _, err := en.svc.Reject(c.ctx, 1, "no"); !apperr.CodeIs(err, c.want) {
			t.Errorf("reject: %v, want %s", err, c.want)
		}
		if _, err := en.svc.Versions(c.ctx); !apperr.CodeIs(err, c.want) {
			t.Errorf("versions: %v, want %s", err, c.want)
		}
		if _, err := en.svc.Active(c.ctx); !apperr.CodeIs(err, c.want) {
			t.Errorf("active: %v, want %s", err, c.want)
		}
		if _, err := en.svc.Explain(c.ctx, "data.certd.authz.allow", nil); !apperr.CodeIs(err, c.want) {
			t.Errorf("explain: %v, want %s", err, c.want)
		}
	}
	assertUnchanged(t, en)
}

// TestEngineAuthorizesPolicyAdmins runs the service with the engine
// itself as the authorizer, as certd does.
func TestEngineAuthorizesPolicyAdmins(t *testing.T) {
	en := newEnv(t, "")
	svc := policyadmin.NewService(en.store, en.engine, en.engine, nil)
	if _, err := svc.Versions(as(admin)); err != nil {
		t.Fatalf("policy admin: %v", err)
	}
	_, err := svc.Publish(as(issuer), withoutUnitUpdate(t), "x", 0)
	if !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("issuer publishes: %v", err)
	}
	if _, msg, _ := apperr.CodeOf(err); !strings.Contains(msg, "policy_admin") {
		t.Errorf("refusal without the policy's reason: %s", msg)
	}
	v, err := svc.Publish(as(admin), withoutUnitUpdate(t), "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	// The policy's own rule refuses the author too, with its reason.
	d, err := en.engine.Decide(context.Background(), authz.Input{Action: policyadmin.ActionApprove, Principal: admin,
		Resource: map[string]any{"version": v.Version, "author": admin.Subject, "restored_author": ""}})
	if err != nil || d.Allowed || !strings.Contains(strings.Join(d.Reasons, ";"), "own") {
		t.Fatalf("the policy on an author approving: %+v, %v", d, err)
	}
	if _, err := svc.Approve(as(issuer), v.Version); !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("an issuer approves: %v", err)
	}
	if got, err := svc.Approve(as(admin2), v.Version); err != nil || got.State != policyadmin.Active {
		t.Fatalf("a second admin approves: %+v, %v", got, err)
	}
}

func TestRollback(t *testing.T) {
	en := newEnv(t, "")
	ctx := as(admin)
	approve(t, en, propose(t, en, withoutUnitUpdate(t), "v2").Version)
	if _, err := en.svc.Rollback(ctx, 2); !apperr.CodeIs(err, apperr.Conflict) {
		t.Fatalf("rollback to the active version: %v", err)
	}
	v, err := en.svc.Rollback(ctx, 1)
	if err != nil || v.Version != 3 || v.RollbackOf != 1 || v.BasedOn != 2 || v.State != policyadmin.Proposed ||
		!equalModules(v.Modules, defaults(t)) || !strings.HasPrefix(v.Message, "rollback to version 1: ") {
		t.Fatalf("rollback: %+v, %v", v, err)
	}
	if _, err := en.svc.Rollback(ctx, 3); !apperr.CodeIs(err, apperr.InvalidInput) {
		t.Fatalf("rollback to a proposal: %v", err)
	}
	if en.engine.Version() != 2 {
		t.Fatalf("a rollback proposal changed the engine to %d", en.engine.Version())
	}
	approve(t, en, v.Version)
	if a, err := en.svc.Active(ctx); err != nil || a.Version != 3 {
		t.Fatalf("active %d, %v", a.Version, err)
	}
	if en.engine.Version() != 3 || !decide(t, en.engine, office, "unit.update") {
		t.Fatalf("engine at %d after rollback", en.engine.Version())
	}
	if _, err := en.svc.Rollback(ctx, 999); !apperr.CodeIs(err, apperr.NotFound) {
		t.Fatalf("rollback to 999: %v", err)
	}
	// Forward again to version 2's modules: version 4.
	fwd, err := en.svc.Rollback(ctx, 2)
	if err != nil || fwd.Version != 4 {
		t.Fatalf("rollback to 2: %+v, %v", fwd, err)
	}
	approve(t, en, fwd.Version)
	if en.engine.Version() != 4 || decide(t, en.engine, office, "unit.update") {
		t.Fatalf("engine at %d after the second rollback", en.engine.Version())
	}
}

// watch runs Watch in the background until the test ends.
func watch(t *testing.T, svc *policyadmin.Service, every time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Watch(ctx, every)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func TestWatchSharesPublishes(t *testing.T) {
	a := newEnv(t, "")
	b := newEnv(t, a.store.Path())
	watch(t, b.svc, 100*time.Millisecond)
	ctx := as(admin)

	approve(t, a, propose(t, a, withoutUnitUpdate(t), "on instance a").Version)
	took := waitFor(t, 2*time.Second, "instance b loads version 2", func() bool { return b.engine.Version() == 2 })
	t.Logf("instance b loaded version 2 after %v", took)
	if decide(t, b.engine, office, "unit.update") {
		t.Fatal("instance b runs version 2 but still allows unit.update")
	}
	rb, err := a.svc.Rollback(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if b.engine.Version() != 2 {
		t.Fatal("instance b loaded a rollback proposal")
	}
	approve(t, a, rb.Version)
	waitFor(t, 2*time.Second, "instance b rolls back", func() bool { return b.engine.Version() == rb.Version })
	if !strings.Contains(b.log.String(), "policy version loaded") {
		t.Errorf("no log of the load: %s", b.log.String())
	}
}

func TestWatchKeepsRunningVersionWhenActiveIsBroken(t *testing.T) {
	en := newEnv(t, "")
	ctx := context.Background()
	// A version that no longer loads (say, stored by an older certd whose
	// engine allowed a builtin this one refuses).
	broken := edit(t, "authz.rego", "default allow := false", "default allow := false\n\nallow if http.send({}).status_code == 200")
	if err := en.store.InsertPolicy(ctx, policyadmin.Version{Version: 2, Modules: broken, Message: "broken", Author: "x", PublishedAt: time.Now(), State: policyadmin.Proposed, BasedOn: 1}); err != nil {
		t.Fatal(err)
	}
	if err := en.store.ActivatePolicy(ctx, policyadmin.Verdict{Version: 2, By: "y", At: time.Now()}, 1); err != nil {
		t.Fatal(err)
	}
	watch(t, en.svc, 20*time.Millisecond)
	waitFor(t, 2*time.Second, "the watcher logs the broken version", func() bool {
		return strings.Contains(en.log.String(), "does not load")
	})
	time.Sleep(100 * time.Millisecond) // a few more rounds
	if en.engine.Version() != 1 {
		t.Fatalf("engine at %d, want the running version 1", en.engine.Version())
	}
	if n := strings.Count(en.log.String(), "does not load"); n != 1 {
		t.Errorf("the broken version was logged %d times, want once", n)
	}
	// Proposing a rollback to a broken version is refused too (from
	// version 3, so that 2 is not the active one).
	if err := en.store.InsertPolicy(ctx, policyadmin.Version{Version: 3, Modules: defaults(t), Message: "fix", Author: "x", PublishedAt: time.Now(), State: policyadmin.Proposed, BasedOn: 2}); err != nil {
		t.Fatal(err)
	}
	if err := en.store.ActivatePolicy(ctx, policyadmin.Verdict{Version: 3, By: "y", At: time.Now()}, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := en.svc.Rollback(as(admin), 2); !apperr.CodeIs(err, apperr.PolicyRejected) {
		t.Fatalf("rollback to a broken version: %v", err)
	}
}

func TestExplain(t *testing.T) {
	en := newEnv(t, "")
	ctx := as(admin)
	principal := func(p *identity.Principal) map[string]any {
		roles := make([]any, len(p.Roles))
		for i, r := range p.Roles {
			roles[i] = r
		}
		return map[string]any{"sub": p.Subject, "org": p.Org, "roles": roles}
	}
	denied := map[string]any{"action": "unit.register", "principal": principal(issuer)}
	d, err := en.svc.Explain(ctx, "data.certd.authz.allow", denied)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("denial:\n%s", strings.Join(d.Explanation, "\n"))
	if d.Allowed || d.Result != false || len(d.Explanation) < 2 || len(d.Explanation) > 40 {
		t.Fatalf("denied input: %+v", d)
	}
	text := strings.Join(d.Explanation, "\n")
	for _, want := range []string{"policy version 1", `"digital_office" in roles`, "reason: role digital_office required"} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q", want)
		}
	}

	d, err = en.svc.Explain(ctx, "data.certd.authz.allow", map[string]any{"action": "unit.register", "principal": principal(office)})
	if err != nil || !d.Allowed || d.Result != true || len(d.Explanation) == 0 {
		t.Fatalf("allowed input: %+v, %v", d, err)
	}
	t.Logf("allowed:\n%s", strings.Join(d.Explanation, "\n"))

	d, err = en.svc.Explain(ctx, "data.certd.authz.reasons", denied)
	if err != nil || d.Allowed {
		t.Fatalf("reasons: %+v, %v", d, err)
	}
	if rs, ok := d.Result.([]any); !ok || len(rs) != 1 || rs[0] != "role digital_office required" {
		t.Fatalf("reasons result %#v", d.Result)
	}
	d, err = en.svc.Explain(ctx, `data.certd.authz.required_role["unit.update"]`, nil)
	if err != nil || d.Result == nil {
		t.Fatalf("required_role: %+v, %v", d, err)
	}
	d, err = en.svc.Explain(ctx, "data.certd.authz.no_such_rule", denied)
	if err != nil || d.Result != nil || d.Allowed {
		t.Fatalf("undefined: %+v, %v", d, err)
	}

	for _, q := range []string{
		"http.send({})", "data.system", "data.system.main", "input.action", "data", "data.certd",
		"data.certd.authz.allow == true", "not data.certd.authz.allow", "data.certd.authz.allow with input as {}",
		"data.certd.authz.required_role[x]", "data.certd.authz.allow; data.certd.authz.reasons",
		"x := data.certd.authz.allow", "count(data.certd.authz.reasons)", "data.certd.authz[input.x]",
		"", "data.certd.authz.allow {", strings.Repeat("data.certd.a.", 40) + "b",
	} {
		if _, err := en.svc.Explain(ctx, q, nil); !apperr.CodeIs(err, apperr.InvalidInput) {
			t.Errorf("Explain(%q): %v, want INVALID_INPUT", q, err)
		}
	}

	// Explanations run in parallel on the cached compiled version.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if d, err := en.svc.Explain(ctx, "data.certd.authz.allow", denied); err != nil || d.Allowed {
				t.Errorf("parallel explain: %+v, %v", d, err)
			}
		})
	}
	wg.Wait()

	// Explain follows the active version, not a proposal.
	v2 := propose(t, en, withoutUnitUpdate(t), "v2")
	if d, err := en.svc.Explain(ctx, "data.certd.authz.allow", map[string]any{"action": "unit.update", "principal": principal(office)}); err != nil || !d.Allowed {
		t.Fatalf("after the proposal: %+v, %v", d, err)
	}
	approve(t, en, v2.Version)
	d, err = en.svc.Explain(ctx, "data.certd.authz.allow", map[string]any{"action": "unit.update", "principal": principal(office)})
	if err != nil || d.Allowed || !strings.Contains(d.Explanation[0], "policy version 2") {
		t.Fatalf("after publish: %+v, %v", d, err)
	}
}

func TestExplainEvaluationError(t *testing.T) {
	en := newEnv(t, "")
	ctx := as(admin)
	mods := edit(t, "authz.rego", "default allow := false", "default allow := false\n\nratio := 10 / input.n")
	approve(t, en, propose(t, en, mods, "ratio").Version)
	d, err := en.svc.Explain(ctx, "data.certd.authz.ratio", map[string]any{"n": 0})
	if err != nil || d.Allowed || d.Result != nil || !strings.Contains(d.Explanation[0], "evaluation error") {
		t.Fatalf("division by zero: %+v, %v", d, err)
	}
	t.Logf("error:\n%s", strings.Join(d.Explanation, "\n"))
	d, err = en.svc.Explain(ctx, "data.certd.authz.ratio", map[string]any{"n": 4})
	if err != nil || d.Result == nil {
		t.Fatalf("ratio: %+v, %v", d, err)
	}
}

// TestConcurrentPublishesAndApprovals proposes from three instances at
// once: each gets its own version number. Then the three are approved at
// once, each on another instance: one becomes active, the other two are
// CONFLICT (the active version moved) and stay proposals.
func TestConcurrentPublishesAndApprovals(t *testing.T) {
	a := newEnv(t, "")
	ens := []*env{a, newEnv(t, a.store.Path()), newEnv(t, a.store.Path())}
	var wg sync.WaitGroup
	got := make([]policyadmin.Version, len(ens))
	errs := make([]error, len(ens))
	for i, en := range ens {
		wg.Go(func() { got[i], errs[i] = en.svc.Publish(as(admin), withoutUnitUpdate(t), "concurrent", 0) })
	}
	wg.Wait()
	seen := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if seen[got[i].Version] || got[i].Version < 2 || got[i].State != policyadmin.Proposed {
			t.Fatalf("publish %d stored as %+v", i, got[i])
		}
		seen[got[i].Version] = true
	}
	for i, en := range ens {
		wg.Go(func() { _, errs[i] = en.svc.Approve(as(admin2), got[i].Version) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("versions %d and %d both approved from version 1", got[won].Version, got[i].Version)
			}
			won = i
		case !apperr.CodeIs(err, apperr.Conflict):
			t.Fatalf("approve %d: %v", got[i].Version, err)
		}
	}
	if won < 0 {
		t.Fatal("no approval succeeded")
	}
	v, _, err := a.store.ActivePolicy(context.Background())
	if err != nil || v != got[won].Version || ens[won].engine.Version() != v {
		t.Fatalf("active %d (%v), approved %d", v, err, got[won].Version)
	}
	for i := range ens {
		if i == won {
			continue
		}
		if s, _ := a.store.PolicyVersion(context.Background(), got[i].Version); s.State != policyadmin.Proposed {
			t.Errorf("the losing proposal %d is %s", got[i].Version, s.State)
		}
	}
}

func TestBootstrapOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	ctx := context.Background()
	// Instances starting together on one store.
	var wg sync.WaitGroup
	engines := make([]*authz.Engine, 4)
	errs := make([]error, 4)
	for i := range engines {
		st, err := sqlite.OpenFile(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if engines[i], err = authz.NewEngine(ctx, defaults(t), 0); err != nil {
			t.Fatal(err)
		}
		svc := policyadmin.NewService(st, roleAuthorizer{}, engines[i], nil)
		wg.Go(func() { errs[i] = svc.Bootstrap(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, e := range engines {
		if e.Version() != 1 {
			t.Errorf("instance %d runs version %d", i, e.Version())
		}
	}
	// And once more, later.
	en := newEnv(t, path)
	vs, err := en.store.PolicyVersions(ctx)
	if err != nil || len(vs) != 1 || vs[0].Author != "system" || vs[0].State != policyadmin.Active || vs[0].ApprovedBy != "system" {
		t.Fatalf("versions after bootstraps: %+v, %v", vs, err)
	}
	if !equalModules(vs[0].Modules, defaults(t)) {
		t.Fatal("version 1 is not the embedded policy")
	}
	if v, rev, err := en.store.ActivePolicy(ctx); err != nil || v != 1 || rev != 1 {
		t.Fatalf("pointer: version %d rev %d, %v", v, rev, err)
	}
}

func equalModules(a, b []authz.Module) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
