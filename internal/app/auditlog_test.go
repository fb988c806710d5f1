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

// since is a moment after every record stored so far and before every
// record stored from now on: records are stamped in whole milliseconds.
func since() time.Time {
	time.Sleep(2 * time.Millisecond)
	return time.Now().Truncate(time.Millisecond)
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
		from := since()
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
		from := since()
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

	// reads lists the records about licences and cases made since from by
	// subject, by certificate (or case, for other actions) id.
	reads := func(t *testing.T, from time.Time, subject string) map[string]fullRecord {
		t.Helper()
		out := map[string]fullRecord{}
		for _, r := range recordsSince(t, s, super, from) {
			if r.Subject != subject || r.Kind != "access" {
				continue
			}
			key := r.Action + " " + deref(r.CertificateID)
			if _, dup := out[key]; dup {
				t.Fatalf("two records of %s in one request: %+v", key, r)
			}
			out[key] = r
		}
		return out
	}

	t.Run("a response that shows a licence exists is a read of it", func(t *testing.T) {
		from := since()
		// The restaurant has a business licence but no physician's
		// licence, which this matter requires too.
		c := openCase(t, s, staff, "PROBE-1", "91350100MA0000001P", "350100-WJ-0001")
		var got struct {
			Case struct {
				Certificates []struct {
					Typename string `json:"__typename"`
					Type     struct{ Code string }
				}
				MissingTypes []struct{ Code string }
			}
		}
		s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { __typename type { code } issuer { name } versions { __typename } }
			missingTypes { code } } }`, map[string]any{"id": c.ID}).Decode(t, &got)
		if len(got.Case.Certificates) != 1 || len(got.Case.MissingTypes) != 1 || got.Case.MissingTypes[0].Code != demo.PhysicianLicence {
			t.Fatalf("probe answer %+v", got)
		}
		var mine struct {
			Me struct {
				Certificates []struct {
					ID   string
					Type struct{ Code string }
				}
			}
		}
		s.Do(owner, `{ me { certificates { id type { code } } } }`, nil).Decode(t, &mine)
		business := ""
		for _, m := range mine.Me.Certificates {
			if m.Type.Code == demo.BusinessLicence {
				business = m.ID
			}
		}
		recs := reads(t, from, "integrity-staff")
		read, ok := recs["certificate.read "+business]
		if !ok || read.Decision != "ALLOW" || deref(read.CaseID) != c.ID || deref(read.MatterCode) != "350100-WJ-0001" ||
			strings.Join(read.Fields, ",") != "__typename,issuer,type,versions" {
			t.Fatalf("the probe of the business licence: %+v (all: %+v)", read, recs)
		}
		missing, ok := recs["case.missingTypes "]
		if !ok || missing.Decision != "ALLOW" || deref(missing.CaseID) != c.ID || deref(missing.HolderCode) != "91350100MA0000001P" ||
			!strings.Contains(deref(missing.Reason), demo.PhysicianLicence) {
			t.Fatalf("missingTypes: %+v (all: %+v)", missing, recs)
		}
		// The holder sees both.
		var log struct {
			Me struct {
				AccessLog struct {
					Edges []struct{ Node fullRecord }
				}
			}
		}
		s.Do(owner, `{ me { accessLog(first: 100) { edges { node { action caseId fields decision } } } } }`, nil).Decode(t, &log)
		seen := map[string]bool{}
		for _, e := range log.Me.AccessLog.Edges {
			if deref(e.Node.CaseID) == c.ID {
				seen[e.Node.Action] = true
			}
		}
		if !seen["certificate.read"] || !seen["case.missingTypes"] {
			t.Fatalf("the holder sees %v of the probe", seen)
		}
	})

	t.Run("the fields recorded are those the response carried", func(t *testing.T) {
		c := openCase(t, s, staff, "FIELDS-1", "91350100MA0000001P", "350100-SP-0001")
		one := func(q string, vars map[string]any) string {
			t.Helper()
			from := since()
			vars["id"] = c.ID
			s.Do(staff, q, vars).Decode(t, &struct{}{})
			recs := reads(t, from, "integrity-staff")
			if len(recs) != 1 {
				t.Fatalf("%s: records %+v", q, recs)
			}
			for _, r := range recs {
				return strings.Join(r.Fields, ",")
			}
			return ""
		}
		// One field name twice: gqlgen merges the selections.
		q := `query($id: ID!) { case(id: $id) { certificates { id } certificates { state } } }`
		if got := one(q, map[string]any{}); got != "id,state" {
			t.Fatalf("merged selections: %s", got)
		}
		// The same query again, and with @include and data(fields:)
		// given by variables: each time what was executed.
		if got := one(q, map[string]any{}); got != "id,state" {
			t.Fatalf("the query again: %s", got)
		}
		q = `query($id: ID!, $h: Boolean!, $f: [String!]) { case(id: $id) { certificates { id holder @include(if: $h) { name } data(fields: $f) } } }`
		if got := one(q, map[string]any{"h": true, "f": []string{"entityName", "legalRepresentativeId"}}); got != "data.entityName,holder.name,id" {
			t.Fatalf("with variables: %s", got)
		}
		if got := one(q, map[string]any{"h": false, "f": []string{"address"}}); got != "data.address,id" {
			t.Fatalf("with other variables: %s", got)
		}
	})

	t.Run("data an error nulled is recorded as not delivered", func(t *testing.T) {
		c := openCase(t, s, staff, "NULLED-1", "91350100MA0000001P", "350100-SP-0001")
		from := since()
		// The business licence has a field hidden from staff, so its
		// sealed document is refused: the error nulls the case.
		r := s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id holder { name } data sealedDocument } } }`, map[string]any{"id": c.ID})
		if r.Code() != "FORBIDDEN" || string(r.Data) != `{"case":null}` {
			t.Fatalf("sealedDocument of a licence with hidden fields: %s %+v", r.Data, r.Errors)
		}
		recs := reads(t, from, "integrity-staff")
		if len(recs) != 1 {
			t.Fatalf("records %+v", recs)
		}
		for _, rec := range recs {
			if rec.Decision != "NOT_DELIVERED" || deref(rec.CaseID) != c.ID || !strings.Contains(strings.Join(rec.Fields, ","), "holder.name") {
				t.Fatalf("the nulled read: %+v", rec)
			}
		}
		// Two aliases, one nulled: the record holds what the other carried.
		from = since()
		r = s.Do(staff, `query($id: ID!) { a: case(id: $id) { certificates { id } } b: case(id: $id) { certificates { state sealedDocument } } }`, map[string]any{"id": c.ID})
		if r.Code() != "FORBIDDEN" || !strings.Contains(string(r.Data), `"b":null`) || strings.Contains(string(r.Data), `"a":null`) {
			t.Fatalf("one alias nulled: %s %+v", r.Data, r.Errors)
		}
		recs = reads(t, from, "integrity-staff")
		for _, rec := range recs {
			if len(recs) != 1 || rec.Decision != "ALLOW" || strings.Join(rec.Fields, ",") != "id" {
				t.Fatalf("records %+v", recs)
			}
		}
		// The holder does not see a read that never reached the clerk.
		var log struct {
			Me struct {
				AccessLog struct {
					Edges []struct{ Node fullRecord }
				}
			}
		}
		s.Do(owner, `{ me { accessLog(first: 100) { edges { node { action caseId fields decision } } } } }`, nil).Decode(t, &log)
		decisions := map[string]int{}
		for _, e := range log.Me.AccessLog.Edges {
			if deref(e.Node.CaseID) == c.ID && e.Node.Action == "certificate.read" {
				decisions[e.Node.Decision]++
			}
		}
		if decisions["NOT_DELIVERED"] != 1 || decisions["ALLOW"] != 1 {
			t.Fatalf("the holder's log of the case: %v", decisions)
		}
	})

	t.Run("caller text never reaches the log", func(t *testing.T) {
		from := since()
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
