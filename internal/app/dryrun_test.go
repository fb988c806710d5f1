package app_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
)

const testPolicyQ = `query($m: [PolicyModuleInput!]!) { testPolicy(modules: $m) { passed compileErrors results { name package passed detail durationMs } } }`

type policyTestReport struct {
	Passed        bool
	CompileErrors []string
	Results       []struct {
		Name, Package string
		Passed        bool
		Detail        *string
		DurationMs    float64
	}
}

func runPolicyTests(t *testing.T, s *testkit.Server, tok string, mods []any) policyTestReport {
	t.Helper()
	var out struct{ TestPolicy policyTestReport }
	s.Do(tok, testPolicyQ, map[string]any{"m": mods}).Decode(t, &out)
	return out.TestPolicy
}

// TestPolicyDryRun runs a bundle's tests without publishing it: the
// report lists every test, says why publishPolicy would refuse a bundle,
// and nothing is stored.
func TestPolicyDryRun(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	admin := s.Token("pa", demo.DigitalOffice, identity.RolePolicyAdmin)
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)

	ok := runPolicyTests(t, s, admin, bundle(t, "", "", ""))
	if !ok.Passed || len(ok.CompileErrors) != 0 || len(ok.Results) < 20 {
		t.Fatalf("the embedded bundle: passed %v, problems %v, %d results", ok.Passed, ok.CompileErrors, len(ok.Results))
	}
	packages := map[string]bool{}
	for _, r := range ok.Results {
		if !r.Passed || r.Detail != nil || !strings.HasPrefix(r.Name, "test_") || r.DurationMs < 0 {
			t.Fatalf("result %+v", r)
		}
		packages[r.Package] = true
	}
	if !packages["certd.authz_test"] || !packages["certd.filters_test"] {
		t.Errorf("results name their packages: %v", packages)
	}

	failing := runPolicyTests(t, s, admin, bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := 0"))
	var failed []string
	for _, r := range failing.Results {
		if !r.Passed {
			failed = append(failed, r.Package+"."+r.Name)
			if r.Detail == nil || *r.Detail == "" {
				t.Errorf("a failed test says why: %+v", r)
			}
		}
	}
	if failing.Passed || len(failed) == 0 || len(failing.Results) != len(ok.Results) {
		t.Fatalf("a failing test: passed %v, failed %v of %d", failing.Passed, failed, len(failing.Results))
	}
	if len(failing.CompileErrors) != 1 || !strings.Contains(failing.CompileErrors[0], "policy tests failed") {
		t.Errorf("the reason publish would give: %v", failing.CompileErrors)
	}

	broken := runPolicyTests(t, s, admin, bundle(t, "cases.rego", "max_certificates := 100", "max_certificates := := 100"))
	if broken.Passed || len(broken.Results) != 0 || len(broken.CompileErrors) < 2 ||
		!strings.Contains(strings.Join(broken.CompileErrors, "\n"), "cases.rego") {
		t.Fatalf("a syntax error: %+v", broken)
	}

	if r := s.Do(staff, testPolicyQ, map[string]any{"m": bundle(t, "", "", "")}); r.Code() != "FORBIDDEN" {
		t.Errorf("staff running policy tests: %+v", r.Errors)
	}
	if r := s.Do(admin, testPolicyQ, map[string]any{"m": []any{}}); r.Code() != "INVALID_INPUT" {
		t.Errorf("no modules: %+v", r.Errors)
	}
	// Aliases cannot multiply dry runs: each costs 500 of the 2000 a
	// request may spend.
	aliased := func(n int) string {
		q := "query($m: [PolicyModuleInput!]!) {"
		for i := range n {
			q += fmt.Sprintf(" t%d: testPolicy(modules: $m) { passed }", i)
		}
		return q + " }"
	}
	if r := s.Do(admin, aliased(4), map[string]any{"m": bundle(t, "", "", "")}); r.Code() != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Errorf("4 aliased dry runs: %+v", r.Errors)
	}
	var two map[string]struct{ Passed bool }
	s.Do(admin, aliased(2), map[string]any{"m": bundle(t, "", "", "")}).Decode(t, &two)
	if len(two) != 2 || !two["t0"].Passed || !two["t1"].Passed {
		t.Errorf("2 aliased dry runs: %+v", two)
	}

	var listed struct{ Policies []struct{ Version int } }
	s.Do(admin, `{ policies { version } }`, nil).Decode(t, &listed)
	if len(listed.Policies) != 1 || activeVersion(t, s, admin) != 1 {
		t.Errorf("dry runs stored something: %+v", listed.Policies)
	}
}

// TestAuditStatus verifies the running server's log on request: intact
// after ordinary use, broken after a record is edited behind the server's
// back, and open only to those who may read the access log.
func TestAuditStatus(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).UnixNano())
	clock := testkit.WithConfig(func(c *app.Config) { c.Now = func() time.Time { return time.Unix(0, now.Load()) } })
	s := testkit.Start(t, testkit.WithDemo(), clock)
	super := s.Token("sv", demo.DigitalOffice, identity.RoleSupervisor)
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	const q = `{ auditStatus { intact checkedAt chains records checkpoints unsignedTail problems } }`
	type status struct {
		Intact                                     bool
		CheckedAt                                  time.Time
		Chains, Records, Checkpoints, UnsignedTail int
		Problems                                   []string
	}
	read := func() status {
		var out struct{ AuditStatus status }
		s.Do(super, q, nil).Decode(t, &out)
		return out.AuditStatus
	}

	c := openCase(t, s, staff, "ST-1", "91350100MA0000001P", "350100-SP-0001")
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id data } } }`, map[string]any{"id": c.ID}).Decode(t, &struct{}{})
	first := read()
	if !first.Intact || first.Records == 0 || first.Chains == 0 || len(first.Problems) != 0 || !first.CheckedAt.Equal(time.Unix(0, now.Load()).UTC()) {
		t.Fatalf("after ordinary use: %+v", first)
	}
	if r := s.Do(staff, q, nil); r.Code() != "FORBIDDEN" {
		t.Errorf("staff reading the audit status: %+v", r.Errors)
	}

	// Edit one stored record behind the server's back.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "certd-audit.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TRIGGER audit_records_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_records SET subject = 'someone-else' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	if cached := read(); !cached.Intact || !cached.CheckedAt.Equal(first.CheckedAt) {
		t.Fatalf("within a minute the last result is given: %+v", cached)
	}
	now.Add(int64(2 * time.Minute))
	after := read()
	if after.Intact || len(after.Problems) == 0 || !strings.Contains(strings.Join(after.Problems, "\n"), ".1") {
		t.Fatalf("after an edit: %+v", after)
	}
}

// TestAuditStatusOnMongo verifies the log of a MongoDB store from the
// server, under the request's context.
func TestAuditStatusOnMongo(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithMongo(ferrettest.Start(t)))
	super := s.Token("sv", demo.DigitalOffice, identity.RoleSupervisor)
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	openCase(t, s, staff, "ST-M1", "91350100MA0000001P", "350100-SP-0001")
	var out struct {
		AuditStatus struct {
			Intact          bool
			Chains, Records int
		}
	}
	s.Do(super, `{ auditStatus { intact chains records } }`, nil).Decode(t, &out)
	if !out.AuditStatus.Intact || out.AuditStatus.Chains != 1 || out.AuditStatus.Records == 0 {
		t.Fatalf("auditStatus on MongoDB: %+v", out.AuditStatus)
	}
}
