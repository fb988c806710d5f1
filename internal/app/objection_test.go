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

type objectionOut struct {
	ID                     string
	State                  string
	Resolution             *string
	Overdue                bool
	CorrectedCertificateID *string
	FiledRole              string
	Fields                 []string
}

const fileQ = `mutation($c: ID!, $case: ID) { fileObjection(certificateId: $c, fields: ["premises"], description: "经营场所地址有误，应为示例路2号", caseId: $case) { id state overdue filedRole fields } }`

func TestObjections(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.Now = clock }))
	owner := s.TokenFor(identity.TokenRequest{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})
	stranger := s.TokenFor(identity.TokenRequest{Subject: "p", Roles: []string{identity.RoleHolder}, Holder: "350102198001010011", AMR: []string{"pwd"}, TTL: time.Hour})
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	health := s.TokenFor(identity.TokenRequest{Subject: "h", Org: demo.HealthBureau, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)

	var mine struct {
		Me struct {
			Certificates []struct {
				ID   string
				Type struct{ Code string }
				Data map[string]any
			}
		}
	}
	s.Do(owner, `{ me { certificates { id type { code } data } } }`, nil).Decode(t, &mine)
	var food string
	var foodData map[string]any
	for _, c := range mine.Me.Certificates {
		if c.Type.Code == demo.FoodLicence {
			food, foodData = c.ID, c.Data
		}
	}

	// The holder files on their own licence; another holder cannot.
	var filed struct{ FileObjection objectionOut }
	s.Do(owner, fileQ, map[string]any{"c": food}).Decode(t, &filed)
	o := filed.FileObjection
	if o.State != "OPEN" || o.FiledRole != "holder" || o.Overdue || len(o.Fields) != 1 {
		t.Fatalf("filed %+v", o)
	}
	if r := s.Do(stranger, fileQ, map[string]any{"c": food}); r.Code() != "FORBIDDEN" {
		t.Fatalf("another holder's objection: %+v", r.Errors)
	}
	// Staff file through an open case that shows the licence.
	c := openCase(t, s, staff, "OB-1", "91350100MA0000001P", "350100-SP-0002")
	var byStaff struct{ FileObjection objectionOut }
	s.Do(staff, fileQ, map[string]any{"c": food, "case": c.ID}).Decode(t, &byStaff)
	if byStaff.FileObjection.FiledRole != "staff" {
		t.Fatalf("staff objection %+v", byStaff.FileObjection)
	}
	if r := s.Do(staff, fileQ, map[string]any{"c": food}); r.Code() == "" {
		t.Fatal("staff filed without a case")
	}

	// The issuing unit sees them; another unit does not.
	var list struct{ Objections []objectionOut }
	s.Do(clerk, `{ objections(state: OPEN) { id state overdue } }`, nil).Decode(t, &list)
	if len(list.Objections) != 2 {
		t.Fatalf("issuer's open objections: %+v", list.Objections)
	}
	s.Do(health, `{ objections { id } }`, nil).Decode(t, &list)
	if len(list.Objections) != 0 {
		t.Fatalf("another issuer sees %d objections", len(list.Objections))
	}

	// Past the deadline (5 working days) they are overdue.
	mu.Lock()
	now = now.Add(8 * 24 * time.Hour)
	mu.Unlock()
	var overdue struct{ OverdueObjections []objectionOut }
	s.Do(clerk, `{ overdueObjections { id overdue } }`, nil).Decode(t, &overdue)
	if len(overdue.OverdueObjections) != 2 || !overdue.OverdueObjections[0].Overdue {
		t.Fatalf("overdue %+v", overdue.OverdueObjections)
	}

	// Corrected: a new version in the same operation.
	corrected := map[string]any{}
	for k, v := range foodData {
		corrected[k] = v
	}
	corrected["premises"] = "福州市鼓楼区示例路2号"
	var res struct{ ResolveObjection objectionOut }
	s.Do(clerk, `mutation($id: ID!, $d: JSON) { resolveObjection(id: $id, outcome: CORRECTED, note: "已核实并更正", correctedData: $d) { id state resolution correctedCertificateId } }`,
		map[string]any{"id": o.ID, "d": corrected}).Decode(t, &res)
	if res.ResolveObjection.State != "CORRECTED" || res.ResolveObjection.CorrectedCertificateID == nil {
		t.Fatalf("resolved %+v", res.ResolveObjection)
	}
	if v := verify(t, s, food); v.Citable || *v.State != "SUPERSEDED" {
		t.Fatalf("the corrected licence's old version: %+v", v)
	}
	if v := verify(t, s, *res.ResolveObjection.CorrectedCertificateID); !v.Citable {
		t.Fatalf("the corrected version: %+v", v)
	}
	if r := s.Do(clerk, `mutation($id: ID!) { resolveObjection(id: $id, outcome: REJECTED, note: "x") { id } }`, map[string]any{"id": o.ID}); r.Code() != "CONFLICT" {
		t.Fatalf("resolving twice: %+v", r.Errors)
	}
	// Rejected, with a note; only the issuer resolves.
	if r := s.Do(health, `mutation($id: ID!) { resolveObjection(id: $id, outcome: REJECTED, note: "不属实") { id } }`, map[string]any{"id": byStaff.FileObjection.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("another issuer resolving: %+v", r.Errors)
	}
	s.Do(clerk, `mutation($id: ID!) { resolveObjection(id: $id, outcome: REJECTED, note: "经核实信息无误") { id state resolution } }`, map[string]any{"id": byStaff.FileObjection.ID}).Decode(t, &res)
	if res.ResolveObjection.State != "REJECTED" || *res.ResolveObjection.Resolution != "经核实信息无误" {
		t.Fatalf("rejected %+v", res.ResolveObjection)
	}
	// The holder sees the objections to their licences, whoever filed them.
	var me struct {
		Me struct{ Objections []objectionOut }
	}
	s.Do(owner, `{ me { objections { id state } } }`, nil).Decode(t, &me)
	if len(me.Me.Objections) != 2 {
		t.Fatalf("holder's objections %+v", me.Me.Objections)
	}
}
