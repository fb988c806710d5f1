package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
)

// The audit log misses nothing and cannot be flooded (DESIGN §6), tried
// from the outside with real tokens on both stores.

func TestAuditLogIntegrityOnSQLite(t *testing.T) {
	t.Parallel()
	runAuditLogIntegrity(t, testkit.Start(t, testkit.WithDemo()))
}

func TestAuditLogIntegrityOnMongo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	runAuditLogIntegrity(t, testkit.Start(t, testkit.WithDemo(), testkit.WithMongo(ferrettest.Start(t))))
}

// fullRecord is every field of an access record as the log holds it.
type fullRecord struct {
	ID, Subject, Operation, Action, Kind, Decision, RequestID string
	Org, CaseID, MatterCode, HolderCode, CertificateID        *string
	IssuerCode, Reason, Client                                *string
	Fields, Roles                                             []string
	Count, PolicyVersion                                      int
}

// text is everything the record says, for searching it.
func (r fullRecord) text() string {
	return fmt.Sprintf("%+v %v %v %v %v %v %v %v %v", r, deref(r.Org), deref(r.CaseID), deref(r.MatterCode),
		deref(r.HolderCode), deref(r.CertificateID), deref(r.IssuerCode), deref(r.Reason), deref(r.Client))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

const fullRecordQ = `query($from: Time, $after: String) { accessRecords(filter: {from: $from}, first: 100, after: $after) {
	edges { node { id subject operation action kind decision requestId org caseId matterCode holderCode certificateId
		issuerCode reason client fields roles count policyVersion } }
	pageInfo { hasNextPage endCursor } } }`

// recordsSince lists every record stored at or after from, for a
// supervisor.
func recordsSince(t *testing.T, s *testkit.Server, super string, from time.Time) []fullRecord {
	t.Helper()
	var out []fullRecord
	vars := map[string]any{"from": from.UTC().Format(time.RFC3339Nano)}
	for {
		var page struct {
			AccessRecords struct {
				Edges    []struct{ Node fullRecord }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		s.Do(super, fullRecordQ, vars).Decode(t, &page)
		for _, e := range page.AccessRecords.Edges {
			out = append(out, e.Node)
		}
		if !page.AccessRecords.PageInfo.HasNextPage {
			return out
		}
		vars["after"] = page.AccessRecords.PageInfo.EndCursor
	}
}

func runAuditLogIntegrity(t *testing.T, s *testkit.Server) {
	super := s.Token("integrity-super", "", identity.RoleSupervisor)
	staff := s.Token("integrity-staff", demo.ServiceCentre, identity.RoleStaff)
	owner := s.TokenFor(identity.TokenRequest{Subject: "integrity-owner", Roles: []string{identity.RoleHolder},
		Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})
	flush := func(t *testing.T) {
		t.Helper()
		if err := s.App.AuditGate.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("an anonymous request writes at most one record", func(t *testing.T) {
		flush(t)
		from := time.Now()
		var q strings.Builder
		q.WriteString("{")
		for i := range 200 {
			fmt.Fprintf(&q, " a%d: accessRecords(first: 1) { edges { cursor } }", i)
		}
		q.WriteString(" }")
		anonymous := func() []fullRecord {
			var out []fullRecord
			for _, r := range recordsSince(t, s, super, from) {
				if r.Subject == "anonymous" {
					out = append(out, r)
				}
			}
			return out
		}
		if r := s.Do("", q.String(), nil); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("200 aliased accessRecords without a token: %+v", r.Errors)
		}
		got := anonymous()
		if len(got) != 1 || got[0].Count != 200 || got[0].Decision != "DENY" {
			t.Fatalf("one request without a token left %d records: %+v", len(got), got)
		}
		// The same again, ten times: counted, not stored, until the
		// interval ends; then one summary counts them.
		for range 10 {
			s.Do("", q.String(), nil)
		}
		if got := anonymous(); len(got) != 1 {
			t.Fatalf("ten more requests stored %d records: %+v", len(got)-1, got)
		}
		flush(t)
		got = anonymous()
		if len(got) != 2 || got[0].Count != 2000 || got[0].RequestID != "" || deref(got[0].Client) == "" {
			t.Fatalf("after the interval: %+v", got)
		}
	})

	t.Run("repeated refusals of a clerk are counted", func(t *testing.T) {
		flush(t)
		from := time.Now()
		var mine struct {
			Me struct{ Certificates []struct{ ID string } }
		}
		s.Do(owner, `{ me { certificates { id } } }`, nil).Decode(t, &mine)
		lic := mine.Me.Certificates[0].ID
		q := `query($id: ID!) { a: certificate(id: $id) { id } b: certificate(id: $id) { id } }`
		for range 5 {
			if r := s.Do(staff, q, map[string]any{"id": lic}); r.Code() != "FORBIDDEN" {
				t.Fatalf("a clerk reads a licence outside a case: %+v", r.Errors)
			}
		}
		refusals := func() []fullRecord {
			var out []fullRecord
			for _, r := range recordsSince(t, s, super, from) {
				if r.Subject == "integrity-staff" && r.Decision == "DENY" {
					out = append(out, r)
				}
			}
			return out
		}
		if got := refusals(); len(got) != 1 || got[0].Count != 2 || deref(got[0].CertificateID) != lic {
			t.Fatalf("five requests of two refused reads: %+v", got)
		}
		flush(t)
		if got := refusals(); len(got) != 2 || got[0].Count != 8 || deref(got[0].CertificateID) != lic {
			t.Fatalf("after the interval: %+v", got)
		}
	})

	t.Run("caller text never reaches the log", func(t *testing.T) {
		from := time.Now()
		const bogus = "READ-BY-SUPERVISOR-ON-BEHALF-OF-THE-HOLDER"
		c := openCase(t, s, staff, bogus, "91350100MA0000001P", "350100-SP-0001")
		if r := s.Do(staff, `query($id: ID!, $c: ID!) { case(id: $id) { annotatedCopy(certificateId: $c) } }`,
			map[string]any{"id": c.ID, "c": bogus}); r.Code() != "INVALID_INPUT" {
			t.Fatalf("annotatedCopy of %q: %+v", bogus, r.Errors)
		}
		for _, caseID := range []any{nil, c.ID} {
			if r := s.Do(owner, `mutation($c: ID!, $case: ID) { fileObjection(certificateId: $c, fields: ["premises"], description: "经营场所地址有误", caseId: $case) { id } }`,
				map[string]any{"c": bogus, "case": caseID}); r.Code() != "INVALID_INPUT" {
				t.Fatalf("fileObjection on %q: %+v", bogus, r.Errors)
			}
		}
		if r := s.Do(super, `query($c: ID) { accessRecords(filter: {certificateId: $c}) { edges { cursor } } }`,
			map[string]any{"c": bogus}); r.Code() != "INVALID_INPUT" {
			t.Fatalf("accessRecords for %q: %+v", bogus, r.Errors)
		}
		for _, path := range []string{"/print/" + url.PathEscape(bogus), "/print/" + url.PathEscape(bogus) + "?case=" + c.ID} {
			req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+staff)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("GET %s: %d", path, resp.StatusCode)
			}
		}
		// The case was closed with its number, and paper brought with a
		// reason: neither text is in the log either.
		if r := s.Do(staff, `mutation($id: ID!, $t: ID!, $r: String!) { recordPaperSubmission(caseId: $id, typeCode: $t, reason: $r) { id } }`,
			map[string]any{"id": c.ID, "t": demo.BusinessLicence, "r": bogus}); r.Code() != "" {
			t.Fatalf("paper: %+v", r.Errors)
		}
		s.Do(staff, `mutation($id: ID!) { closeCase(id: $id) { id } }`, map[string]any{"id": c.ID})
		recs := recordsSince(t, s, super, from)
		if len(recs) < 3 {
			t.Fatalf("the case's own records are missing: %+v", recs)
		}
		for _, r := range recs {
			if strings.Contains(r.text(), "READ-BY") {
				t.Fatalf("caller text in the log: %+v", r)
			}
		}
	})
}
