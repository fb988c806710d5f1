package app_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

func TestAnnotatedCopy(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.Now = clock }))
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	c := openCase(t, s, staff, "AC-1", "91350100MA0000001P", "350100-SP-0001")
	var got struct {
		Case struct{ Certificates []struct{ ID string } }
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID}).Decode(t, &got)
	lic := got.Case.Certificates[0].ID
	var ac struct {
		Case struct{ AnnotatedCopy string }
	}
	s.Do(staff, `query($id: ID!, $c: ID!) { case(id: $id) { annotatedCopy(certificateId: $c) } }`, map[string]any{"id": c.ID, "c": lic}).Decode(t, &ac)
	copyDoc := ac.Case.AnnotatedCopy
	if !strings.Contains(copyDoc, "certd-annotated/1") || !strings.Contains(copyDoc, "AC-1") || strings.Contains(copyDoc, "legalRepresentativeId") {
		t.Fatalf("annotated copy: %s", copyDoc)
	}
	if v := verifyDoc(t, s, copyDoc); !v.Citable || !v.SealValid || v.ID != lic {
		t.Fatalf("verify the fresh copy: %+v", v)
	}
	if v := verifyDoc(t, s, strings.Replace(copyDoc, "AC-1", "AC-2", 1)); v.SealValid || v.Citable {
		t.Fatalf("an edited copy verified: %+v", v)
	}
	// Another licence, or one the case does not show: refused.
	if r := s.Do(staff, `query($id: ID!, $c: ID!) { case(id: $id) { annotatedCopy(certificateId: $c) } }`,
		map[string]any{"id": c.ID, "c": "1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y"}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a copy of a licence outside the case: %+v", r.Errors)
	}
	// The copy is audited like a read.
	office := s.Token("o", demo.DigitalOffice, identity.RoleDigitalOffice)
	found := false
	for _, r := range accessRecords(t, s, office, map[string]any{"certificateId": lic}) {
		for _, f := range r.Fields {
			if f == "annotatedCopy" && r.Subject == "s1" {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("the annotated copy was not recorded in the access log")
	}
	// After its expiry verifyDocument says so.
	mu.Lock()
	now = now.Add(8 * 24 * time.Hour)
	mu.Unlock()
	v := verifyDoc(t, s, copyDoc)
	if v.Citable || !strings.Contains(strings.Join(v.Reasons, ";"), "expired") {
		t.Fatalf("an expired copy: %+v", v)
	}
}
