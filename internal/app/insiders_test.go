package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// The insider tests try, from the outside with ordinary tokens, the
// smaller ways around minimal disclosure and supervision: reading the
// issuer's notes through a case, making a late licence look on time, and
// replaying idempotency keys past the per-request cap.

func TestInsiders(t *testing.T) {
	t.Parallel()
	onBothStores(t, runInsiders)
}

func runInsiders(t *testing.T, s *testkit.Server) {
	strong := func(sub, org string, roles ...string) string {
		return s.TokenFor(identity.TokenRequest{Subject: sub, Org: org, Roles: roles, AMR: []string{"pwd", "cert"}, TTL: time.Hour})
	}
	clerk := strong("in-clerk", demo.MarketRegistry, identity.RoleIssuer)
	t.Run("staff do not read the issuer's notes", func(t *testing.T) { recordNotes(t, s, clerk) })
	t.Run("timeliness is the server's", func(t *testing.T) { timeliness(t, s, clerk) })
	t.Run("replays count against the cap", func(t *testing.T) { replays(t, s, clerk) })
}

type notes struct {
	History     []struct{ Action, By, Reason string }
	Inspections []struct {
		Passed   bool
		Note, By string
	}
}

const notesSel = `history { action by reason } inspections { passed note by }`

func recordNotes(t *testing.T, s *testkit.Server, clerk string) {
	const holder = "350102198503150022" // 示例个人乙
	c := issue(t, s, clerk, issueVars(demo.FoodLicence, holder, "示例个人乙", "PERSON",
		map[string]any{"operatorName": "示例个人乙", "premises": "某路3号", "mainForm": "餐饮", "scope": "热食"}))
	for _, a := range []struct{ action, reason string }{{"SUSPEND", "内部：群众举报，举报人王某"}, {"RESUME", "复核无误"}} {
		s.Do(clerk, `mutation($id: ID!, $a: StateAction!, $r: String!) { setCertificateState(id: $id, action: $a, reason: $r) { state } }`,
			map[string]any{"id": c.ID, "a": a.action, "r": a.reason}).Decode(t, &struct{}{})
	}
	s.Do(clerk, `mutation($id: ID!) { recordInspection(id: $id, passed: true, note: "检查员备注：后厨需整改") { id } }`,
		map[string]any{"id": c.ID}).Decode(t, &struct{}{})

	// Holder and issuer read every note.
	owner := s.TokenFor(identity.TokenRequest{Subject: "in-owner", Roles: []string{identity.RoleHolder}, Holder: holder, AMR: []string{"pwd"}, TTL: time.Hour})
	for who, tok := range map[string]string{"holder": owner, "issuer": clerk} {
		var out struct{ Certificate notes }
		s.Do(tok, `query($id: ID!) { certificate(id: $id) { `+notesSel+` } }`, map[string]any{"id": c.ID}).Decode(t, &out)
		h, in := out.Certificate.History, out.Certificate.Inspections
		if len(h) != 3 || h[1].Reason != "内部：群众举报，举报人王某" || h[1].By != "in-clerk" || len(in) != 1 || in[0].Note != "检查员备注：后厨需整改" || in[0].By != "in-clerk" {
			t.Errorf("the %s reads %+v", who, out.Certificate)
		}
	}

	// Staff reading through a case see the actions and results, not who
	// or why.
	staff := s.TokenFor(identity.TokenRequest{Subject: "in-staff", Org: demo.ServiceCentre, Roles: []string{identity.RoleStaff}, AMR: []string{"pwd"}, TTL: time.Hour})
	opened := openCase(t, s, staff, "IN-NOTES-1", holder, "350100-SP-0002")
	var got struct {
		Case struct {
			Certificates []struct {
				ID string
				notes
			}
		}
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id `+notesSel+` } } }`, map[string]any{"id": opened.ID}).Decode(t, &got)
	i := slices.IndexFunc(got.Case.Certificates, func(x struct {
		ID string
		notes
	}) bool {
		return x.ID == c.ID
	})
	if i < 0 {
		t.Fatalf("the case does not show %s: %+v", c.ID, got)
	}
	seen := got.Case.Certificates[i].notes
	if len(seen.History) != 3 || seen.History[1].Action != "SUSPEND" || len(seen.Inspections) != 1 || !seen.Inspections[0].Passed {
		t.Fatalf("staff lost the actions and results: %+v", seen)
	}
	for _, h := range seen.History {
		if h.Reason != "" || h.By != "" {
			t.Errorf("staff read a history entry's reason or author: %+v", h)
		}
	}
	if in := seen.Inspections[0]; in.Note != "" || in.By != "" {
		t.Errorf("staff read an inspection's note or inspector: %+v", in)
	}

	// The access log says what reached staff: the actions, not the notes.
	office := s.Token("in-office", demo.DigitalOffice, identity.RoleDigitalOffice)
	var fields []string
	for _, r := range accessRecords(t, s, office, map[string]any{"certificateId": c.ID}) {
		if r.CaseID != nil && *r.CaseID == opened.ID {
			fields = append(fields, r.Fields...)
		}
	}
	if !slices.Contains(fields, "history.action") || !slices.Contains(fields, "inspections.passed") {
		t.Errorf("staff's read is not recorded: %v", fields)
	}
	for _, f := range []string{"history.reason", "history.by", "inspections.note", "inspections.by"} {
		if slices.Contains(fields, f) {
			t.Errorf("the log says staff read %s, which reached them blank: %v", f, fields)
		}
	}
}

func timeliness(t *testing.T, s *testkit.Server, clerk string) {
	food := map[string]any{"operatorName": "示例个人甲", "premises": "某路4号", "mainForm": "餐饮", "scope": "热食"}
	in := func(kv ...any) map[string]any {
		v := issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", food)
		for i := 0; i < len(kv); i += 2 {
			v["in"].(map[string]any)[kv[i].(string)] = kv[i+1]
		}
		return v
	}
	supervisor := s.Token("in-super", demo.DigitalOffice, identity.RoleSupervisor)
	lateCount := func() (issued, late int) {
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
		var rep struct {
			SupervisionReport struct {
				Units []struct {
					Unit               struct{ Code string }
					Issued, IssuedLate int
				}
			}
		}
		s.Do(supervisor, `query($d: Date!) { supervisionReport(from: $d, to: $d) { units { unit { code } issued issuedLate } } }`,
			map[string]any{"d": today}).Decode(t, &rep)
		for _, u := range rep.SupervisionReport.Units {
			if u.Unit.Code == demo.MarketRegistry {
				return u.Issued, u.IssuedLate
			}
		}
		t.Fatal("the market bureau is not in the report")
		return 0, 0
	}
	issued0, late0 := lateCount()

	threeDaysAgo := time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339)
	if c := issue(t, s, clerk, in("mode", "OFFLINE", "businessCompletedAt", threeDaysAgo)); !c.Timeliness.Late {
		t.Fatalf("offline three days after completion: %+v", c.Timeliness)
	}
	// The same late issuance declared STOCK by an ordinary issuer token:
	// refused, nothing stored.
	r := s.Do(clerk, issueQ, in("mode", "STOCK", "businessCompletedAt", threeDaysAgo))
	if r.Code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "importer") {
		t.Fatalf("an issuer declaring STOCK: %+v", r.Errors)
	}
	batch := []any{in("mode", "OFFLINE")["in"], in("mode", "STOCK", "businessCompletedAt", threeDaysAgo)["in"]}
	if r := s.Do(clerk, `mutation($in: [IssueInput!]!) { issueCertificates(inputs: $in) { created } }`, map[string]any{"in": batch}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a batch with one STOCK input from an ordinary issuer: %+v", r.Errors)
	}
	// Or with a completion time in the future.
	for _, when := range []string{time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), "2999-01-01T00:00:00Z"} {
		if r := s.Do(clerk, issueQ, in("mode", "ONLINE", "businessCompletedAt", when)); r.Code() != "INVALID_INPUT" || !strings.Contains(r.Errors[0].Message, "future") {
			t.Errorf("businessCompletedAt %s: %+v", when, r.Errors)
		}
	}
	if r := s.Do(clerk, issueQ, in("businessCompletedAt", "1900-01-01T00:00:00Z")); r.Code() != "INVALID_INPUT" {
		t.Errorf("businessCompletedAt 1900: %+v", r.Errors)
	}
	// A clock a few seconds fast is read as now.
	var out struct {
		IssueCertificate struct {
			IssuedAt   time.Time
			Timeliness struct {
				Late                bool
				BusinessCompletedAt time.Time
			}
		}
	}
	s.Do(clerk, `mutation($in: IssueInput!) { issueCertificate(input: $in) { issuedAt timeliness { late businessCompletedAt } } }`,
		in("mode", "ONLINE", "businessCompletedAt", time.Now().Add(30*time.Second).UTC().Format(time.RFC3339))).Decode(t, &out)
	if tl := out.IssueCertificate.Timeliness; tl.Late || tl.BusinessCompletedAt.After(out.IssueCertificate.IssuedAt) {
		t.Errorf("a completion 30 s ahead: %+v issued at %v", tl, out.IssueCertificate.IssuedAt)
	}

	issued1, late1 := lateCount()
	if issued1-issued0 != 2 || late1-late0 != 1 {
		t.Fatalf("the report counts %d issued, %d late; want 2 and 1 (the late one stays late)", issued1-issued0, late1-late0)
	}

	// The stock import declares STOCK: no deadline.
	importer := s.TokenFor(identity.TokenRequest{Subject: "in-import", Org: demo.MarketRegistry,
		Roles: []string{identity.RoleIssuer, identity.RoleImporter}, AMR: []string{"cert"}, TTL: time.Hour})
	if c := issue(t, s, importer, in("mode", "STOCK", "businessCompletedAt", "2015-06-01T00:00:00Z")); c.Timeliness.Late || c.Timeliness.Deadline != nil || c.Timeliness.Mode != "STOCK" {
		t.Fatalf("a stock licence of the import: %+v", c.Timeliness)
	}
}

func replays(t *testing.T, s *testkit.Server, clerk string) {
	var inputs []any
	for i := range 101 {
		inputs = append(inputs, map[string]any{"typeCode": demo.FoodLicence, "idempotencyKey": fmt.Sprint("in-replay-", i),
			"holder": map[string]any{"code": "91350100MA0000002T", "name": "福州示例建筑工程有限公司", "kind": "ORGANIZATION"},
			"data":   map[string]any{"operatorName": "福州示例建筑工程有限公司", "premises": fmt.Sprint("某路", i, "号"), "mainForm": "单位食堂", "scope": "热食"}})
	}
	const q = `mutation($in: [IssueInput!]!) { issueCertificates(inputs: $in) { created duplicates failed items { duplicate certificate { id } } } }`
	type result struct {
		IssueCertificates struct {
			Created, Duplicates, Failed int
			Items                       []struct {
				Duplicate   bool
				Certificate *struct{ ID string }
			}
		}
	}
	var first result
	s.Do(clerk, q, map[string]any{"in": inputs}).Decode(t, &first)
	if f := first.IssueCertificates; f.Created != 101 {
		t.Fatalf("the first batch: %+v", f)
	}
	var again result
	s.Do(clerk, q, map[string]any{"in": inputs}).Decode(t, &again)
	a := again.IssueCertificates
	carried := 0
	for i, it := range a.Items {
		if !it.Duplicate {
			t.Fatalf("item %d of the replay is not a duplicate", i)
		}
		if it.Certificate != nil {
			carried++
			if it.Certificate.ID != first.IssueCertificates.Items[i].Certificate.ID {
				t.Fatalf("item %d replays %s, issued as %s", i, it.Certificate.ID, first.IssueCertificates.Items[i].Certificate.ID)
			}
		}
	}
	if a.Created != 0 || a.Duplicates != 101 || carried != 100 {
		t.Fatalf("replaying 101 keys: created %d, duplicates %d, %d licences returned; want 0, 101 and the cap of 100", a.Created, a.Duplicates, carried)
	}
}
