package app_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/app"
	"certd/internal/codes"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
	"certd/internal/text"
)

// The security tests attack a real certd from the outside, over HTTP with
// real tokens, on both stores: forged and stale tokens, MongoDB operator
// injection through every string and JSON input, alias and batching abuse
// of the per-request licence cap, complexity bombs, and the production
// surface. Every refusal must carry its documented code and change nothing.

func TestSecurityOnSQLite(t *testing.T) {
	t.Parallel()
	runSecurity(t, testkit.Start(t, testkit.WithDemo(), secNoThrottle))
}

func TestSecurityOnMongo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	runSecurity(t, testkit.Start(t, testkit.WithDemo(), testkit.WithMongo(ferrettest.Start(t)), secNoThrottle))
}

// secNoThrottle lifts the per-address limit of public verifications, so
// that the attacks on their inputs and on the per-request cap reach the
// store (the limit has its own tests, in verify_test.go).
var secNoThrottle = testkit.WithConfig(func(c *app.Config) { c.VerifyRate = -1 })

func runSecurity(t *testing.T, s *testkit.Server) {
	e := newSecEnv(t, s)
	// Injection first: its audit-log queries are cheapest while the log is
	// short (FerretDB sorts a collection in memory).
	t.Run("operator injection", e.injection)
	t.Run("tokens", e.tokens)
	t.Run("authorization headers", e.headers)
	t.Run("aliases and batching", e.aliases)
	t.Run("complexity bombs", e.bombs)
}

// secDocumented are the codes of the contract (top of schema.graphql).
var secDocumented = map[string]bool{"UNAUTHENTICATED": true, "FORBIDDEN": true, "NOT_FOUND": true, "INVALID_INPUT": true,
	"CONFLICT": true, "NOT_CITABLE": true, "POLICY_REJECTED": true, "AUDIT_UNAVAILABLE": true, "COMPLEXITY_LIMIT_EXCEEDED": true,
	"RATE_LIMITED": true}

// secEnv is a demo certd with the tokens and fixtures the attacks use.
type secEnv struct {
	s                                                  *testkit.Server
	office, admin, clerk, staff, owner, analyst, super string
	walkInStaff                                        string // staff of the service centre who open walk-in cases
	business, food                                     string // the demo restaurant's licences
	caseID                                             string // an open case of the restaurant for the renewal matter
	seq                                                int
}

func newSecEnv(t *testing.T, s *testkit.Server) *secEnv {
	strong := func(sub, org string, roles ...string) string {
		return s.TokenFor(identity.TokenRequest{Subject: sub, Org: org, Roles: roles, AMR: []string{"pwd", "cert"}, TTL: time.Hour})
	}
	e := &secEnv{s: s,
		office:      strong("sec-office", demo.DigitalOffice, identity.RoleDigitalOffice),
		admin:       strong("sec-admin", demo.DigitalOffice, identity.RoleDigitalOffice, identity.RolePolicyAdmin),
		clerk:       strong("sec-clerk", demo.MarketRegistry, identity.RoleIssuer),
		staff:       strong("sec-staff", demo.ServiceCentre, identity.RoleStaff),
		walkInStaff: strong("sec-walk-in", demo.ServiceCentre, identity.RoleStaff),
		analyst:     strong("sec-analyst", demo.ServiceCentre, identity.RoleAnalyst),
		super:       strong("sec-super", demo.DigitalOffice, identity.RoleSupervisor),
		owner: s.TokenFor(identity.TokenRequest{Subject: "sec-owner", Roles: []string{identity.RoleHolder}, Holder: secRestaurant,
			AMR: []string{"pwd"}, TTL: time.Hour}),
	}
	var mine struct {
		Me struct {
			Certificates []struct {
				ID   string
				Type struct{ Code string }
			}
		}
	}
	e.do(t, e.owner, `{ me { certificates { id type { code } } } }`, nil).Decode(t, &mine)
	for _, c := range mine.Me.Certificates {
		switch c.Type.Code {
		case demo.BusinessLicence:
			e.business = c.ID
		case demo.FoodLicence:
			e.food = c.ID
		}
	}
	if e.business == "" || e.food == "" {
		t.Fatalf("the demo restaurant's licences: %+v", mine)
	}
	e.caseID = e.openCase(t, "SEC-CASE-0")
	return e
}

const secRestaurant = "91350100MA0000001P" // the demo restaurant: business and food licence

// do posts a request and checks what holds for every response, attack or
// not: no 5xx, no INTERNAL, only documented codes.
func (e *secEnv) do(t *testing.T, tok, q string, vars map[string]any) *testkit.Response {
	t.Helper()
	r := e.s.Do(tok, q, vars)
	secSane(t, r)
	return r
}

func secSane(t *testing.T, r *testkit.Response) {
	t.Helper()
	if r.Status >= 500 {
		t.Errorf("HTTP %d: %+v", r.Status, r.Errors)
	}
	for _, er := range r.Errors {
		if c := er.Code(); !secDocumented[c] {
			t.Errorf("error code %q is not a documented one (HTTP %d): %s", c, r.Status, er.Message)
		}
	}
}

func (e *secEnv) next() int { e.seq++; return e.seq }

// openCase opens a case of the restaurant from its application to the
// service centre for matter.
func (e *secEnv) openCase(t *testing.T, no string) string {
	t.Helper()
	var out struct{ OpenCase struct{ ID string } }
	e.do(t, e.staff, openCaseQ, map[string]any{"in": map[string]any{"caseNo": no, "applicationId": e.apply(t, "350100-SP-0002")}}).Decode(t, &out)
	return out.OpenCase.ID
}

// apply submits the restaurant's application to the service centre.
func (e *secEnv) apply(t *testing.T, matter string) string {
	t.Helper()
	var out struct{ SubmitApplication struct{ ID string } }
	e.do(t, e.owner, `mutation($m: ID!) { submitApplication(input: {matterCode: $m, unitCode: "`+demo.ServiceCentre+`"}) { id } }`,
		map[string]any{"m": matter}).Decode(t, &out)
	return out.SubmitApplication.ID
}

var secFood = map[string]any{"operatorName": "某店", "premises": "某路", "mainForm": "餐饮", "scope": "热食"}

// issue issues a fresh food licence to 示例个人甲 and returns its id.
func (e *secEnv) issue(t *testing.T) string {
	t.Helper()
	var out struct{ IssueCertificate struct{ ID string } }
	e.do(t, e.clerk, `mutation($in: IssueInput!) { issueCertificate(input: $in) { id } }`,
		issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", secFood)).Decode(t, &out)
	return out.IssueCertificate.ID
}

// fileObjection files an objection of the restaurant on its food licence.
func (e *secEnv) fileObjection(t *testing.T) string {
	t.Helper()
	var out struct{ FileObjection struct{ ID string } }
	e.do(t, e.owner, `mutation($c: ID!) { fileObjection(certificateId: $c, fields: ["premises"], description: "经营场所地址有误") { id } }`,
		map[string]any{"c": e.food}).Decode(t, &out)
	return out.FileObjection.ID
}

func (e *secEnv) submitBulk(t *testing.T) string {
	t.Helper()
	var out struct{ SubmitBulkAnalysis struct{ ID string } }
	e.do(t, e.analyst, submitQ, map[string]any{"in": map[string]any{"purpose": "统计各类证照的发放数量，用于年度评估", "groupBy": []string{"TYPE"}, "validDays": 7, "maxRuns": 2}}).Decode(t, &out)
	return out.SubmitBulkAnalysis.ID
}

// secWith is a copy of m with the keys and values kv set.
func secWith(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// secCreditCode is the n-th valid unified social credit code of a made-up
// series.
func secCreditCode(t *testing.T, n int) string {
	base := fmt.Sprintf("91350100MC%07d", n)
	for _, c := range "0123456789ABCDEFGHJKLMNPQRTUWXY" {
		if codes.ValidCreditCode(base + string(c)) {
			return base + string(c)
		}
	}
	t.Fatalf("no check character for %s", base)
	return ""
}

// secCounts is what the attacks must not change, read back through the
// API: the catalogue and its change history, the market registry's
// licences by state (every write an attack tries is the market
// registry's), cases and paper, objections, bulk requests and policies.
type secCounts map[string]int

func (e *secEnv) counts(t *testing.T) secCounts {
	t.Helper()
	c := secCounts{}
	var cat struct {
		Units                []struct{ Code string }
		CertificateTypes     []struct{ Version int }
		Matters              []struct{ Version int }
		U, T, M              []struct{ Version int }
		BulkAnalysisRequests []struct{ State string }
		Policies             []struct{ Version int }
		ActivePolicy         struct{ Version int }
	}
	e.do(t, e.admin, `{ units { code } certificateTypes { version } matters { version }
		u: catalogueChanges(kind: UNIT) { version } t: catalogueChanges(kind: CERTIFICATE_TYPE) { version } m: catalogueChanges(kind: MATTER) { version }
		bulkAnalysisRequests { state } policies { version } activePolicy { version } }`, nil).Decode(t, &cat)
	c["units"], c["types"], c["matters"] = len(cat.Units), len(cat.CertificateTypes), len(cat.Matters)
	for _, x := range cat.CertificateTypes {
		c["type versions"] += x.Version
	}
	for _, x := range cat.Matters {
		c["matter versions"] += x.Version
	}
	c["changes"] = len(cat.U) + len(cat.T) + len(cat.M)
	for _, b := range cat.BulkAnalysisRequests {
		c["bulk"]++
		c["bulk "+b.State]++
	}
	c["policies"], c["active policy"] = len(cat.Policies), cat.ActivePolicy.Version

	// Licences by state, counted without reading one (first: 0).
	var b strings.Builder
	b.WriteString("{ all: certificates(first: 0) { totalCount }")
	for _, st := range secStates {
		fmt.Fprintf(&b, " %s: certificates(first: 0, filter: {state: %s}) { totalCount }", st, st)
	}
	b.WriteString(" objections { state } }")
	var lic map[string]json.RawMessage
	e.do(t, e.clerk, b.String(), nil).Decode(t, &lic)
	for k, raw := range lic {
		if k == "objections" {
			var objs []struct{ State string }
			if err := json.Unmarshal(raw, &objs); err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				c["objections"]++
				c["objections "+o.State]++
			}
			continue
		}
		var n struct{ TotalCount int }
		if err := json.Unmarshal(raw, &n); err != nil {
			t.Fatal(err)
		}
		if k == "all" {
			c["licences"] = n.TotalCount
		} else if n.TotalCount > 0 {
			c["licences "+k] = n.TotalCount
		}
	}

	var cs struct {
		Cases []struct {
			ClosedAt         *string
			PaperSubmissions []struct{ Reason string }
		}
	}
	e.do(t, e.staff, `{ cases(openOnly: false, first: 100) { closedAt paperSubmissions { reason } } }`, nil).Decode(t, &cs)
	if len(cs.Cases) == 100 {
		t.Fatal("counts read at most 100 cases")
	}
	for _, x := range cs.Cases {
		c["cases"]++
		if x.ClosedAt == nil {
			c["open cases"]++
		}
		c["papers"] += len(x.PaperSubmissions)
	}
	return c
}

// secStates are the states counted: the attacks only ever ask to suspend
// or revoke, or change; any other move leaves VALID.
var secStates = []string{"VALID", "SUSPENDED", "REVOKED", "SUPERSEDED"}

// trail sums the history entries and inspections of the market registry's
// licences; it reads every one of them, so it is taken only around all the
// attacks.
func (e *secEnv) trail(t *testing.T) secCounts {
	t.Helper()
	var lic struct {
		Certificates struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					History     []struct{ Action string }
					Inspections []struct{ Passed bool }
				}
			}
		}
	}
	e.do(t, e.clerk, `{ certificates(first: 100) { totalCount edges { node { history { action } inspections { passed } } } } }`, nil).Decode(t, &lic)
	if lic.Certificates.TotalCount > 100 {
		t.Fatalf("the trail reads at most 100 licences; the market registry has %d", lic.Certificates.TotalCount)
	}
	c := secCounts{}
	for _, ed := range lic.Certificates.Edges {
		c["history"] += len(ed.Node.History)
		c["inspections"] += len(ed.Node.Inspections)
	}
	return c
}

// plus returns c with d added.
func (c secCounts) plus(d secCounts) secCounts {
	out := secCounts{}
	for k, v := range c {
		out[k] = v
	}
	for k, v := range d {
		out[k] += v
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

func (c secCounts) diff(want secCounts) string {
	var b strings.Builder
	for k, v := range c {
		if want[k] != v {
			fmt.Fprintf(&b, " %s: %d, want %d;", k, v, want[k])
		}
	}
	for k, v := range want {
		if _, ok := c[k]; !ok && v != 0 {
			fmt.Fprintf(&b, " %s: 0, want %d;", k, v)
		}
	}
	return b.String()
}

// secPayload is a hostile value.
type secPayload struct {
	name string
	v    any
}

// secStrings are hostile strings: MongoDB operators and paths as text, a
// regular expression, SQL, a NUL byte.
var secStrings = []secPayload{
	{"operator object as text", `{"$gt":""}`},
	{"not-null operator as text", `{"$ne":null}`},
	{"$where", "$where"},
	{"where clause as text", `{"$where":"sleep(100) || true"}`},
	{"regex", ".*"},
	{"SQL tautology", "' OR 1=1 --"},
	{"NUL byte", "a\x00b"},
	{"$set", "$set"},
	{"dotted path", "a.b"},
}

// secObjects are hostile JSON values: operator documents, dotted and $
// keys, an operator inside an array.
var secObjects = []secPayload{
	{"operator object", map[string]any{"$gt": ""}},
	{"not-null operator", map[string]any{"$ne": nil}},
	{"update operator", map[string]any{"$set": map[string]any{"state": "REVOKED", "holderCode": "x"}}},
	{"dotted key", map[string]any{"a.b": 1}},
	{"$where", map[string]any{"$where": "sleep(100) || true"}},
	{"operator in an array", []any{map[string]any{"$ne": nil}}},
	{"NUL in a key", map[string]any{"a\x00b": "x"}},
}

// secRow is one input of the API under attack. run sends a hostile value
// through it (fixtures it needs go through e.do) and returns the response
// and how the counts must change: for the fixtures it made, and for what
// an accepted value created as plain data.
type secRow struct {
	name     string
	payloads []secPayload
	// refuse are the codes that may refuse a payload; none means every
	// payload must be accepted as plain data.
	refuse []string
	// accept checks an accepted payload was treated as plain data: stored
	// verbatim, or matching nothing. nil means accepting is a failure.
	accept func(t *testing.T, p secPayload, r *testkit.Response)
	// bug names a known product defect: an INTERNAL answer is skipped
	// with it instead of failing.
	bug string
	run func(t *testing.T, p secPayload) (*testkit.Response, secCounts)
}

func (e *secEnv) injection(t *testing.T) {
	trail := e.trail(t)
	now := e.counts(t) // each row's counts after are the next one's before
	for _, row := range e.injectionRows() {
		t.Run(row.name, func(t *testing.T) {
			want := now
			for _, p := range row.payloads {
				t.Run(p.name, func(t *testing.T) {
					r, delta := row.run(t, p)
					trail = trail.plus(secCounts{"history": delta["history"], "inspections": delta["inspections"]})
					want = want.plus(delta).plus(secCounts{"history": -delta["history"], "inspections": -delta["inspections"]})
					code := r.Code()
					if row.bug != "" && code == "INTERNAL" {
						t.Fatalf("regression: %s (HTTP %d)", row.bug, r.Status)
					}
					secSane(t, r)
					switch {
					case code == "" && row.accept == nil:
						t.Errorf("accepted %q: %s", p.v, r.Data)
					case code == "":
						row.accept(t, p, r)
					case !slices.Contains(row.refuse, code):
						t.Errorf("refused %q with %s (%s), want one of %v", p.v, code, r.Errors[0].Message, row.refuse)
					}
				})
			}
			now = e.counts(t)
			if d := now.diff(want); d != "" {
				t.Errorf("changed:%s", d)
			}
		})
	}
	t.Run("licence history and inspections", func(t *testing.T) {
		if d := e.trail(t).diff(trail); d != "" {
			t.Errorf("changed:%s", d)
		}
	})
}

// secGet walks r's data along path.
func secGet(t *testing.T, r *testkit.Response, path ...any) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// secIs expects the value at path to be want (compared as JSON).
func secIs(want any, path ...any) func(t *testing.T, p secPayload, r *testkit.Response) {
	return func(t *testing.T, p secPayload, r *testkit.Response) {
		t.Helper()
		got, _ := json.Marshal(secGet(t, r, path...))
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Errorf("%q: %v is %s, want %s", p.v, path, got, w)
		}
	}
}

// secVerbatim expects the value at path to be the payload itself.
func secVerbatim(path ...any) func(t *testing.T, p secPayload, r *testkit.Response) {
	return func(t *testing.T, p secPayload, r *testkit.Response) {
		t.Helper()
		if got := secGet(t, r, path...); got != p.v {
			t.Errorf("%v is %q, want the payload %q verbatim", path, got, p.v)
		}
	}
}

// secLast expects the last element of the array at path to hold the
// payload verbatim in key.
func secLast(key string, path ...any) func(t *testing.T, p secPayload, r *testkit.Response) {
	return func(t *testing.T, p secPayload, r *testkit.Response) {
		t.Helper()
		a, _ := secGet(t, r, path...).([]any)
		if len(a) == 0 {
			t.Fatalf("%v is empty: %s", path, r.Data)
		}
		if got := a[len(a)-1].(map[string]any)[key]; got != p.v {
			t.Errorf("the last %v has %s %q, want the payload %q verbatim", path, key, got, p.v)
		}
	}
}

// secPadded makes a hostile string long enough for a field with a
// minimum length (text.Weight), keeping its start.
func secPadded(min int, ps []secPayload) []secPayload {
	out := make([]secPayload, len(ps))
	for i, p := range ps {
		v := p.v.(string)
		for utf8.RuneCountInString(v) < min || text.Weight(v) < min {
			if text.Weight(p.v.(string)) == 0 {
				v += "字" // punctuation alone says nothing; text.Check refuses it
			} else {
				v += p.v.(string)
			}
		}
		out[i] = secPayload{p.name, v}
	}
	return out
}

// secCursors are the hostile strings inside cursors of the server's own
// shape (base64 of "milliseconds|id").
func secCursors() []secPayload {
	out := append([]secPayload{}, secStrings...)
	for _, p := range secStrings {
		out = append(out, secPayload{p.name + " in a well-formed cursor", base64.RawURLEncoding.EncodeToString([]byte("1700000000000|" + p.v.(string)))})
	}
	return out
}

const secTimeBug = "a malformed Time scalar (gqlgen's graphql.Time, gqlgen.yml) is not an apperr, so server.presentError answers INTERNAL instead of INVALID_INPUT"

func (e *secEnv) injectionRows() []secRow {
	none := secCounts(nil)
	invalid := []string{"INVALID_INPUT"}
	// q sends the payload as variable x of query by tok.
	q := func(tok, query string) func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
		return func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			return e.s.Do(tok, query, map[string]any{"x": p.v}), none
		}
	}
	// qv sends vars(p) with query by tok.
	qv := func(tok, query string, vars func(p secPayload) map[string]any) func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
		return func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			return e.s.Do(tok, query, vars(p)), none
		}
	}
	// onlyItself: every record found holds the payload verbatim in field
	// (denied attempts are recorded with what they asked for).
	onlyItself := func(field string) func(t *testing.T, p secPayload, r *testkit.Response) {
		return func(t *testing.T, p secPayload, r *testkit.Response) {
			t.Helper()
			edges, ok := secGet(t, r, "accessRecords", "edges").([]any)
			if !ok {
				t.Fatalf("no edges: %s", r.Data)
			}
			for _, ed := range edges {
				if got := ed.(map[string]any)["node"].(map[string]any)[field]; got != p.v {
					t.Errorf("%q matched a record with %s %q", p.v, field, got)
				}
			}
		}
	}
	nothing := func(path ...any) func(t *testing.T, p secPayload, r *testkit.Response) { return secIs(nil, path...) }
	noEdges := func(root string) func(t *testing.T, p secPayload, r *testkit.Response) {
		return func(t *testing.T, p secPayload, r *testkit.Response) {
			t.Helper()
			if n := secGet(t, r, root, "edges"); n == nil || len(n.([]any)) != 0 {
				t.Errorf("%q matched %v", p.v, n)
			}
			if n := secGet(t, r, root, "totalCount"); n != nil && n != 0.0 {
				t.Errorf("%q: totalCount %v", p.v, n)
			}
		}
	}
	notFound := func(root string) func(t *testing.T, p secPayload, r *testkit.Response) {
		return func(t *testing.T, p secPayload, r *testkit.Response) {
			t.Helper()
			if v := secGet(t, r, root); v.(map[string]any)["found"] != false || v.(map[string]any)["sealValid"] != false || v.(map[string]any)["citable"] != false {
				t.Errorf("%q: %v", p.v, v)
			}
		}
	}
	typeIn := func(code string) map[string]any {
		in := typeInput(code)
		in["name"] = "安全测试证"
		return in
	}
	matterIn := func(code string) map[string]any {
		return map[string]any{"code": code, "name": "安全测试事项", "requiredTypes": []any{demo.BusinessLicence}, "handlingUnits": []any{demo.ServiceCentre}}
	}
	issueIn := func(kv ...any) map[string]any {
		return secWith(issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", secFood)["in"].(map[string]any), kv...)
	}
	const issueQ = `mutation($in: IssueInput!) { issueCertificate(input: $in) { id data } }`
	issued := secCounts{"licences": 1, "licences VALID": 1, "history": 1}
	ifOK := func(r *testkit.Response, c secCounts) secCounts {
		if r.Code() == "" {
			return c
		}
		return nil
	}
	// The payload as the whole data, as a field's value, and as extra keys.
	var dataObjects []secPayload
	for _, p := range secObjects {
		dataObjects = append(dataObjects, secPayload{p.name + " as data", p.v}, secPayload{p.name + " as a field value", secWith(secFood, "scope", p.v)})
		if m, ok := p.v.(map[string]any); ok {
			d := secWith(secFood)
			for k, v := range m {
				d[k] = v
			}
			dataObjects = append(dataObjects, secPayload{p.name + " as extra keys", d})
		}
	}
	// Victims made on first use, one per row.
	lazy := func(mk func(t *testing.T) string, made secCounts) (func(t *testing.T) (string, secCounts), *string) {
		id := new(string)
		return func(t *testing.T) (string, secCounts) {
			if *id != "" {
				return *id, nil
			}
			*id = mk(t)
			return *id, made
		}, id
	}
	keyed := map[string]bool{e.food: true, e.business: true} // the demo licences have keys of their own
	changeData, _ := lazy(e.issue, issued)
	changeReason, changeReasonPtr := lazy(e.issue, issued)
	stateVictim, _ := lazy(e.issue, issued)
	suspended := false
	inspectionVictim, _ := lazy(e.issue, issued)
	objectionVictim, _ := lazy(e.fileObjection, secCounts{"objections": 1, "objections OPEN": 1})
	combined := []secPayload{{"every operator at once", `{"$gt":""} {"$ne":null} $where .* ' OR 1=1 -- $set a.b a` + "\x00b"}}

	return []secRow{
		// Reads: a hostile value is refused or matches nothing. The audit
		// log first, while it is short.
		{name: "accessRecords(filter.certificateId)", payloads: secStrings, refuse: invalid, accept: onlyItself("certificateId"), run: q(e.office, `query($x: ID) { accessRecords(filter: {certificateId: $x}, first: 100) { edges { node { certificateId } } } }`)},
		{name: "accessRecords(filter.holderCode)", payloads: secStrings, refuse: invalid, accept: onlyItself("holderCode"), run: q(e.office, `query($x: ID) { accessRecords(filter: {holderCode: $x}, first: 100) { edges { node { holderCode } } } }`)},
		{name: "accessRecords(filter.org)", payloads: secStrings, refuse: invalid, accept: onlyItself("org"), run: q(e.office, `query($x: ID) { accessRecords(filter: {org: $x}, first: 100) { edges { node { org } } } }`)},
		{name: "accessRecords(filter.from)", payloads: secStrings, refuse: invalid, bug: secTimeBug, run: q(e.office, `query($x: Time) { accessRecords(filter: {from: $x}) { edges { node { id } } } }`)},
		{name: "accessRecords(after)", payloads: secCursors(), refuse: invalid, run: q(e.office, `query($x: String) { accessRecords(after: $x) { edges { node { id } } } }`)},
		{name: "me.accessLog(after)", payloads: secCursors(), refuse: invalid, run: q(e.owner, `query($x: String) { me { accessLog(after: $x) { edges { node { id } } } } }`)},
		{name: "unit(code)", payloads: secStrings, accept: nothing("unit"), run: q(e.office, `query($x: ID!) { unit(code: $x) { code } }`)},
		{name: "matter(code)", payloads: secStrings, accept: nothing("matter"), run: q(e.office, `query($x: ID!) { matter(code: $x) { code } }`)},
		{name: "certificateType(code)", payloads: secStrings, accept: nothing("certificateType"), run: q(e.office, `query($x: ID!) { certificateType(code: $x) { code } }`)},
		{name: "catalogueChanges(code)", payloads: secStrings, accept: secIs([]any{}, "catalogueChanges"), run: q(e.office, `query($x: ID) { catalogueChanges(kind: UNIT, code: $x) { code } }`)},
		{name: "certificate(id)", payloads: secStrings, refuse: invalid, run: q(e.clerk, `query($x: ID!) { certificate(id: $x) { id } }`)},
		{name: "certificates(filter.typeCode)", payloads: secStrings, refuse: invalid, accept: noEdges("certificates"), run: q(e.clerk, `query($x: ID) { certificates(filter: {typeCode: $x}) { totalCount edges { node { id } } } }`)},
		{name: "certificates(filter.holderCode)", payloads: secStrings, refuse: invalid, accept: noEdges("certificates"), run: q(e.clerk, `query($x: ID) { certificates(filter: {holderCode: $x}) { totalCount edges { node { id } } } }`)},
		{name: "certificates(after)", payloads: secCursors(), refuse: invalid, run: q(e.clerk, `query($x: String) { certificates(after: $x) { totalCount } }`)},
		{name: "verifyCertificate(id)", payloads: secStrings, accept: notFound("verifyCertificate"), run: q("", `query($x: ID!) { verifyCertificate(id: $x) { found sealValid citable } }`)},
		{name: "verifyDocument(document)", payloads: secStrings, accept: notFound("verifyDocument"), run: q("", `query($x: String!) { verifyDocument(document: $x) { found sealValid citable } }`)},
		{name: "case(id)", payloads: secStrings, refuse: []string{"NOT_FOUND", "INVALID_INPUT"}, accept: nothing("case"), run: q(e.staff, `query($x: ID!) { case(id: $x) { id } }`)},
		{name: "case.annotatedCopy(certificateId)", payloads: secStrings, refuse: []string{"FORBIDDEN", "INVALID_INPUT"},
			run: qv(e.staff, `query($c: ID!, $x: ID!) { case(id: $c) { annotatedCopy(certificateId: $x) } }`, func(p secPayload) map[string]any { return map[string]any{"c": e.caseID, "x": p.v} })},
		{name: "cases(after)", payloads: secCursors(), refuse: invalid, run: q(e.staff, `query($x: String) { cases(after: $x) { id } }`)},
		{name: "certificate.data(fields)", payloads: secStrings, refuse: invalid, accept: secIs(map[string]any{}, "certificate", "data"),
			run: qv(e.clerk, `query($c: ID!, $x: String!) { certificate(id: $c) { data(fields: [$x]) } }`, func(p secPayload) map[string]any { return map[string]any{"c": e.food, "x": p.v} })},
		{name: "case.certificates.data(fields)", payloads: secStrings, refuse: invalid, accept: secIs(map[string]any{}, "case", "certificates", 0, "data"),
			run: qv(e.staff, `query($c: ID!, $x: String!) { case(id: $c) { certificates { data(fields: [$x]) } } }`, func(p secPayload) map[string]any { return map[string]any{"c": e.caseID, "x": p.v} })},
		{name: "supervisionReport(from)", payloads: secStrings, refuse: invalid, run: q(e.super, `query($x: Date!) { supervisionReport(from: $x, to: "2026-12-31") { from } }`)},
		{name: "explainDecision(query)", payloads: secStrings, refuse: invalid, run: q(e.admin, `query($x: String!) { explainDecision(query: $x, input: {}) { allowed } }`)},
		{name: "explainDecision(input) objects", payloads: secObjects, refuse: invalid, accept: secIs(false, "explainDecision", "allowed"),
			run: q(e.admin, `query($x: JSON!) { explainDecision(query: "data.certd.authz.allow", input: $x) { allowed } }`)},
		{name: "explainDecision(input) strings", payloads: secStrings, refuse: invalid, run: q(e.admin, `query($x: JSON!) { explainDecision(query: "data.certd.authz.allow", input: $x) { allowed } }`)},

		// The catalogue: codes are refused, names stored verbatim.
		{name: "registerUnit(code)", payloads: secStrings, refuse: invalid,
			run: q(e.office, `mutation($x: ID!) { registerUnit(input: {code: $x, name: "安全测试单位", issuing: false}) { code } }`)},
		{name: "registerUnit(name)", payloads: secStrings, accept: secVerbatim("unit", "name"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			code := secCreditCode(t, e.next())
			r := e.s.Do(e.office, `mutation($c: ID!, $x: String!) { registerUnit(input: {code: $c, name: $x, issuing: false}) { name } }`, map[string]any{"c": code, "x": p.v})
			if r.Code() != "" {
				return r, nil
			}
			return e.do(t, e.office, `query($c: ID!) { unit(code: $c) { name } }`, map[string]any{"c": code}), secCounts{"units": 1, "changes": 1}
		}},
		// Matter codes may hold dots ("a.b" is one), stored as themselves.
		{name: "registerMatter(code)", payloads: secStrings, refuse: invalid, accept: secVerbatim("matter", "code"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.office, `mutation($in: MatterInput!) { registerMatter(input: $in) { code } }`, map[string]any{"in": secWith(matterIn(""), "code", p.v)})
			if r.Code() != "" {
				return r, nil
			}
			return e.do(t, e.office, `query($c: ID!) { matter(code: $c) { code } }`, map[string]any{"c": p.v}), secCounts{"matters": 1, "matter versions": 1, "changes": 1}
		}},
		{name: "registerMatter(name)", payloads: secStrings, accept: secVerbatim("matter", "name"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			code := fmt.Sprintf("SEC-M-%d", e.next())
			r := e.s.Do(e.office, `mutation($in: MatterInput!) { registerMatter(input: $in) { code } }`, map[string]any{"in": secWith(matterIn(code), "name", p.v)})
			if r.Code() != "" {
				return r, nil
			}
			return e.do(t, e.office, `query($c: ID!) { matter(code: $c) { name } }`, map[string]any{"c": code}), secCounts{"matters": 1, "matter versions": 1, "changes": 1}
		}},
		{name: "registerMatter(requiredTypes)", payloads: secStrings, refuse: invalid, run: qv(e.office, `mutation($in: MatterInput!) { registerMatter(input: $in) { code } }`,
			func(p secPayload) map[string]any {
				return map[string]any{"in": secWith(matterIn(fmt.Sprintf("SEC-M-%d", e.next())), "requiredTypes", []any{p.v})}
			})},
		{name: "registerMatter(handlingUnits)", payloads: secStrings, refuse: invalid, run: qv(e.office, `mutation($in: MatterInput!) { registerMatter(input: $in) { code } }`,
			func(p secPayload) map[string]any {
				return map[string]any{"in": secWith(matterIn(fmt.Sprintf("SEC-M-%d", e.next())), "handlingUnits", []any{p.v})}
			})},
		{name: "registerMatter(disclosedFields)", payloads: secStrings, refuse: invalid, run: qv(e.office, `mutation($in: MatterInput!) { registerMatter(input: $in) { code } }`,
			func(p secPayload) map[string]any {
				return map[string]any{"in": secWith(matterIn(fmt.Sprintf("SEC-M-%d", e.next())), "disclosedFields", []any{p.v})}
			})},
		{name: "updateMatter(code)", payloads: secStrings, refuse: []string{"INVALID_INPUT", "NOT_FOUND"}, accept: secVerbatim("updateMatter", "code"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.office, `mutation($in: MatterInput!) { updateMatter(input: $in) { code } }`, map[string]any{"in": secWith(matterIn(""), "code", p.v)})
			return r, ifOK(r, secCounts{"matter versions": 1, "changes": 1})
		}},
		{name: "updateMatter(name)", payloads: secStrings, accept: secVerbatim("matter", "name"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			code := fmt.Sprintf("SEC-M-%d", e.next())
			e.do(t, e.office, `mutation($in: MatterInput!) { registerMatter(input: $in) { code } }`, map[string]any{"in": matterIn(code)}).Decode(t, &struct{}{})
			made := secCounts{"matters": 1, "matter versions": 1, "changes": 1}
			r := e.s.Do(e.office, `mutation($in: MatterInput!) { updateMatter(input: $in, expectVersion: 1) { code } }`, map[string]any{"in": secWith(matterIn(code), "name", p.v)})
			if r.Code() != "" {
				return r, made
			}
			return e.do(t, e.office, `query($c: ID!) { matter(code: $c) { name } }`, map[string]any{"c": code}), made.plus(secCounts{"matter versions": 1, "changes": 1})
		}},
		{name: "registerCertificateType(code)", payloads: secStrings, refuse: invalid,
			run: qv(e.clerk, registerType, func(p secPayload) map[string]any { return map[string]any{"in": secWith(typeIn(""), "code", p.v)} })},
		{name: "registerCertificateType(name, category, field label)", payloads: secStrings, accept: func(t *testing.T, p secPayload, r *testkit.Response) {
			secVerbatim("certificateType", "name")(t, p, r)
			secVerbatim("certificateType", "category")(t, p, r)
			secVerbatim("certificateType", "fields", 0, "label")(t, p, r)
		}, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			code := fmt.Sprintf("%s%03d", demo.MarketRegistry, 200+e.next())
			in := secWith(typeIn(code), "name", p.v, "category", p.v)
			in["fields"] = []any{map[string]any{"name": "entityName", "label": p.v, "type": "STRING", "required": true, "sensitive": false}}
			r := e.s.Do(e.clerk, registerType, map[string]any{"in": in})
			if r.Code() != "" {
				return r, nil
			}
			return e.do(t, e.clerk, `query($c: ID!) { certificateType(code: $c) { name category fields { label } } }`, map[string]any{"c": code}),
				secCounts{"types": 1, "type versions": 1, "changes": 1}
		}},
		{name: "registerCertificateType(field name)", payloads: secStrings, refuse: invalid, run: qv(e.clerk, registerType, func(p secPayload) map[string]any {
			in := typeIn(fmt.Sprintf("%s%03d", demo.MarketRegistry, 200+e.next()))
			in["fields"] = []any{map[string]any{"name": p.v, "label": "x", "type": "STRING", "required": true, "sensitive": false}}
			return map[string]any{"in": in}
		})},
		{name: "updateCertificateType(code)", payloads: secStrings, refuse: []string{"INVALID_INPUT", "NOT_FOUND"},
			run: qv(e.clerk, `mutation($in: CertificateTypeInput!) { updateCertificateType(input: $in) { code } }`, func(p secPayload) map[string]any { return map[string]any{"in": secWith(typeIn(""), "code", p.v)} })},
		{name: "updateCertificateType(name)", payloads: secStrings, accept: secVerbatim("certificateType", "name"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			code := fmt.Sprintf("%s%03d", demo.MarketRegistry, 200+e.next())
			e.do(t, e.clerk, registerType, map[string]any{"in": typeIn(code)}).Decode(t, &struct{}{})
			made := secCounts{"types": 1, "type versions": 1, "changes": 1}
			r := e.s.Do(e.clerk, `mutation($in: CertificateTypeInput!) { updateCertificateType(input: $in, expectVersion: 1) { code } }`, map[string]any{"in": secWith(typeIn(code), "name", p.v)})
			if r.Code() != "" {
				return r, made
			}
			return e.do(t, e.clerk, `query($c: ID!) { certificateType(code: $c) { name } }`, map[string]any{"c": code}), made.plus(secCounts{"type versions": 1, "changes": 1})
		}},

		// Licences: identifiers and codes are refused, text is data, JSON
		// data is checked against the template.
		{name: "issueCertificate(typeCode)", payloads: secStrings, refuse: invalid, run: qv(e.clerk, issueQ, func(p secPayload) map[string]any { return map[string]any{"in": issueIn("typeCode", p.v)} })},
		{name: "issueCertificate(holder.code)", payloads: secStrings, refuse: invalid, run: qv(e.clerk, issueQ, func(p secPayload) map[string]any {
			return map[string]any{"in": issueIn("holder", map[string]any{"code": p.v, "name": "示例个人甲", "kind": "PERSON"})}
		})},
		{name: "issueCertificate(holder.name)", payloads: secStrings, refuse: invalid, run: qv(e.clerk, issueQ, func(p secPayload) map[string]any {
			return map[string]any{"in": issueIn("holder", map[string]any{"code": "350102198001010011", "name": p.v, "kind": "PERSON"})}
		})},
		{name: "issueCertificate(data) text", payloads: secStrings, accept: secVerbatim("certificate", "data", "scope"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.clerk, issueQ, map[string]any{"in": issueIn("data", secWith(secFood, "scope", p.v))})
			if r.Code() != "" {
				return r, nil
			}
			id, _ := secGet(t, r, "issueCertificate", "id").(string)
			return e.do(t, e.clerk, `query($c: ID!) { certificate(id: $c) { data } }`, map[string]any{"c": id}), issued
		}},
		{name: "issueCertificate(data) JSON", payloads: dataObjects, refuse: invalid, run: qv(e.clerk, issueQ, func(p secPayload) map[string]any { return map[string]any{"in": issueIn("data", p.v)} })},
		{name: "issueCertificate(idempotencyKey)", payloads: secStrings, accept: func(t *testing.T, p secPayload, r *testkit.Response) {}, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			// A key is matched as itself: a regex or operator key does not
			// find the licence of another key (the first ones were issued
			// with plain keys, and every payload is a key of its own).
			r := e.s.Do(e.clerk, issueQ, map[string]any{"in": issueIn("idempotencyKey", p.v)})
			if r.Code() != "" {
				return r, nil
			}
			id, _ := secGet(t, r, "issueCertificate", "id").(string)
			if keyed[id] {
				t.Errorf("key %q returned the licence of an earlier key", p.v)
			}
			keyed[id] = true
			var again struct{ IssueCertificate struct{ ID string } }
			e.do(t, e.clerk, issueQ, map[string]any{"in": issueIn("idempotencyKey", p.v)}).Decode(t, &again)
			if again.IssueCertificate.ID != id {
				t.Errorf("key %q resent: %s, first %s", p.v, again.IssueCertificate.ID, id)
			}
			return r, issued
		}},
		{name: "issueCertificate(businessCompletedAt)", payloads: secStrings, refuse: invalid, bug: secTimeBug,
			run: qv(e.clerk, issueQ, func(p secPayload) map[string]any { return map[string]any{"in": issueIn("businessCompletedAt", p.v)} })},
		{name: "issueCertificate(validUntil)", payloads: secStrings, refuse: invalid,
			run: qv(e.clerk, issueQ, func(p secPayload) map[string]any { return map[string]any{"in": issueIn("validUntil", p.v)} })},
		{name: "issueCertificates(inputs.typeCode)", payloads: secStrings, accept: func(t *testing.T, p secPayload, r *testkit.Response) {
			secIs(map[string]any{"created": 0, "failed": 1, "items": []any{map[string]any{"errorCode": "INVALID_INPUT", "certificate": nil}}}, "issueCertificates")(t, p, r)
		}, run: qv(e.clerk, `mutation($in: [IssueInput!]!) { issueCertificates(inputs: $in) { created failed items { errorCode certificate { id } } } }`,
			func(p secPayload) map[string]any { return map[string]any{"in": []any{issueIn("typeCode", p.v)}} })},
		{name: "changeCertificate(id)", payloads: secStrings, refuse: invalid,
			run: q(e.clerk, `mutation($x: ID!) { changeCertificate(id: $x, data: {operatorName: "x", premises: "x", mainForm: "x", scope: "x"}, reason: "更正") { id } }`)},
		{name: "changeCertificate(data)", payloads: dataObjects, refuse: invalid, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			id, made := changeData(t)
			return e.s.Do(e.clerk, `mutation($c: ID!, $x: JSON!) { changeCertificate(id: $c, data: $x, reason: "更正") { id } }`, map[string]any{"c": id, "x": p.v}), made
		}},
		// One licence per row, changed again and again: each change is a
		// new version, so the row follows the current one.
		{name: "changeCertificate(reason)", payloads: secPadded(1, secStrings), accept: secLast("reason", "certificate", "history"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			id, made := changeReason(t)
			r := e.s.Do(e.clerk, `mutation($c: ID!, $x: String!) { changeCertificate(id: $c, data: {operatorName: "x", premises: "x", mainForm: "x", scope: "x"}, reason: $x) { id } }`, map[string]any{"c": id, "x": p.v})
			if r.Code() != "" {
				return r, made
			}
			nid, _ := secGet(t, r, "changeCertificate", "id").(string)
			*changeReasonPtr = nid
			return e.do(t, e.clerk, `query($c: ID!) { certificate(id: $c) { history { reason } } }`, map[string]any{"c": nid}),
				made.plus(secCounts{"licences": 1, "licences SUPERSEDED": 1, "history": 1})
		}},
		{name: "renewCertificate(id)", payloads: secStrings, refuse: invalid, run: q(e.clerk, `mutation($x: ID!) { renewCertificate(id: $x, validUntil: "2040-01-01") { id } }`)},
		{name: "renewCertificate(validUntil)", payloads: secStrings, refuse: invalid,
			run: qv(e.clerk, `mutation($c: ID!, $x: Date!) { renewCertificate(id: $c, validUntil: $x) { id } }`, func(p secPayload) map[string]any { return map[string]any{"c": e.food, "x": p.v} })},
		{name: "setCertificateState(id)", payloads: secStrings, refuse: invalid, run: q(e.clerk, `mutation($x: ID!) { setCertificateState(id: $x, action: REVOKE, reason: "x") { id } }`)},
		// One licence, suspended and resumed in turn.
		{name: "setCertificateState(reason)", payloads: secPadded(1, secStrings), accept: secLast("reason", "certificate", "history"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			id, made := stateVictim(t)
			action, moved := "SUSPEND", secCounts{"licences VALID": -1, "licences SUSPENDED": 1, "history": 1}
			if suspended {
				action, moved = "RESUME", secCounts{"licences VALID": 1, "licences SUSPENDED": -1, "history": 1}
			}
			r := e.s.Do(e.clerk, `mutation($c: ID!, $a: StateAction!, $x: String!) { setCertificateState(id: $c, action: $a, reason: $x) { id } }`, map[string]any{"c": id, "a": action, "x": p.v})
			if r.Code() != "" {
				return r, made
			}
			suspended = !suspended
			return e.do(t, e.clerk, `query($c: ID!) { certificate(id: $c) { history { reason } } }`, map[string]any{"c": id}), made.plus(moved)
		}},
		{name: "recordInspection(id)", payloads: secStrings, refuse: invalid, run: q(e.clerk, `mutation($x: ID!) { recordInspection(id: $x, passed: false) { id } }`)},
		{name: "recordInspection(note)", payloads: secStrings, accept: secLast("note", "certificate", "inspections"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			id, made := inspectionVictim(t)
			r := e.s.Do(e.clerk, `mutation($c: ID!, $x: String) { recordInspection(id: $c, passed: true, note: $x) { id } }`, map[string]any{"c": id, "x": p.v})
			if r.Code() != "" {
				return r, made
			}
			return e.do(t, e.clerk, `query($c: ID!) { certificate(id: $c) { inspections { note } } }`, map[string]any{"c": id}), made.plus(secCounts{"inspections": 1})
		}},

		// Cases and paper.
		{name: "openCase(caseNo)", payloads: secStrings, accept: secVerbatim("case", "caseNo"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.staff, openCaseQ, map[string]any{"in": map[string]any{"caseNo": p.v, "applicationId": e.apply(t, "350100-SP-0001")}})
			if r.Code() != "" {
				return r, nil
			}
			id, _ := secGet(t, r, "openCase", "id").(string)
			return e.do(t, e.staff, `query($c: ID!) { case(id: $c) { caseNo } }`, map[string]any{"c": id}), secCounts{"cases": 1, "open cases": 1}
		}},
		{name: "openCase(holderCode)", payloads: secStrings, refuse: invalid, run: qv(e.staff, openCaseQ, func(p secPayload) map[string]any {
			return map[string]any{"in": walkIn(fmt.Sprint("SEC-", e.next()), p.v.(string), "350100-SP-0001")}
		})},
		{name: "openCase(matterCode)", payloads: secStrings, refuse: invalid, accept: secVerbatim("case", "matter", "code"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.staff, openCaseQ, map[string]any{"in": walkIn(fmt.Sprint("SEC-", e.next()), secRestaurant, p.v.(string))})
			if r.Code() != "" {
				return r, nil
			}
			id, _ := secGet(t, r, "openCase", "id").(string)
			return e.do(t, e.staff, `query($c: ID!) { case(id: $c) { matter { code } } }`, map[string]any{"c": id}), secCounts{"cases": 1, "open cases": 1}
		}},
		// A walk-in's holder name is what the caller brought, kept
		// verbatim; the base registry only says it does not match. A staff
		// member of its own, for the walk-ins of the day.
		{name: "openCase(holderName)", payloads: secStrings, refuse: invalid, accept: func(t *testing.T, p secPayload, r *testkit.Response) {
			secVerbatim("case", "holder", "name")(t, p, r)
			secIs(false, "case", "holderNameMatches")(t, p, r)
		}, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			in := walkIn(fmt.Sprint("SEC-", e.next()), secRestaurant, "350100-SP-0001")
			in["holderName"] = p.v
			r := e.s.Do(e.walkInStaff, openCaseQ, map[string]any{"in": in})
			if r.Code() != "" {
				return r, nil
			}
			id, _ := secGet(t, r, "openCase", "id").(string)
			return e.do(t, e.walkInStaff, `query($c: ID!) { case(id: $c) { holder { name } holderNameMatches } }`, map[string]any{"c": id}), secCounts{"cases": 1, "open cases": 1}
		}},
		{name: "closeCase(id)", payloads: secStrings, refuse: []string{"NOT_FOUND", "INVALID_INPUT"}, run: q(e.staff, `mutation($x: ID!) { closeCase(id: $x) { id } }`)},
		{name: "recordPaperSubmission(caseId)", payloads: secStrings, refuse: []string{"NOT_FOUND", "INVALID_INPUT"},
			run: q(e.staff, `mutation($x: ID!) { recordPaperSubmission(caseId: $x, typeCode: "`+demo.BusinessLicence+`", reason: "纸质") { id } }`)},
		{name: "recordPaperSubmission(typeCode)", payloads: secStrings, refuse: invalid,
			run: qv(e.staff, `mutation($c: ID!, $x: ID!) { recordPaperSubmission(caseId: $c, typeCode: $x, reason: "纸质") { id } }`, func(p secPayload) map[string]any { return map[string]any{"c": e.caseID, "x": p.v} })},
		{name: "recordPaperSubmission(reason)", payloads: secPadded(1, secStrings), accept: func(t *testing.T, p secPayload, r *testkit.Response) {
			ps, _ := secGet(t, r, "case", "paperSubmissions").([]any)
			if len(ps) == 0 || ps[len(ps)-1].(map[string]any)["reason"] != p.v {
				t.Errorf("paper reasons %v, want the last %q", ps, p.v)
			}
		}, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.staff, `mutation($c: ID!, $x: String!) { recordPaperSubmission(caseId: $c, typeCode: "`+demo.BusinessLicence+`", reason: $x) { id } }`, map[string]any{"c": e.caseID, "x": p.v})
			if r.Code() != "" {
				return r, nil
			}
			return e.do(t, e.staff, `query($c: ID!) { case(id: $c) { paperSubmissions { reason } } }`, map[string]any{"c": e.caseID}), secCounts{"papers": 1}
		}},

		// Policies: paths and Rego are checked; the message is text.
		{name: "publishPolicy(path)", payloads: secStrings, refuse: []string{"INVALID_INPUT", "POLICY_REJECTED"}, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			return e.s.Do(e.admin, publishQ, map[string]any{"m": append(bundle(t, "", "", ""), map[string]any{"path": p.v, "rego": "package certd.sec\n"}), "msg": "安全测试"}), none
		}},
		{name: "publishPolicy(rego)", payloads: secStrings, refuse: []string{"INVALID_INPUT", "POLICY_REJECTED"}, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			return e.s.Do(e.admin, publishQ, map[string]any{"m": append(bundle(t, "", "", ""), map[string]any{"path": "sec.rego", "rego": p.v}), "msg": "安全测试"}), none
		}},
		{name: "publishPolicy(message)", payloads: combined, accept: func(t *testing.T, p secPayload, r *testkit.Response) {
			ps, _ := secGet(t, r, "policies").([]any)
			if len(ps) == 0 || ps[len(ps)-1].(map[string]any)["message"] != p.v {
				t.Errorf("policy messages %v, want the last %q", ps, p.v)
			}
		}, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.admin, publishQ, map[string]any{"m": bundle(t, "", "", ""), "msg": p.v})
			if r.Code() != "" {
				return r, nil
			}
			return e.do(t, e.admin, `{ policies { message } }`, nil), secCounts{"policies": 1}
		}},

		// Objections.
		{name: "fileObjection(certificateId)", payloads: secStrings, refuse: invalid,
			run: q(e.owner, `mutation($x: ID!) { fileObjection(certificateId: $x, fields: ["premises"], description: "经营场所地址有误") { id } }`)},
		// Field paths are dotted ("a.b" is one), stored as themselves.
		{name: "fileObjection(fields)", payloads: secStrings, refuse: invalid, accept: secVerbatim("fileObjection", "fields", 0), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.owner, `mutation($c: ID!, $x: String!) { fileObjection(certificateId: $c, fields: [$x], description: "经营场所地址有误") { fields } }`, map[string]any{"c": e.food, "x": p.v})
			return r, ifOK(r, secCounts{"objections": 1, "objections OPEN": 1})
		}},
		{name: "fileObjection(description)", payloads: secPadded(5, secStrings), accept: secVerbatim("fileObjection", "description"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.owner, `mutation($c: ID!, $x: String!) { fileObjection(certificateId: $c, fields: ["premises"], description: $x) { description } }`, map[string]any{"c": e.food, "x": p.v})
			return r, ifOK(r, secCounts{"objections": 1, "objections OPEN": 1})
		}},
		{name: "fileObjection(caseId)", payloads: secStrings, refuse: []string{"NOT_FOUND", "INVALID_INPUT", "FORBIDDEN"},
			run: qv(e.staff, `mutation($c: ID!, $x: ID) { fileObjection(certificateId: $c, fields: ["premises"], description: "经营场所地址有误", caseId: $x) { id } }`, func(p secPayload) map[string]any { return map[string]any{"c": e.food, "x": p.v} })},
		{name: "resolveObjection(id)", payloads: secStrings, refuse: []string{"NOT_FOUND", "INVALID_INPUT"},
			run: q(e.clerk, `mutation($x: ID!) { resolveObjection(id: $x, outcome: REJECTED, note: "不属实") { id } }`)},
		{name: "resolveObjection(note)", payloads: secPadded(1, secStrings), accept: secVerbatim("resolveObjection", "resolution"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			id := e.fileObjection(t)
			made := secCounts{"objections": 1, "objections OPEN": 1}
			r := e.s.Do(e.clerk, `mutation($o: ID!, $x: String!) { resolveObjection(id: $o, outcome: REJECTED, note: $x) { resolution } }`, map[string]any{"o": id, "x": p.v})
			return r, made.plus(ifOK(r, secCounts{"objections OPEN": -1, "objections REJECTED": 1}))
		}},
		{name: "resolveObjection(correctedData)", payloads: dataObjects, refuse: invalid, run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			id, made := objectionVictim(t)
			return e.s.Do(e.clerk, `mutation($o: ID!, $x: JSON) { resolveObjection(id: $o, outcome: CORRECTED, note: "更正", correctedData: $x) { id } }`, map[string]any{"o": id, "x": p.v}), made
		}},

		// Bulk analysis.
		{name: "submitBulkAnalysis(purpose)", payloads: secPadded(10, secStrings), accept: secVerbatim("submitBulkAnalysis", "purpose"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.analyst, `mutation($x: String!) { submitBulkAnalysis(input: {purpose: $x, groupBy: [TYPE], validDays: 7, maxRuns: 1}) { purpose } }`, map[string]any{"x": p.v})
			return r, ifOK(r, secCounts{"bulk": 1, "bulk PENDING": 1})
		}},
		{name: "submitBulkAnalysis(filter.types, filter.issuers)", payloads: secStrings, refuse: invalid, accept: secIs("PENDING", "submitBulkAnalysis", "state"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			r := e.s.Do(e.analyst, `mutation($x: ID!) { submitBulkAnalysis(input: {purpose: "统计各类证照的发放数量", groupBy: [TYPE], validDays: 7, maxRuns: 1, filter: {types: [$x], issuers: [$x]}}) { state } }`, map[string]any{"x": p.v})
			return r, ifOK(r, secCounts{"bulk": 1, "bulk PENDING": 1})
		}},
		{name: "approveBulkAnalysis(id)", payloads: secStrings, refuse: []string{"NOT_FOUND", "INVALID_INPUT"}, run: q(e.office, `mutation($x: ID!) { approveBulkAnalysis(id: $x) { id } }`)},
		{name: "approveBulkAnalysis(comment)", payloads: secStrings, accept: secVerbatim("approveBulkAnalysis", "comment"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			id := e.submitBulk(t)
			r := e.s.Do(e.office, `mutation($b: ID!, $x: String) { approveBulkAnalysis(id: $b, comment: $x) { comment } }`, map[string]any{"b": id, "x": p.v})
			return r, secCounts{"bulk": 1, "bulk PENDING": 1}.plus(ifOK(r, secCounts{"bulk PENDING": -1, "bulk APPROVED": 1}))
		}},
		{name: "rejectBulkAnalysis(id)", payloads: secStrings, refuse: []string{"NOT_FOUND", "INVALID_INPUT"}, run: q(e.office, `mutation($x: ID!) { rejectBulkAnalysis(id: $x, reason: "用途不明确") { id } }`)},
		{name: "rejectBulkAnalysis(reason)", payloads: secPadded(1, secStrings), accept: secVerbatim("rejectBulkAnalysis", "comment"), run: func(t *testing.T, p secPayload) (*testkit.Response, secCounts) {
			id := e.submitBulk(t)
			r := e.s.Do(e.office, `mutation($b: ID!, $x: String!) { rejectBulkAnalysis(id: $b, reason: $x) { comment } }`, map[string]any{"b": id, "x": p.v})
			return r, secCounts{"bulk": 1, "bulk PENDING": 1}.plus(ifOK(r, secCounts{"bulk PENDING": -1, "bulk REJECTED": 1}))
		}},
		{name: "runBulkAnalysis(id)", payloads: secStrings, refuse: []string{"NOT_FOUND", "INVALID_INPUT"}, run: q(e.analyst, `mutation($x: ID!) { runBulkAnalysis(id: $x) { requestId } }`)},
	}
}

// secRegisterUnit is the write every forged token attempts: the digital
// office registering a unit.
const secRegisterUnit = `mutation($c: ID!) { registerUnit(input: {code: $c, name: "伪造令牌单位", issuing: true}) { code } }`

// secClaims are the claims of a digital-office token for the server's own
// issuer, valid for an hour; mutate changes them.
func secClaims(iss, aud string, mutate func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": iss, "aud": aud, "sub": "sec-attacker", "org": demo.DigitalOffice,
		"roles": []string{identity.RoleDigitalOffice}, "amr": []string{"pwd", "cert"},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if mutate != nil {
		mutate(c)
	}
	return c
}

// secSign signs claims with method and key, with extra JOSE headers.
func secSign(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		tok.Header[k] = v
	}
	out, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return out
}

// secUnsigned is an "alg" token with no signature, or with sig.
func secUnsigned(t *testing.T, header map[string]any, c jwt.MapClaims, sig string) string {
	t.Helper()
	h, _ := json.Marshal(header)
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(b) + "." + sig
}

func secPEM(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func secKID(t *testing.T, pub any) string {
	t.Helper()
	kid, err := identity.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

// secForged runs each forged token against the write and expects 401
// UNAUTHENTICATED and no unit; control, a genuine digital-office token,
// must then succeed with the same write, so the write itself is not what
// refuses.
func secForged(t *testing.T, s *testkit.Server, forged map[string]string, control string, next func() string) {
	t.Helper()
	office := control
	absent := func(t *testing.T, code string) {
		t.Helper()
		var out struct{ Unit *struct{ Code string } }
		s.Do(office, `query($c: ID!) { unit(code: $c) { code } }`, map[string]any{"c": code}).Decode(t, &out)
		if out.Unit != nil {
			t.Errorf("unit %s was registered", code)
		}
	}
	var units struct{ Units []struct{ Code string } }
	s.Do(office, `{ units { code } }`, nil).Decode(t, &units)
	before := len(units.Units)
	for name, tok := range forged {
		t.Run(name, func(t *testing.T) {
			code := next()
			r := s.Do(tok, secRegisterUnit, map[string]any{"c": code})
			secSane(t, r)
			if r.Status != 401 || r.Code() != "UNAUTHENTICATED" || len(r.Data) > 0 && string(r.Data) != "null" {
				t.Errorf("HTTP %d %s %+v", r.Status, r.Data, r.Errors)
			}
			absent(t, code)
		})
	}
	s.Do(office, `{ units { code } }`, nil).Decode(t, &units)
	if len(units.Units) != before {
		t.Errorf("forged tokens changed the units from %d to %d", before, len(units.Units))
	}
	t.Run("control: a genuine token registers the unit", func(t *testing.T) {
		code := next()
		var out struct{ RegisterUnit struct{ Code string } }
		s.Do(control, secRegisterUnit, map[string]any{"c": code}).Decode(t, &out)
		if out.RegisterUnit.Code != code {
			t.Fatalf("registered %+v", out)
		}
	})
}

// tokens forges tokens against the data directory's key (embedded mode).
func (e *secEnv) tokens(t *testing.T) {
	key, err := identity.LoadOrCreateSigningKey(e.s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	kid := secKID(t, pub)
	pemPub := secPEM(t, pub)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherRSA := secRSAKey(t)
	iss, aud := identity.EmbeddedIssuer, identity.EmbeddedAudience
	claims := func(m func(jwt.MapClaims)) jwt.MapClaims { return secClaims(iss, aud, m) }
	good := secSign(t, jwt.SigningMethodEdDSA, key, map[string]any{"kid": kid}, claims(nil))
	staffTok := secSign(t, jwt.SigningMethodEdDSA, key, map[string]any{"kid": kid}, claims(func(c jwt.MapClaims) {
		c["org"], c["roles"] = demo.ServiceCentre, []string{identity.RoleStaff}
	}))
	parts := strings.Split(staffTok, ".")
	goodParts := strings.Split(good, ".")
	jwk := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(otherEd.Public().(ed25519.PublicKey))}
	ed := func(k any, h map[string]any, m func(jwt.MapClaims)) string {
		return secSign(t, jwt.SigningMethodEdDSA, k, h, claims(m))
	}
	expired := func(c jwt.MapClaims) {
		c["exp"], c["iat"], c["nbf"] = time.Now().Add(-2*time.Minute).Unix(), time.Now().Add(-time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	}
	forged := map[string]string{
		"alg none":                              secUnsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), ""),
		"alg none with the server's kid":        secUnsigned(t, map[string]any{"alg": "none", "kid": kid}, claims(nil), ""),
		"alg NONE upper case":                   secUnsigned(t, map[string]any{"alg": "NONE", "kid": kid}, claims(nil), ""),
		"alg none keeping a genuine signature":  secUnsigned(t, map[string]any{"alg": "none", "kid": kid}, claims(nil), goodParts[2]),
		"alg missing":                           secUnsigned(t, map[string]any{"kid": kid}, claims(nil), goodParts[2]),
		"HS256 keyed with the raw public key":   secSign(t, jwt.SigningMethodHS256, []byte(pub), map[string]any{"kid": kid}, claims(nil)),
		"HS256 keyed with the PEM public key":   secSign(t, jwt.SigningMethodHS256, pemPub, map[string]any{"kid": kid}, claims(nil)),
		"HS256 keyed with the PEM, no kid":      secSign(t, jwt.SigningMethodHS256, pemPub, nil, claims(nil)),
		"HS512 keyed with the DER public key":   secSign(t, jwt.SigningMethodHS512, der, nil, claims(nil)),
		"RS256 by another key with the kid":     secSign(t, jwt.SigningMethodRS256, otherRSA, map[string]any{"kid": kid}, claims(nil)),
		"RS256 by another key":                  secSign(t, jwt.SigningMethodRS256, otherRSA, nil, claims(nil)),
		"PS256 by another key":                  secSign(t, jwt.SigningMethodPS256, otherRSA, nil, claims(nil)),
		"ES256 by another key with the kid":     secSign(t, jwt.SigningMethodES256, otherEC, map[string]any{"kid": kid}, claims(nil)),
		"ES256 by another key":                  secSign(t, jwt.SigningMethodES256, otherEC, nil, claims(nil)),
		"EdDSA by an unknown key":               ed(otherEd, nil, nil),
		"EdDSA by an unknown key with the kid":  ed(otherEd, map[string]any{"kid": kid}, nil),
		"unknown key in an embedded jwk header": ed(otherEd, map[string]any{"jwk": jwk}, nil),
		"unknown key behind a jku header":       ed(otherEd, map[string]any{"jku": "http://127.0.0.1:1/jwks.json", "kid": "attacker"}, nil),
		"unknown kid":                           ed(key, map[string]any{"kid": "0000000000000000"}, nil),
		"kid with a path":                       ed(key, map[string]any{"kid": "../../../../dev/null"}, nil),
		"kid with an operator":                  ed(key, map[string]any{"kid": `{"$ne":null}`}, nil),
		"kid not a string":                      ed(key, map[string]any{"kid": map[string]any{"$ne": nil}}, nil),
		"critical header":                       ed(key, map[string]any{"kid": kid, "crit": []string{"exp"}}, nil),
		"expired":                               ed(key, map[string]any{"kid": kid}, expired),
		"no expiry":                             ed(key, map[string]any{"kid": kid}, func(c jwt.MapClaims) { delete(c, "exp") }),
		"not valid for an hour":                 ed(key, map[string]any{"kid": kid}, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
		"issued in an hour":                     ed(key, map[string]any{"kid": kid}, func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }),
		"staff token with an office payload":    parts[0] + "." + goodParts[1] + "." + parts[2],
		"signature stripped":                    goodParts[0] + "." + goodParts[1] + ".",
		"two signatures":                        good + "." + goodParts[2],
	}
	before := e.counts(t)
	secForged(t, e.s, forged, good, func() string { return secCreditCode(t, 5000+e.next()) })
	if d := e.counts(t).diff(before.plus(secCounts{"units": 1, "changes": 1})); d != "" { // the control's unit
		t.Errorf("changed:%s", d)
	}
}

// secRSAKey is an RSA key for the attackers, made once.
var secRSAKey = func() func(t *testing.T) *rsa.PrivateKey {
	var once sync.Once
	var key *rsa.PrivateKey
	var err error
	return func(t *testing.T) *rsa.PrivateKey {
		once.Do(func() { key, err = rsa.GenerateKey(rand.Reader, 2048) })
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
}()

// secRaw sends a request with the given headers and returns the status,
// the errors' codes and the data.
func secRaw(t *testing.T, method, url string, header http.Header, body string) (int, *testkit.Response) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &testkit.Response{Status: resp.StatusCode}
	var env struct {
		Data   json.RawMessage `json:"data"`
		Errors []testkit.Error `json:"errors"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("%s %s: not JSON (%d): %.200s", method, url, resp.StatusCode, raw)
	}
	out.Data, out.Errors = env.Data, env.Errors
	return resp.StatusCode, out
}

// headers tries malformed Authorization headers and tokens outside the
// header.
func (e *secEnv) headers(t *testing.T) {
	body := func(code string) string {
		b, _ := json.Marshal(map[string]any{"query": secRegisterUnit, "variables": map[string]any{"c": code}})
		return string(b)
	}
	hdr := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	tok := e.office
	absent := func(t *testing.T, code string) {
		t.Helper()
		var out struct{ Unit *struct{ Code string } }
		e.do(t, e.office, `query($c: ID!) { unit(code: $c) { code } }`, map[string]any{"c": code}).Decode(t, &out)
		if out.Unit != nil {
			t.Errorf("unit %s was registered", code)
		}
	}
	before := e.counts(t)
	for _, c := range []struct {
		name   string
		path   string
		header http.Header
		status int // 401 when the header is refused; 200 when the request is anonymous
	}{
		{"Bearer alone", "/graphql", hdr("Authorization", "Bearer"), 401},
		{"Bearer and spaces", "/graphql", hdr("Authorization", "Bearer    "), 401},
		{"two tokens in one header", "/graphql", hdr("Authorization", "Bearer "+tok+" "+tok), 401},
		{"two Authorization headers", "/graphql", hdr("Authorization", "Bearer "+tok, "Authorization", "Bearer "+tok), 401},
		{"a token without a scheme", "/graphql", hdr("Authorization", tok), 401},
		{"Basic scheme", "/graphql", hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:admin"))), 401},
		{"Token scheme", "/graphql", hdr("Authorization", "Token "+tok), 401},
		{"empty header", "/graphql", hdr("Authorization", ""), 401},
		{"a token in the query string", "/graphql?access_token=" + tok, hdr(), 200},
		{"a token in a cookie", "/graphql", hdr("Cookie", "token="+tok+"; access_token="+tok), 200},
		{"a token in X-Authorization", "/graphql", hdr("X-Authorization", "Bearer "+tok), 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			code := secCreditCode(t, 6000+e.next())
			status, r := secRaw(t, http.MethodPost, e.s.URL+c.path, c.header, body(code))
			secSane(t, r)
			if status != c.status || r.Code() != "UNAUTHENTICATED" {
				t.Errorf("HTTP %d (want %d) %+v", status, c.status, r.Errors)
			}
			absent(t, code)
		})
	}
	// The scheme is case-insensitive (RFC 9110, section 11.1), so a
	// lower-case scheme authenticates a genuine token and nothing more.
	t.Run("lower-case scheme with a genuine token", func(t *testing.T) {
		code := secCreditCode(t, 6000+e.next())
		status, r := secRaw(t, http.MethodPost, e.s.URL+"/graphql", hdr("Authorization", "bearer "+tok), body(code))
		if status != 200 || r.Code() != "" {
			t.Fatalf("HTTP %d %+v", status, r.Errors)
		}
		status, r = secRaw(t, http.MethodPost, e.s.URL+"/graphql", hdr("Authorization", "BEARER "+tok[:len(tok)-4]+"AAAA"), body(secCreditCode(t, 6000+e.next())))
		if status != 401 || r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("a forged token with an upper-case scheme: HTTP %d %+v", status, r.Errors)
		}
	})
	if d := e.counts(t).diff(before.plus(secCounts{"units": 1, "changes": 1})); d != "" {
		t.Errorf("changed:%s", d)
	}
}

// secLicences counts the licences in a response: every object whose id is
// a licence identifier.
func secLicences(t *testing.T, r *testkit.Response) int {
	t.Helper()
	var v any
	if len(r.Data) == 0 || string(r.Data) == "null" {
		return 0
	}
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if id, ok := x["id"].(string); ok && strings.HasPrefix(id, "1.2.156.3005.2.") {
				n++
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return n
}

// secAliases repeats the selection n times with aliases a0…a(n-1); the
// selection's %d, if any, gets the index.
func secAliases(n int, sel func(i int) string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " a%d: %s", i, sel(i))
	}
	return b.String()
}

// capped expects a refusal for going over the licence cap, with at most
// max licences in the data.
func capped(t *testing.T, r *testkit.Response, max int) {
	t.Helper()
	secSane(t, r)
	if r.Code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "more than 100 licences") {
		t.Errorf("want FORBIDDEN for more than 100 licences, got HTTP %d %+v", r.Status, r.Errors[:min(len(r.Errors), 2)])
	}
	if n := secLicences(t, r); n > max {
		t.Errorf("%d licences were given, more than %d", n, max)
	}
}

// aliases asks for more than the per-request cap of 100 licences
// (data.certd.authz.max_certificates) every way GraphQL allows.
func (e *secEnv) aliases(t *testing.T) {
	// A licence with two versions.
	two := e.issue(t)
	var ch struct{ ChangeCertificate struct{ ID string } }
	e.do(t, e.clerk, `mutation($c: ID!) { changeCertificate(id: $c, data: {operatorName: "x", premises: "y", mainForm: "x", scope: "x"}, reason: "更正") { id } }`,
		map[string]any{"c": two}).Decode(t, &ch)
	two = ch.ChangeCertificate.ID
	// Objections, each showing its licence.
	var objs struct{ Objections []struct{ ID string } }
	e.do(t, e.clerk, `{ objections { id } }`, nil).Decode(t, &objs)
	for range 5 - min(len(objs.Objections), 5) {
		e.fileObjection(t)
	}
	e.do(t, e.clerk, `{ objections { id } }`, nil).Decode(t, &objs)
	before := e.counts(t)

	t.Run("51 aliased case certificates", func(t *testing.T) {
		// The case shows two licences: 51 aliases ask for 102.
		capped(t, e.s.Do(e.staff, `query($c: ID!) {`+secAliases(51, func(int) string { return "case(id: $c) { certificates { id } }" })+` }`, map[string]any{"c": e.caseID}), 100)
	})
	t.Run("51 aliased annotated copies", func(t *testing.T) {
		// A copy reads the case's licences (two), so 50 copies spend the cap.
		r := e.s.Do(e.staff, `query($c: ID!, $l: ID!) { case(id: $c) {`+secAliases(51, func(int) string { return "annotatedCopy(certificateId: $l)" })+` } }`,
			map[string]any{"c": e.caseID, "l": e.business})
		capped(t, r, 100)
		copies, _ := secGet(t, r, "case").(map[string]any)
		n := 0
		for _, c := range copies {
			if c != nil {
				n++
			}
		}
		if n > 50 {
			t.Errorf("%d annotated copies, each reading two licences", n)
		}
	})
	t.Run("51 aliased versions of a licence of two versions", func(t *testing.T) {
		capped(t, e.s.Do(e.clerk, `query($c: ID!) { certificate(id: $c) { id`+secAliases(51, func(int) string { return "versions { id }" })+` } }`, map[string]any{"c": two}), 100)
	})
	t.Run("51 aliased me.certificates", func(t *testing.T) {
		capped(t, e.s.Do(e.owner, `{ me {`+secAliases(51, func(int) string { return "certificates { id }" })+` } }`, nil), 100)
	})
	t.Run("aliased objection certificates", func(t *testing.T) {
		n := 101/len(objs.Objections) + 1
		capped(t, e.s.Do(e.clerk, "{"+secAliases(n, func(int) string { return "objections { certificate { id } }" })+" }", nil), 100)
	})
	t.Run("300 aliased verifyCertificate", func(t *testing.T) {
		// With the right codes (as the issuer reads them), so that every
		// alias could be answered.
		known := []string{e.food, e.business, two}
		codes := map[string]string{}
		for _, id := range known {
			var out struct {
				Certificate struct{ VerificationCode string }
			}
			e.do(t, e.clerk, `query($c: ID!) { certificate(id: $c) { verificationCode } }`, map[string]any{"c": id}).Decode(t, &out)
			codes[id] = out.Certificate.VerificationCode
		}
		r := e.s.Do("", "{"+secAliases(300, func(i int) string {
			id := known[i%len(known)]
			return fmt.Sprintf(`verifyCertificate(id: "%s", code: "%s") { found citable }`, id, codes[id])
		})+" }", nil)
		secSane(t, r)
		var got map[string]*struct{ Found bool }
		if err := json.Unmarshal(r.Data, &got); err != nil {
			t.Fatal(err)
		}
		answered := 0
		for _, v := range got {
			if v != nil && v.Found {
				answered++
			}
		}
		if answered > 100 {
			t.Fatalf("regression (per issue 8): %d aliased verifyCertificate answered in one request; certificate.Service.Verify spends no per-request budget, so only the complexity limit (2000) bounds them", answered)
		}
		if r.Code() != "FORBIDDEN" && r.Code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Errorf("%d answered, %+v", answered, r.Errors[:min(len(r.Errors), 2)])
		}
	})
	// Then 101 licences of the building company, in one batch, for lists
	// of 100 and reads of 101 different licences.
	var inputs []any
	for i := range 101 {
		inputs = append(inputs, map[string]any{"typeCode": demo.FoodLicence, "mode": "OFFLINE", "idempotencyKey": fmt.Sprint("sec-alias-", i),
			"holder": map[string]any{"code": "91350100MA0000002T", "name": "福州示例建筑工程有限公司", "kind": "ORGANIZATION"},
			"data":   secWith(secFood, "premises", fmt.Sprint("示例路", i))})
	}
	var batch struct {
		IssueCertificates struct {
			Created int
			Items   []struct{ Certificate struct{ ID string } }
		}
	}
	e.do(t, e.clerk, `mutation($in: [IssueInput!]!) { issueCertificates(inputs: $in) { created items { certificate { id } } } }`, map[string]any{"in": inputs}).Decode(t, &batch)
	if batch.IssueCertificates.Created != 101 {
		t.Fatalf("seeded %d licences", batch.IssueCertificates.Created)
	}
	var ids []string
	for _, it := range batch.IssueCertificates.Items {
		ids = append(ids, it.Certificate.ID)
	}
	before = before.plus(secCounts{"licences": 101, "licences VALID": 101})
	read := func(i int) string { return fmt.Sprintf(`certificate(id: "%s") { id }`, ids[i%len(ids)]) }
	list := `certificates(first: 100) { edges { node { id } } }`

	t.Run("300 aliased certificate reads", func(t *testing.T) {
		capped(t, e.s.Do(e.clerk, "{"+secAliases(300, read)+" }", nil), 100)
	})
	t.Run("300 aliased reads of one licence", func(t *testing.T) {
		capped(t, e.s.Do(e.clerk, "{"+secAliases(300, func(int) string { return read(0) })+" }", nil), 100)
	})
	t.Run("control: 100 aliased reads are within the cap", func(t *testing.T) {
		r := e.do(t, e.clerk, "{"+secAliases(100, read)+" }", nil)
		if r.Code() != "" || secLicences(t, r) != 100 {
			t.Fatalf("%d licences, %+v", secLicences(t, r), r.Errors)
		}
	})
	t.Run("a list of 100 and one aliased read", func(t *testing.T) {
		capped(t, e.s.Do(e.clerk, "{ "+list+" one: "+read(5)+" }", nil), 100)
	})
	t.Run("two aliased lists of 100", func(t *testing.T) {
		capped(t, e.s.Do(e.clerk, "{ a: "+list+" b: "+list+" }", nil), 100)
	})
	t.Run("one fragment spread 300 times is one list", func(t *testing.T) {
		doc := "{" + strings.Repeat(" ...L", 300) + " } fragment L on Query { " + list + " }"
		r := e.do(t, e.clerk, doc, nil)
		if r.Code() != "" || secLicences(t, r) != 100 {
			t.Fatalf("%d licences, %+v", secLicences(t, r), r.Errors)
		}
		capped(t, e.s.Do(e.clerk, "{"+strings.Repeat(" ...L", 300)+" ...R } fragment L on Query { "+list+" } fragment R on Query { one: "+read(7)+" }", nil), 100)
	})
	t.Run("fragments giving one alias two arguments", func(t *testing.T) {
		r := e.do(t, e.clerk, "{ ...A ...B } fragment A on Query { x: "+read(1)+" } fragment B on Query { x: "+read(2)+" }", nil)
		if r.Code() != "INVALID_INPUT" || secLicences(t, r) != 0 {
			t.Fatalf("%+v", r.Errors)
		}
	})
	t.Run("a JSON array of operations", func(t *testing.T) {
		code := secCreditCode(t, 7000+e.next())
		one, _ := json.Marshal(map[string]any{"query": "{ " + list + " }"})
		mut, _ := json.Marshal(map[string]any{"query": secRegisterUnit, "variables": map[string]any{"c": code}})
		body := "[" + strings.Repeat(string(one)+",", 3) + string(mut) + "]"
		r := e.s.Post(e.office, []byte(body))
		if secLicences(t, r) != 0 || r.Status < 400 {
			t.Errorf("a batch was executed: HTTP %d, %d licences", r.Status, secLicences(t, r))
		}
		var out struct{ Unit *struct{ Code string } }
		e.do(t, e.office, `query($c: ID!) { unit(code: $c) { code } }`, map[string]any{"c": code}).Decode(t, &out)
		if out.Unit != nil {
			t.Error("the batched mutation registered its unit")
		}
		if r.Code() == "INTERNAL" {
			t.Fatalf("regression: a JSON array body (or any JSON that is not an object of the GraphQL request shape) is answered HTTP %d INTERNAL: "+
				"gqlgen's POST transport fails to decode it and server.presentError maps the code-less gqlerror to INTERNAL; want 400 INVALID_INPUT", r.Status)
		}
		if r.Status != 400 || r.Code() != "INVALID_INPUT" {
			t.Errorf("HTTP %d %+v", r.Status, r.Errors)
		}
	})
	t.Run("request bodies not of the GraphQL shape", func(t *testing.T) {
		for name, body := range map[string]string{
			"a string":                `"{ units { code } }"`,
			"an operator as query":    `{"query": {"$ne": null}}`,
			"variables not an object": `{"query": "{ units { code } }", "variables": "x"}`,
			"an operator as name":     `{"query": "{ units { code } }", "operationName": {"$gt": ""}}`,
			"a list as query":         `{"query": ["{ units { code } }"]}`,
			// Duplicate keys: the last is an object, an earlier one is not.
			"variables twice":  `{"query": "{ units { code } }", "variables": [], "variables": {}}`,
			"Variables cased":  `{"query": "{ units { code } }", "Variables": "110101199001011234", "variables": null}`,
			"extensions twice": `{"query": "{ units { code } }", "extensions": 1, "extensions": {}}`,
		} {
			t.Run(name, func(t *testing.T) {
				r := e.s.Post(e.office, []byte(body))
				if len(r.Data) > 0 && string(r.Data) != "null" {
					t.Errorf("%s was executed: %s", body, r.Data)
				}
				if r.Code() == "INTERNAL" {
					t.Fatalf("regression: %s is answered HTTP %d INTERNAL, want 400 INVALID_INPUT (the same defect as the JSON array)", body, r.Status)
				}
				if r.Status != 400 || r.Code() != "INVALID_INPUT" {
					t.Errorf("%s: HTTP %d %+v", body, r.Status, r.Errors)
				}
			})
		}
	})
	t.Run("other content types are not executed", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
			t.Run(fmt.Sprintf("Content-Type %q", ct), func(t *testing.T) {
				code := secCreditCode(t, 7000+e.next())
				b, _ := json.Marshal(map[string]any{"query": secRegisterUnit, "variables": map[string]any{"c": code}})
				h := http.Header{"Authorization": {"Bearer " + e.office}}
				if ct != "" {
					h.Set("Content-Type", ct)
				}
				status, r := secRaw(t, http.MethodPost, e.s.URL+"/graphql", h, string(b))
				if status < 400 || status >= 500 || len(r.Data) > 0 && string(r.Data) != "null" {
					t.Errorf("HTTP %d %s", status, r.Data)
				}
				var out struct{ Unit *struct{ Code string } }
				e.do(t, e.office, `query($c: ID!) { unit(code: $c) { code } }`, map[string]any{"c": code}).Decode(t, &out)
				if out.Unit != nil {
					t.Error("the mutation registered its unit")
				}
				if r.Code() == "" {
					t.Fatalf("regression: refused with HTTP %d but without extensions.code: gqlgen's handler answers \"transport not supported\" itself, past server.presentError; want 400 (or 415) INVALID_INPUT", status)
				}
				if r.Code() != "INVALID_INPUT" {
					t.Errorf("%+v", r.Errors)
				}
			})
		}
	})
	if d := e.counts(t).diff(before); d != "" {
		t.Errorf("changed:%s", d)
	}
}

// bombs sends queries built to exhaust the server; each is refused with
// its code and the server answers the next request.
func (e *secEnv) bombs(t *testing.T) {
	alive := func(t *testing.T) {
		t.Helper()
		var out struct{ Units []struct{ Code string } }
		e.do(t, e.office, `{ units { code } }`, nil).Decode(t, &out)
		if len(out.Units) < 5 {
			t.Fatalf("after the bomb: %+v", out)
		}
	}
	before := e.counts(t)
	long := strings.Repeat("x", 900<<10)
	for _, c := range []struct {
		name  string
		query string
		vars  map[string]any
		code  string
		msg   string // in the error, or in the data when code is ""
	}{
		{"2500 aliases of a scalar", "{ me {" + secAliases(2500, func(int) string { return "subject" }) + " } }", nil, "COMPLEXITY_LIMIT_EXCEEDED", ""},
		{"500 aliased nested lists below the root", "{ certificates(first: 1) { edges { node {" + secAliases(500, func(int) string { return "versions { type { issuer { code } } }" }) + " } } } }", nil, "COMPLEXITY_LIMIT_EXCEEDED", ""},
		{"versions nested 14 deep", "{ certificate(id: \"" + e.food + "\") {" + strings.Repeat(" versions {", 13) + " id" + strings.Repeat(" }", 13) + " } }", nil, "COMPLEXITY_LIMIT_EXCEEDED", "limit 12"},
		{"20000 tokens", "{ me {" + strings.Repeat(" subject", 20000) + " } }", nil, "INVALID_INPUT", ""},
		{"a thousand operations without operationName", strings.Repeat("query Q { units { code } } ", 1000), nil, "INVALID_INPUT", ""},
		{"a directive repeated", "{ units" + strings.Repeat(" @include(if: true)", 500) + " { code } }", nil, "INVALID_INPUT", ""},
		{"a 900 KiB code", `query($x: ID!) { unit(code: $x) { code } }`, map[string]any{"x": long}, "", `{"unit":null}`},
		{"a 900 KiB document to verify", `query($x: String!) { verifyDocument(document: $x) { found reasons } }`, map[string]any{"x": long}, "", `"found":false,"reasons":["the document is larger than 256 KiB"]`},
		{"a 900 KiB case number", openCaseQ, map[string]any{"in": map[string]any{"caseNo": long, "holderCode": secRestaurant, "matterCode": "350100-SP-0001"}}, "INVALID_INPUT", ""},
		{"a 900 KiB licence field", `mutation($in: IssueInput!) { issueCertificate(input: $in) { id } }`,
			issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", secWith(secFood, "scope", long)), "INVALID_INPUT", ""},
		{"licence data nested 5000 deep", `mutation($in: IssueInput!) { issueCertificate(input: $in) { id } }`,
			issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", secWith(secFood, "scope", secNested(5000))), "INVALID_INPUT", ""},
		{"policy input nested 5000 deep", `query($x: JSON!) { explainDecision(query: "data.certd.authz.allow", input: $x) { allowed } }`,
			map[string]any{"x": map[string]any{"a": secNested(5000)}}, "", `"allowed":false`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := e.clerk
			if strings.Contains(c.query, "explainDecision") {
				tok = e.admin
			} else if strings.Contains(c.query, "openCase") {
				tok = e.staff
			}
			r := e.s.Do(tok, c.query, c.vars)
			secSane(t, r)
			if r.Code() != c.code || c.code != "" && c.msg != "" && !strings.Contains(r.Errors[0].Message, c.msg) || c.code == "" && !strings.Contains(string(r.Data), c.msg) {
				t.Errorf("HTTP %d, want %q %q: %.300s %+v", r.Status, c.code, c.msg, r.Data, r.Errors[:min(len(r.Errors), 2)])
			}
			alive(t)
		})
	}
	t.Run("a body over the default limit of 1 MiB", func(t *testing.T) {
		b, _ := json.Marshal(map[string]any{"query": `query($x: ID!) { unit(code: $x) { code } }`, "variables": map[string]any{"x": strings.Repeat("x", 1<<20)}})
		r := e.s.Post(e.clerk, b)
		if r.Status != 413 || r.Code() != "INVALID_INPUT" {
			t.Errorf("HTTP %d %+v", r.Status, r.Errors)
		}
		alive(t)
	})
	t.Run("a JSON body nested 20000 deep", func(t *testing.T) {
		r := e.s.Post(e.clerk, []byte(`{"query": "{ units { code } }", "variables": {"x": `+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}}`))
		if r.Status != 400 || r.Code() != "INVALID_INPUT" {
			t.Errorf("HTTP %d %+v", r.Status, r.Errors)
		}
		alive(t)
	})
	if d := e.counts(t).diff(before); d != "" {
		t.Errorf("changed:%s", d)
	}
}

// secNested is a JSON array nested depth deep.
func secNested(depth int) any {
	var v any = "x"
	for range depth {
		v = []any{v}
	}
	return v
}

// secProduction starts certd in production mode trusting three external
// keys, one of each family: Ed25519, RSA and P-256, in one PEM file.
func secProduction(t *testing.T) (s *testkit.Server, pemFile []byte, ed ed25519.PrivateKey, rs *rsa.PrivateKey, ec *ecdsa.PrivateKey) {
	t.Helper()
	_, ed, _ = ed25519.GenerateKey(rand.Reader)
	rs = secRSAKey(t)
	ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemFile = append(append(secPEM(t, ed.Public()), secPEM(t, &rs.PublicKey)...), secPEM(t, &ec.PublicKey)...)
	path := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(path, pemFile, 0o600); err != nil {
		t.Fatal(err)
	}
	s = testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) {
		c.Production = true
		c.JWTPublicKeys = []string{path}
		c.JWTIssuer, c.JWTAudience = secIdP, "certd"
		c.MasterKey = testMasterKey
		c.PublicURL = "https://certd.city.example"
	}))
	return s, pemFile, ed, rs, ec
}

const secIdP = "https://idp.city.example"

// TestSecurityProductionTokens forges tokens against external keys of
// every family, the setting where algorithm confusion (a public key used
// as an HMAC secret, a token of one family verified by a key of another)
// is classically possible. Tokens are checked before any store access.
func TestSecurityProductionTokens(t *testing.T) {
	t.Parallel()
	s, pemFile, ed, rs, ec := secProduction(t)
	claims := func(m func(jwt.MapClaims)) jwt.MapClaims { return secClaims(secIdP, "certd", m) }
	edKID, rsKID, ecKID := secKID(t, ed.Public()), secKID(t, &rs.PublicKey), secKID(t, &ec.PublicKey)
	rsPEM := secPEM(t, &rs.PublicKey)
	otherRS, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherEC384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	forged := map[string]string{
		"HS256 keyed with the trusted PEM file":             secSign(t, jwt.SigningMethodHS256, pemFile, nil, claims(nil)),
		"HS256 keyed with the RSA PEM":                      secSign(t, jwt.SigningMethodHS256, rsPEM, nil, claims(nil)),
		"HS256 keyed with the RSA PEM and the RSA kid":      secSign(t, jwt.SigningMethodHS256, rsPEM, map[string]any{"kid": rsKID}, claims(nil)),
		"HS384 keyed with the RSA modulus":                  secSign(t, jwt.SigningMethodHS384, rs.PublicKey.N.Bytes(), nil, claims(nil)),
		"HS256 keyed with the EC PEM":                       secSign(t, jwt.SigningMethodHS256, secPEM(t, &ec.PublicKey), nil, claims(nil)),
		"HS256 keyed with the Ed25519 key":                  secSign(t, jwt.SigningMethodHS256, []byte(ed.Public().(ed25519.PublicKey)), map[string]any{"kid": edKID}, claims(nil)),
		"RS256 by another RSA key":                          secSign(t, jwt.SigningMethodRS256, otherRS, nil, claims(nil)),
		"RS256 by another RSA key with the RSA kid":         secSign(t, jwt.SigningMethodRS256, otherRS, map[string]any{"kid": rsKID}, claims(nil)),
		"PS512 by another RSA key":                          secSign(t, jwt.SigningMethodPS512, otherRS, nil, claims(nil)),
		"ES256 by another P-256 key":                        secSign(t, jwt.SigningMethodES256, otherEC, nil, claims(nil)),
		"ES256 by another P-256 key with the EC kid":        secSign(t, jwt.SigningMethodES256, otherEC, map[string]any{"kid": ecKID}, claims(nil)),
		"ES384 by a P-384 key":                              secSign(t, jwt.SigningMethodES384, otherEC384, nil, claims(nil)),
		"EdDSA by another Ed25519 key":                      secSign(t, jwt.SigningMethodEdDSA, otherEd, nil, claims(nil)),
		"RS256 by the trusted RSA key under the EC kid":     secSign(t, jwt.SigningMethodRS256, rs, map[string]any{"kid": ecKID}, claims(nil)),
		"ES256 by the trusted EC key under the Ed25519 kid": secSign(t, jwt.SigningMethodES256, ec, map[string]any{"kid": edKID}, claims(nil)),
		"alg none":                                   secUnsigned(t, map[string]any{"alg": "none"}, claims(nil), ""),
		"expired RS256 of the trusted key":           secSign(t, jwt.SigningMethodRS256, rs, nil, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })),
		"RS256 of the trusted key issued in an hour": secSign(t, jwt.SigningMethodRS256, rs, nil, claims(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() })),
	}
	n := 0
	next := func() string { n++; return secCreditCode(t, 8000+n) }
	secForged(t, s, forged, secSign(t, jwt.SigningMethodRS256, rs, nil, claims(nil)), next)
	// Every trusted family works with its own algorithm.
	for name, tok := range map[string]string{
		"EdDSA":                        secSign(t, jwt.SigningMethodEdDSA, ed, nil, claims(nil)),
		"ES256 with its kid":           secSign(t, jwt.SigningMethodES256, ec, map[string]any{"kid": ecKID}, claims(nil)),
		"PS256 of the trusted RSA key": secSign(t, jwt.SigningMethodPS256, rs, nil, claims(nil)),
	} {
		t.Run("control: "+name, func(t *testing.T) {
			if r := s.Do(tok, `{ me { subject } }`, nil); r.Code() != "" {
				t.Fatalf("%+v", r.Errors)
			}
		})
	}
}

// TestSecurityProductionSurface checks that production shows no schema:
// no introspection however it is asked, no GraphiQL anywhere, no field
// suggestions in errors.
func TestSecurityProductionSurface(t *testing.T) {
	t.Parallel()
	prod, _, ed, _, _ := secProduction(t)
	dev := testkit.Start(t, testkit.WithDemo())
	tok := secSign(t, jwt.SigningMethodEdDSA, ed, nil, secClaims(secIdP, "certd", nil))
	devTok := dev.Token("sec", demo.DigitalOffice, identity.RoleDigitalOffice)

	for name, q := range map[string]string{
		"__type":                         `{ __type(name: "Certificate") { name fields { name } } }`,
		"__schema under an alias":        `{ s: __schema { types { name } } }`,
		"__schema in a fragment":         `{ ...F } fragment F on Query { __schema { queryType { name } } }`,
		"__type next to a field":         `{ units { code } t: __type(name: "Query") { fields { name args { name } } } }`,
		"__schema in an inline fragment": `{ ... on Query { __schema { mutationType { fields { name } } } } }`,
	} {
		t.Run("introspection off: "+name, func(t *testing.T) {
			r := prod.Do(tok, q, nil)
			if strings.Contains(string(r.Data), "fields") || strings.Contains(string(r.Data), "Certificate") || strings.Contains(string(r.Data), "types") || r.Code() == "" {
				t.Fatalf("the schema shows: HTTP %d %s %+v", r.Status, r.Data, r.Errors)
			}
			// Outside production the same query answers, so the refusal above
			// is production's doing.
			if r := dev.Do(devTok, q, nil); r.Code() != "" {
				t.Errorf("outside production: %+v", r.Errors)
			}
			if r.Code() == "INTERNAL" {
				t.Fatalf("regression: introspection in production is refused as INTERNAL (HTTP %d, logged as an internal error): gqlgen's executor returns a plain \"introspection disabled\" error "+
					"that server.presentError does not map; want a documented code such as INVALID_INPUT or FORBIDDEN", r.Status)
			}
			secSane(t, r)
		})
	}
	t.Run("no field suggestions", func(t *testing.T) {
		r := prod.Do(tok, `{ unitz { code } }`, nil)
		if r.Code() != "INVALID_INPUT" || strings.Contains(r.Errors[0].Message, "Did you mean") {
			t.Errorf("%+v", r.Errors)
		}
		if r := dev.Do(devTok, `{ unitz { code } }`, nil); r.Code() != "INVALID_INPUT" || !strings.Contains(r.Errors[0].Message, "Did you mean") {
			t.Errorf("outside production the suggestion is shown: %+v", r.Errors)
		}
	})
	t.Run("no GraphiQL", func(t *testing.T) {
		for _, path := range []string{"/", "/graphql", "/graphiql", "/playground", "/?query=%7B__typename%7D", "/graphql?query=%7Bunits%7Bcode%7D%7D"} {
			code, body := prod.Get(path)
			if code == 200 || strings.Contains(strings.ToLower(body), "graphiql") || strings.Contains(body, "11350100MB") {
				t.Errorf("GET %s: %d %.200s", path, code, body)
			}
		}
		if code, body := dev.Get("/"); code != 200 || !strings.Contains(body, "graphiql") {
			t.Errorf("outside production GET / is GraphiQL: %d", code)
		}
		// GET /graphql is not a way around POST: not served, whatever the mode.
		if code, body := dev.Get("/graphql?query=%7Bunits%7Bcode%7D%7D"); code != http.StatusMethodNotAllowed || strings.Contains(body, "11350100MB") {
			t.Errorf("GET /graphql outside production: %d %.200s", code, body)
		}
	})
}
