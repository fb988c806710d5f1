package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
)

type caseOut struct {
	ID           string
	CaseNo       string
	ClosedAt     *string
	Holder       struct{ Code, Name string }
	Certificates []struct {
		ID   string
		Type struct{ Code string }
		Data map[string]any
	}
	MissingTypes []struct{ Code string }
}

const openCaseQ = `mutation($in: OpenCaseInput!) { openCase(input: $in) { id caseNo holder { code name } } }`

const caseQ = `query($id: ID!) { case(id: $id) { id caseNo closedAt holder { code name } certificates { id type { code } data } missingTypes { code } } }`

// openCase opens a case as staff (tok) the way it happens: the holder
// applies to the staff member's unit for the matter, and the case is
// opened from that application.
func openCase(t *testing.T, s *testkit.Server, tok, no, holder, matter string) caseOut {
	t.Helper()
	app := submit(t, s, holderToken(s, holder), map[string]any{"matterCode": matter, "unitCode": tokenOrg(t, tok)})
	var out struct{ OpenCase caseOut }
	s.Do(tok, openCaseQ, map[string]any{"in": map[string]any{"caseNo": no, "applicationId": app.ID}}).Decode(t, &out)
	return out.OpenCase
}

// walkIn is the input of a walk-in case: a holder without an application.
func walkIn(no, holder, matter string) map[string]any {
	return map[string]any{"caseNo": no, "holderCode": holder, "matterCode": matter, "walkInReason": "申请人现场办理，未在网上申请"}
}

// tokenOrg reads the org claim of a token the test signed (unverified:
// the server verifies it).
func tokenOrg(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Org string }
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("token claims: %v", err)
	}
	return claims.Org
}

func TestCasesOnSQLite(t *testing.T) { runCases(t, testkit.Start(t, testkit.WithDemo())) }

func TestCasesOnMongo(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	runCases(t, testkit.Start(t, testkit.WithDemo(), testkit.WithMongo(ferrettest.Start(t))))
}

// runCases checks 第十二条 from the outside: staff read only the licences a
// case's matter needs, of that case's holder, while the case is open.
func runCases(t *testing.T, s *testkit.Server) {
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	healthStaff := s.Token("s2", demo.HealthBureau, identity.RoleStaff)
	company := "91350100MA0000001P" // the demo restaurant: business licence and food licence

	// 350100-SP-0001 (food licence, new) requires the business licence only.
	c := openCase(t, s, staff, "SP-2026-0001", company, "350100-SP-0001")
	if c.Holder.Name != "福州示例餐饮管理有限公司" {
		t.Fatalf("the holder is named from the base registry: %+v", c.Holder)
	}
	var got struct{ Case caseOut }
	s.Do(staff, caseQ, map[string]any{"id": c.ID}).Decode(t, &got)
	if len(got.Case.Certificates) != 1 || got.Case.Certificates[0].Type.Code != demo.BusinessLicence || len(got.Case.MissingTypes) != 0 {
		t.Fatalf("the matter needs only the business licence: %+v", got.Case)
	}
	data := got.Case.Certificates[0].Data
	if _, shown := data["legalRepresentativeId"]; shown || data["entityName"] != "福州示例餐饮管理有限公司" {
		t.Fatalf("a sensitive field the matter does not need was shown: %v", data)
	}
	// 350100-SP-0002 (renewal) requires the business and food licences.
	c2 := openCase(t, s, staff, "SP-2026-0002", company, "350100-SP-0002")
	s.Do(staff, caseQ, map[string]any{"id": c2.ID}).Decode(t, &got)
	if len(got.Case.Certificates) != 2 {
		t.Fatalf("renewal needs two licences: %+v", got.Case)
	}
	// data(fields:) narrows further; sealedDocument would disclose hidden fields.
	var narrow struct {
		Case struct {
			Certificates []struct{ Data map[string]any }
		}
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { data(fields: ["entityName", "legalRepresentativeId"]) } } }`, map[string]any{"id": c.ID}).Decode(t, &narrow)
	if d := narrow.Case.Certificates[0].Data; len(d) != 1 || d["entityName"] == nil {
		t.Fatalf("data(fields:) %v", d)
	}
	if r := s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { sealedDocument } } }`, map[string]any{"id": c.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("sealedDocument with hidden fields: %+v", r.Errors)
	}

	// A person without licences: everything is missing.
	c3 := openCase(t, s, staff, "SP-2026-0003", "350102198001010011", "350100-SP-0001")
	s.Do(staff, caseQ, map[string]any{"id": c3.ID}).Decode(t, &got)
	if len(got.Case.Certificates) != 0 || len(got.Case.MissingTypes) != 1 || got.Case.MissingTypes[0].Code != demo.BusinessLicence {
		t.Fatalf("nothing citable: %+v", got.Case)
	}

	// Another unit's staff: no access to the case.
	if r := s.Do(healthStaff, caseQ, map[string]any{"id": c.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("another unit's case: %+v", r.Errors)
	}
	// Opening a walk-in case for a matter the unit does not handle.
	if r := s.Do(healthStaff, openCaseQ, map[string]any{"in": walkIn("X-1", company, "350100-SP-0001")}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a matter the unit does not handle: %+v", r.Errors)
	}
	if r := s.Do(staff, openCaseQ, map[string]any{"in": walkIn("SP-2026-0001", company, "350100-SP-0001")}); r.Code() != "CONFLICT" {
		t.Fatalf("a case number twice: %+v", r.Errors)
	}
	if r := s.Do(staff, openCaseQ, map[string]any{"in": walkIn("X-2", "350102198001010012", "350100-SP-0001")}); r.Code() != "INVALID_INPUT" {
		t.Fatalf("a bad holder code: %+v", r.Errors)
	}
	// Staff reading a licence directly, outside any case.
	s.Do(staff, caseQ, map[string]any{"id": c.ID}).Decode(t, &got)
	licID := got.Case.Certificates[0].ID
	if r := s.Do(staff, `query($id: ID!) { certificate(id: $id) { id } }`, map[string]any{"id": licID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("staff reading a licence directly: %+v", r.Errors)
	}

	// Closing the case ends access.
	var closed struct{ CloseCase struct{ ClosedAt *string } }
	s.Do(staff, `mutation($id: ID!) { closeCase(id: $id) { closedAt } }`, map[string]any{"id": c.ID}).Decode(t, &closed)
	if closed.CloseCase.ClosedAt == nil {
		t.Fatal("closeCase returned no closedAt")
	}
	if r := s.Do(staff, caseQ, map[string]any{"id": c.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a closed case still gives licence data: %+v", r.Errors)
	}
	if r := s.Do(staff, `mutation($id: ID!) { closeCase(id: $id) { id } }`, map[string]any{"id": c.ID}); r.Code() != "CONFLICT" {
		t.Fatalf("closing twice: %+v", r.Errors)
	}
	var list struct {
		Cases []struct {
			CaseNo string
			Cursor string
		}
	}
	s.Do(staff, `{ cases { caseNo cursor } }`, nil).Decode(t, &list)
	if len(list.Cases) != 2 || list.Cases[0].CaseNo != "SP-2026-0003" {
		t.Fatalf("open cases, newest first: %+v", list.Cases)
	}
	s.Do(staff, `query($a: String) { cases(openOnly: false, first: 2, after: $a) { caseNo cursor } }`, map[string]any{"a": list.Cases[0].Cursor}).Decode(t, &list)
	if len(list.Cases) != 2 || list.Cases[0].CaseNo != "SP-2026-0002" || list.Cases[1].CaseNo != "SP-2026-0001" {
		t.Fatalf("all cases after the newest: %+v", list.Cases)
	}
	if r := s.Do(staff, `{ cases(after: "bm9wZQ") { id } }`, nil); r.Code() != "INVALID_INPUT" {
		t.Fatalf("a tampered cursor: %+v", r.Errors)
	}
}

func TestDisclosedFieldsAndHolderReads(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	office := s.Token("office", demo.DigitalOffice, identity.RoleDigitalOffice)
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	// A matter that declares it needs the legal representative's ID number.
	s.Do(office, `mutation { registerMatter(input: {code: "350100-SP-0009", name: "法定代表人变更核查", requiredTypes: ["`+demo.BusinessLicence+`"],
		handlingUnits: ["`+demo.ServiceCentre+`"], disclosedFields: ["`+demo.BusinessLicence+`.legalRepresentativeId"]}) { code disclosedFields } }`, nil).Decode(t, &struct{}{})
	if r := s.Do(office, `mutation { registerMatter(input: {code: "350100-SP-0010", name: "x", requiredTypes: ["`+demo.BusinessLicence+`"],
		handlingUnits: ["`+demo.ServiceCentre+`"], disclosedFields: ["`+demo.BusinessLicence+`.entityName"]}) { code } }`, nil); r.Code() != "INVALID_INPUT" {
		t.Fatalf("disclosing a field that is not sensitive: %+v", r.Errors)
	}
	c := openCase(t, s, staff, "SP-9", "91350100MA0000001P", "350100-SP-0009")
	var got struct{ Case caseOut }
	s.Do(staff, caseQ, map[string]any{"id": c.ID}).Decode(t, &got)
	if got.Case.Certificates[0].Data["legalRepresentativeId"] != "350102198001010011" {
		t.Fatalf("the disclosed sensitive field is shown: %v", got.Case.Certificates[0].Data)
	}

	// Holders: their own licences, every version.
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	owner := s.TokenFor(identity.TokenRequest{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})
	other := s.TokenFor(identity.TokenRequest{Subject: "p", Roles: []string{identity.RoleHolder}, Holder: "350102198001010011", AMR: []string{"pwd"}, TTL: time.Hour})
	var mine struct {
		Me struct {
			Holder       struct{ Name string }
			Certificates []struct {
				ID    string
				State string
				Data  map[string]any
			}
		}
	}
	s.Do(owner, `{ me { holder { name } certificates { id state data } } }`, nil).Decode(t, &mine)
	if mine.Me.Holder.Name != "福州示例餐饮管理有限公司" || len(mine.Me.Certificates) != 2 {
		t.Fatalf("me: %+v", mine.Me)
	}
	if mine.Me.Certificates[0].Data["legalRepresentativeId"] == nil && mine.Me.Certificates[1].Data["legalRepresentativeId"] == nil {
		t.Fatalf("holders see all their own fields: %+v", mine.Me.Certificates)
	}
	var ch struct{ ChangeCertificate struct{ ID string } }
	for _, lc := range mine.Me.Certificates {
		if _, ok := lc.Data["operatorName"]; ok {
			d := lc.Data
			d["premises"] = "福州市鼓楼区示例路9号"
			s.Do(clerk, `mutation($id: ID!, $d: JSON!) { changeCertificate(id: $id, data: $d, reason: "搬迁") { id } }`, map[string]any{"id": lc.ID, "d": d}).Decode(t, &ch)
		}
	}
	s.Do(owner, `{ me { certificates { id state } } }`, nil).Decode(t, &mine)
	if len(mine.Me.Certificates) != 3 {
		t.Fatalf("holders see every version: %+v", mine.Me.Certificates)
	}
	for _, lc := range mine.Me.Certificates {
		if r := s.Do(other, `query($id: ID!) { certificate(id: $id) { id } }`, map[string]any{"id": lc.ID}); r.Code() != "FORBIDDEN" {
			t.Fatalf("another holder reads %s: %+v", lc.ID, r.Errors)
		}
	}
	var none struct{ Me struct{ Certificates []any } }
	s.Do(other, `{ me { certificates { id } } }`, nil).Decode(t, &none)
	if len(none.Me.Certificates) != 0 {
		t.Fatalf("another holder's list: %+v", none.Me.Certificates)
	}
	// An issuer reads its own unit's licences only.
	health := s.TokenFor(identity.TokenRequest{Subject: "h", Org: demo.HealthBureau, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	if r := s.Do(health, `query($id: ID!) { certificate(id: $id) { id } }`, map[string]any{"id": ch.ChangeCertificate.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("another issuer reads the licence: %+v", r.Errors)
	}
	if r := s.Do(clerk, `query($id: ID!) { certificate(id: $id) { id versions { id } } }`, map[string]any{"id": ch.ChangeCertificate.ID}); r.Code() != "" {
		t.Fatalf("the issuer reads its licence: %+v", r.Errors)
	}
}

func TestAliasesHitThePerRequestCap(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	ids := seedLicences(t, s, 101)
	var q strings.Builder
	q.WriteString("{")
	for i, id := range ids {
		fmt.Fprintf(&q, ` a%d: certificate(id: "%s") { id }`, i, id)
	}
	q.WriteString("}")
	r := s.Do(clerk, q.String(), nil)
	if r.Code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "more than 100 licences") {
		t.Fatalf("101 aliased reads: %+v", r.Errors)
	}
	if r := s.Do(clerk, strings.Replace(q.String(), ` a100: certificate(id: "`+ids[100]+`") { id }`, "", 1), nil); r.Code() != "" {
		t.Fatalf("100 aliased reads are within the cap: %+v", r.Errors[:1])
	}
}
