package app_test

import (
	"sync"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

func TestSupervisionReport(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.Now = clock }))
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	owner := s.TokenFor(identity.TokenRequest{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})

	// A late offline licence of the market registry.
	late := issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", map[string]any{"operatorName": "某店", "premises": "某路", "mainForm": "餐饮", "scope": "热食"})
	late["in"].(map[string]any)["mode"] = "OFFLINE"
	late["in"].(map[string]any)["businessCompletedAt"] = now.Add(-72 * time.Hour).Format(time.RFC3339)
	issue(t, s, clerk, late)
	// The service centre reads two licences, is refused once, and takes paper
	// although a citable business licence exists.
	c := openCase(t, s, staff, "SV-1", "91350100MA0000001P", "350100-SP-0002")
	var got struct {
		Case struct{ Certificates []struct{ ID string } }
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID}).Decode(t, &got)
	s.Do(staff, `query($id: ID!) { certificate(id: $id) { id } }`, map[string]any{"id": got.Case.Certificates[0].ID})
	s.Do(staff, `mutation($c: ID!, $t: ID!) { recordPaperSubmission(caseId: $c, typeCode: $t, reason: "申请人坚持") { id } }`,
		map[string]any{"c": c.ID, "t": demo.BusinessLicence}).Decode(t, &struct{}{})
	// An objection to a market licence, overdue a week later.
	s.Do(owner, fileQ, map[string]any{"c": got.Case.Certificates[0].ID}).Decode(t, &struct{}{})
	mu.Lock()
	now = now.Add(8 * 24 * time.Hour)
	mu.Unlock()

	supervisor := s.Token("v", "", identity.RoleSupervisor)
	var rep struct {
		SupervisionReport struct {
			From, To string
			Units    []struct {
				Unit                                                     struct{ Code string }
				Issued, IssuedLate, Accesses, Denials                    int
				PaperDespiteAvailable, ObjectionsOpen, ObjectionsOverdue int
			}
		}
	}
	day := func(t time.Time) string { return t.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly) }
	vars := map[string]any{"from": day(now.Add(-10 * 24 * time.Hour)), "to": day(now)}
	s.Do(supervisor, `query($from: Date!, $to: Date!) { supervisionReport(from: $from, to: $to) { from to units { unit { code } issued issuedLate accesses denials paperDespiteAvailable objectionsOpen objectionsOverdue } } }`, vars).Decode(t, &rep)
	rows := map[string]int{}
	for i, u := range rep.SupervisionReport.Units {
		rows[u.Unit.Code] = i
	}
	m := rep.SupervisionReport.Units[rows[demo.MarketRegistry]]
	if m.Issued < 4 || m.IssuedLate != 1 || m.ObjectionsOpen != 1 || m.ObjectionsOverdue != 1 {
		t.Fatalf("market registry %+v", m)
	}
	sc := rep.SupervisionReport.Units[rows[demo.ServiceCentre]]
	if sc.Accesses != 2 || sc.Denials != 1 || sc.PaperDespiteAvailable != 1 {
		t.Fatalf("service centre %+v", sc)
	}
	if r := s.Do(staff, `query($from: Date!, $to: Date!) { supervisionReport(from: $from, to: $to) { from } }`, vars); r.Code() != "FORBIDDEN" {
		t.Fatalf("staff reading the report: %+v", r.Errors)
	}
	if r := s.Do(supervisor, `{ supervisionReport(from: "2026-05-01", to: "2026-04-01") { from } }`, nil); r.Code() != "INVALID_INPUT" {
		t.Fatalf("a reversed period: %+v", r.Errors)
	}
}
