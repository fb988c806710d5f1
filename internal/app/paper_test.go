package app_test

import (
	"testing"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

func TestPaperSubmissions(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	const q = `mutation($c: ID!, $t: ID!) { recordPaperSubmission(caseId: $c, typeCode: $t, reason: "申请人提交纸质营业执照") { id paperSubmissions { type { code } reason by despiteAvailable } } }`
	type out struct {
		RecordPaperSubmission struct {
			PaperSubmissions []struct {
				Type             struct{ Code string }
				By               string
				DespiteAvailable bool
			}
		}
	}
	// The restaurant has a citable business licence: paper despite availability.
	c := openCase(t, s, staff, "P-1", "91350100MA0000001P", "350100-SP-0001")
	var got out
	s.Do(staff, q, map[string]any{"c": c.ID, "t": demo.BusinessLicence}).Decode(t, &got)
	if ps := got.RecordPaperSubmission.PaperSubmissions; len(ps) != 1 || !ps[0].DespiteAvailable || ps[0].By != "s1" {
		t.Fatalf("paper despite a citable licence: %+v", ps)
	}
	// A person without one: legitimate paper.
	c2 := openCase(t, s, staff, "P-2", "350102198001010011", "350100-SP-0001")
	s.Do(staff, q, map[string]any{"c": c2.ID, "t": demo.BusinessLicence}).Decode(t, &got)
	if ps := got.RecordPaperSubmission.PaperSubmissions; len(ps) != 1 || ps[0].DespiteAvailable {
		t.Fatalf("paper without a citable licence: %+v", ps)
	}
	// A type the matter does not require; another unit's case; a closed case.
	if r := s.Do(staff, q, map[string]any{"c": c.ID, "t": demo.PhysicianLicence}); r.Code() != "INVALID_INPUT" {
		t.Fatalf("a type the matter does not need: %+v", r.Errors)
	}
	if r := s.Do(s.Token("s2", demo.HealthBureau, identity.RoleStaff), q, map[string]any{"c": c.ID, "t": demo.BusinessLicence}); r.Code() != "FORBIDDEN" {
		t.Fatalf("another unit's case: %+v", r.Errors)
	}
	s.Do(staff, `mutation($id: ID!) { closeCase(id: $id) { id } }`, map[string]any{"id": c2.ID}).Decode(t, &struct{}{})
	if r := s.Do(staff, q, map[string]any{"c": c2.ID, "t": demo.BusinessLicence}); r.Code() != "CONFLICT" {
		t.Fatalf("a closed case: %+v", r.Errors)
	}
}
