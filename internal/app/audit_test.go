package app_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"certd/internal/audit"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

type accessRecord struct {
	ID            string
	Subject       string
	Org           *string
	Operation     string
	Action        string
	Kind          string
	CaseID        *string
	MatterCode    *string
	HolderCode    *string
	CertificateID *string
	Fields        []string
	Decision      string
	PolicyVersion int
	RequestID     string
	Reason        *string
}

type accessPage struct {
	Edges []struct {
		Cursor string
		Node   accessRecord
	}
	PageInfo struct {
		HasNextPage bool
		EndCursor   *string
	}
}

const accessQ = `query($f: AccessFilter, $first: Int, $after: String) { accessRecords(filter: $f, first: $first, after: $after) {
	edges { cursor node { id subject org operation action kind caseId matterCode holderCode certificateId fields decision policyVersion requestId reason } }
	pageInfo { hasNextPage endCursor } } }`

func accessRecords(t *testing.T, s *testkit.Server, tok string, filter map[string]any) []accessRecord {
	t.Helper()
	var out struct{ AccessRecords accessPage }
	s.Do(tok, accessQ, map[string]any{"f": filter, "first": 100}).Decode(t, &out)
	var recs []accessRecord
	for _, e := range out.AccessRecords.Edges {
		recs = append(recs, e.Node)
	}
	return recs
}

func TestFieldAccessIsAudited(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	office := s.Token("office", demo.DigitalOffice, identity.RoleDigitalOffice)
	c := openCase(t, s, staff, "SP-A1", "91350100MA0000001P", "350100-SP-0001")

	// Exactly three fields: holder.name, data.entityName, state.
	var got struct {
		Case struct {
			Certificates []struct {
				ID     string
				Holder struct{ Name string }
				Data   map[string]any
				State  string
			}
		}
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { holder { name } data(fields: ["entityName"]) state } } }`, map[string]any{"id": c.ID}).Decode(t, &got)
	if len(got.Case.Certificates) != 1 {
		t.Fatalf("%+v", got)
	}
	recs := accessRecords(t, s, office, map[string]any{"holderCode": "91350100MA0000001P"})
	var read *accessRecord
	for i := range recs {
		if recs[i].Kind == "access" && recs[i].Action == "certificate.read" && recs[i].Subject == "s1" {
			if read != nil {
				t.Fatalf("two read records for one licence in one request: %+v", recs)
			}
			read = &recs[i]
		}
	}
	if read == nil {
		t.Fatalf("no read record: %+v", recs)
	}
	if !slices.Equal(read.Fields, []string{"data.entityName", "holder.name", "state"}) {
		t.Fatalf("fields %v, want exactly the three read", read.Fields)
	}
	if *read.CaseID != c.ID || *read.MatterCode != "350100-SP-0001" || read.Decision != "ALLOW" || read.PolicyVersion != 1 ||
		*read.Org != demo.ServiceCentre || read.RequestID == "" || !strings.Contains(read.Operation, "case") {
		t.Fatalf("record %+v", read)
	}
	// The id field alone is a read too; the sensitive field never appears.
	for _, r := range recs {
		for _, f := range r.Fields {
			if f == "data.legalRepresentativeId" {
				t.Fatalf("a hidden field was logged as read: %+v", r)
			}
		}
	}

	// Denied attempts are recorded: another unit's staff, and a direct read.
	other := s.Token("s2", demo.HealthBureau, identity.RoleStaff)
	s.Do(other, `query($id: ID!) { case(id: $id) { id } }`, map[string]any{"id": c.ID})
	var ids struct {
		Case struct{ Certificates []struct{ ID string } }
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID}).Decode(t, &ids)
	s.Do(staff, `query($id: ID!) { certificate(id: $id) { id } }`, map[string]any{"id": ids.Case.Certificates[0].ID})
	recs = accessRecords(t, s, office, nil)
	denied := map[string]bool{}
	for _, r := range recs {
		if r.Decision == "DENY" {
			denied[r.Subject+" "+r.Action] = true
		}
	}
	if !denied["s2 case.read"] || !denied["s1 certificate.read"] {
		t.Fatalf("denials not recorded: %v", denied)
	}
	// Writes are in the same log.
	writes := map[string]bool{}
	for _, r := range accessRecords(t, s, office, map[string]any{"org": demo.ServiceCentre}) {
		if r.Kind == "write" {
			writes[r.Action] = true
		}
	}
	if !writes["case.open"] {
		t.Fatalf("case.open not recorded: %v", writes)
	}
}

func TestWhoReadsTheAccessLog(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	c := openCase(t, s, staff, "SP-B1", "91350100MA0000001P", "350100-SP-0002")
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id state } } }`, map[string]any{"id": c.ID})

	market := s.Token("m", demo.MarketRegistry, identity.RoleIssuer)
	health := s.Token("h", demo.HealthBureau, identity.RoleIssuer)
	supervisor := s.Token("v", "", identity.RoleSupervisor)
	// The market registry issued both licences the case read.
	recs := accessRecords(t, s, market, nil)
	reads := 0
	for _, r := range recs {
		if r.Action == "certificate.read" && r.Subject == "s1" {
			reads++
		}
	}
	if reads != 2 {
		t.Fatalf("the issuer sees %d reads of its licences, want 2: %+v", reads, recs)
	}
	for _, r := range accessRecords(t, s, health, nil) {
		if r.Subject == "s1" && r.Action == "certificate.read" {
			t.Fatalf("another issuer sees access to the market registry's licences: %+v", r)
		}
	}
	if len(accessRecords(t, s, supervisor, nil)) < 3 {
		t.Fatal("a supervisor sees everything")
	}
	if r := s.Do(staff, accessQ, nil); r.Code() != "FORBIDDEN" {
		t.Fatalf("staff read the access log: %+v", r.Errors)
	}
	// The holder sees who read their licences, for which matter.
	owner := s.TokenFor(identity.TokenRequest{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})
	stranger := s.TokenFor(identity.TokenRequest{Subject: "p", Roles: []string{identity.RoleHolder}, Holder: "350102198001010011", AMR: []string{"pwd"}, TTL: time.Hour})
	mineQ := `{ me { accessLog(first: 50) { edges { node { subject org matterCode certificateId fields kind action caseId } } } } }`
	var mine struct {
		Me struct {
			AccessLog accessPage
		}
	}
	s.Do(owner, mineQ, nil).Decode(t, &mine)
	seen, opened := 0, 0
	for _, e := range mine.Me.AccessLog.Edges {
		switch {
		case e.Node.Kind == "write" && e.Node.Action == "case.open":
			// The case opened about them: which unit, matter and case.
			if e.Node.Subject != "s1" || *e.Node.Org != demo.ServiceCentre || *e.Node.MatterCode != "350100-SP-0002" || *e.Node.CaseID != c.ID {
				t.Fatalf("the case opening the holder sees: %+v", e.Node)
			}
			opened++
		case e.Node.Kind != "access":
			t.Fatalf("holders see access records and case openings only: %+v", e.Node)
		case e.Node.Subject == "s1" && *e.Node.MatterCode == "350100-SP-0002":
			seen++
		}
	}
	if seen != 2 || opened != 1 {
		t.Fatalf("the holder sees %d reads of their licences and %d case openings: %+v", seen, opened, mine.Me.AccessLog.Edges)
	}
	s.Do(stranger, mineQ, nil).Decode(t, &mine)
	if len(mine.Me.AccessLog.Edges) != 0 {
		t.Fatalf("another holder sees the company's access log: %+v", mine.Me.AccessLog.Edges)
	}
	// Reading the log is itself recorded.
	found := false
	for _, r := range accessRecords(t, s, supervisor, map[string]any{"org": demo.MarketRegistry}) {
		if r.Action == "audit.read" && r.Subject == "m" {
			found = true
		}
	}
	if !found {
		t.Fatal("reading the access log was not recorded")
	}

	// Bad input: a smuggled operator, a huge page, a tampered cursor.
	if r := s.Do(supervisor, accessQ, map[string]any{"f": map[string]any{"holderCode": `{"$ne":""}`}}); r.Code() != "INVALID_INPUT" {
		t.Fatalf("an operator in a filter string: %+v", r.Errors)
	}
	var huge struct{ AccessRecords accessPage }
	s.Do(supervisor, accessQ, map[string]any{"first": 1000000}).Decode(t, &huge)
	if n := len(huge.AccessRecords.Edges); n > audit.MaxPage {
		t.Fatalf("a huge page size gave %d records", n)
	}
	if r := s.Do(supervisor, accessQ, map[string]any{"after": "MTIzfGFiY3wx"}); r.Code() != "INVALID_INPUT" {
		t.Fatalf("a tampered cursor: %+v", r.Errors)
	}
	var p1 struct{ AccessRecords accessPage }
	s.Do(supervisor, accessQ, map[string]any{"first": 2}).Decode(t, &p1)
	var p2 struct{ AccessRecords accessPage }
	s.Do(supervisor, accessQ, map[string]any{"first": 2, "after": *p1.AccessRecords.PageInfo.EndCursor}).Decode(t, &p2)
	if !p1.AccessRecords.PageInfo.HasNextPage || len(p2.AccessRecords.Edges) != 2 || p2.AccessRecords.Edges[0].Node.ID == p1.AccessRecords.Edges[1].Node.ID {
		t.Fatalf("paging: %+v / %+v", p1.AccessRecords.Edges, p2.AccessRecords.Edges)
	}
}

func TestAuditFailureWithholdsData(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	c := openCase(t, s, staff, "SP-C1", "91350100MA0000001P", "350100-SP-0001")
	q := `query($id: ID!) { case(id: $id) { certificates { id data } } }`
	if r := s.Do(staff, q, map[string]any{"id": c.ID}); r.Code() != "" {
		t.Fatalf("before the failure: %+v", r.Errors)
	}
	// Break the audit store under the running server.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "certd-audit.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'disk unavailable'); END`); err != nil {
		t.Fatal(err)
	}
	r := s.Do(staff, q, map[string]any{"id": c.ID})
	if r.Code() != "AUDIT_UNAVAILABLE" || (len(r.Data) > 0 && string(r.Data) != "null") {
		t.Fatalf("with the audit store down: code %q data %s", r.Code(), r.Data)
	}
	if strings.Contains(r.Errors[0].Message, "disk unavailable") {
		t.Fatalf("the cause leaked to the client: %s", r.Errors[0].Message)
	}
	if _, err := db.Exec(`DROP TRIGGER test_audit_down`); err != nil {
		t.Fatal(err)
	}
	if r := s.Do(staff, q, map[string]any{"id": c.ID}); r.Code() != "" {
		t.Fatalf("after the store recovered: %+v", r.Errors)
	}
}
