package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/certificate"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// The verification tests sweep a real certd from the outside, as an
// anonymous script would: no answer to public verification without the
// licence's code says anything about an identifier, the right code
// verifies, and bursts are throttled per client address.

const (
	vfBurst = 5
	vfRate  = 1 // a minute: no token comes back during a test step, however slow the machine
)

// TestPublicVerification runs behind a trusted proxy on loopback, so that
// each test step can speak from its own client address
// (X-Forwarded-For), with a small burst.
func TestPublicVerification(t *testing.T) {
	t.Parallel()
	onBothStores(t, runPublicVerification, testkit.WithConfig(func(c *app.Config) {
		c.VerifyRate, c.VerifyBurst = vfRate, vfBurst
		c.TrustedProxies = []string{"127.0.0.1", "::1"}
	}))
}

// vfEnv is a demo certd with licences in every state and the tokens the
// tests use.
type vfEnv struct {
	s                        *testkit.Server
	clerk, owner, stranger   string // issuer, holder of the licences, another holder
	otherClerk, staff, super string
	byState                  map[string]string // state → licence id
	codes                    map[string]string // licence id → its code, as the holder reads it
	addr                     int
}

const vfHolder = "350102198001010011" // 示例个人甲 of the demo registry

func newVfEnv(t *testing.T, s *testkit.Server) *vfEnv {
	strong := func(sub, org string, roles ...string) string {
		return s.TokenFor(identity.TokenRequest{Subject: sub, Org: org, Roles: roles, AMR: []string{"pwd", "cert"}, TTL: time.Hour})
	}
	e := &vfEnv{s: s, byState: map[string]string{}, codes: map[string]string{},
		clerk:      strong("vf-clerk", demo.MarketRegistry, identity.RoleIssuer),
		otherClerk: strong("vf-other", demo.HealthBureau, identity.RoleIssuer),
		staff:      strong("vf-staff", demo.ServiceCentre, identity.RoleStaff),
		super:      strong("vf-super", demo.DigitalOffice, identity.RoleSupervisor, identity.RoleDigitalOffice),
		owner: s.TokenFor(identity.TokenRequest{Subject: "vf-owner", Roles: []string{identity.RoleHolder}, Holder: vfHolder,
			AMR: []string{"pwd"}, TTL: time.Hour}),
		stranger: s.TokenFor(identity.TokenRequest{Subject: "vf-stranger", Roles: []string{identity.RoleHolder}, Holder: "350102198503150022",
			AMR: []string{"pwd"}, TTL: time.Hour}),
	}
	food := map[string]any{"operatorName": "示例个人甲", "premises": "某路1号", "mainForm": "餐饮", "scope": "热食"}
	for _, action := range []string{"", "SUSPEND", "PLEDGE", "REPORT_LOST", "REVOKE", "CHANGE"} {
		c := issue(t, s, e.clerk, issueVars(demo.FoodLicence, vfHolder, "示例个人甲", "PERSON", food))
		switch action {
		case "":
			e.byState["VALID"] = c.ID
		case "CHANGE":
			var ch struct{ ChangeCertificate struct{ ID string } }
			s.Do(e.clerk, `mutation($id: ID!) { changeCertificate(id: $id, data: {operatorName: "示例个人甲", premises: "某路2号", mainForm: "餐饮", scope: "热食"}, reason: "变更") { id } }`,
				map[string]any{"id": c.ID}).Decode(t, &ch)
			e.byState["SUPERSEDED"] = c.ID
		default:
			var st struct{ SetCertificateState struct{ State string } }
			s.Do(e.clerk, `mutation($id: ID!, $a: StateAction!) { setCertificateState(id: $id, action: $a, reason: "依法处理") { state } }`,
				map[string]any{"id": c.ID, "a": action}).Decode(t, &st)
			e.byState[st.SetCertificateState.State] = c.ID
		}
	}
	var mine struct {
		Me struct {
			Certificates []struct {
				ID               string
				VerificationCode *string
			}
		}
	}
	s.Do(e.owner, `{ me { certificates { id verificationCode } } }`, nil).Decode(t, &mine)
	for _, c := range mine.Me.Certificates {
		if c.VerificationCode == nil {
			t.Fatalf("the holder reads no verification code of %s", c.ID)
		}
		e.codes[c.ID] = *c.VerificationCode
	}
	for state, id := range e.byState {
		if e.codes[id] == "" {
			t.Fatalf("no code for the %s licence %s", state, id)
		}
	}
	return e
}

// from is a new client address, as the trusted proxy reports it.
func (e *vfEnv) from() string {
	e.addr++
	return fmt.Sprintf("198.51.%d.%d", 100+e.addr/250, e.addr%250+1)
}

// post sends a GraphQL request from client address addr.
func (e *vfEnv) post(t *testing.T, addr, tok, query string, vars map[string]any) *testkit.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.s.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
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
		t.Fatalf("not JSON (%d): %s", resp.StatusCode, raw)
	}
	out.Data, out.Errors = env.Data, env.Errors
	return out
}

// get fetches GET /verify from client address addr.
func (e *vfEnv) get(t *testing.T, addr, id, code string) (int, http.Header, string) {
	t.Helper()
	q := url.Values{"id": {id}}
	if code != "" {
		q.Set("code", code)
	}
	req, _ := http.NewRequest(http.MethodGet, e.s.URL+"/verify?"+q.Encode(), nil)
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const vfQ = `query($id: ID!, $code: String) { verifyCertificate(id: $id, code: $code) { id found citable sealValid state issuer { code } reasons } }`

// verifyAs verifies id from addr with tok ("" anonymous) and code ("" none)
// and returns the answer with the id replaced by ID, for comparing.
func (e *vfEnv) verifyAs(t *testing.T, addr, tok, id, code string) (string, bool) {
	t.Helper()
	vars := map[string]any{"id": id}
	if code != "" {
		vars["code"] = code
	}
	r := e.post(t, addr, tok, vfQ, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("verify %s: %+v", id, r.Errors)
	}
	var v struct{ VerifyCertificate struct{ Found bool } }
	_ = json.Unmarshal(r.Data, &v)
	return strings.ReplaceAll(string(r.Data), id, "ID"), v.VerifyCertificate.Found
}

func runPublicVerification(t *testing.T, s *testkit.Server) {
	e := newVfEnv(t, s)
	t.Run("an anonymous sweep learns nothing", e.sweep)
	t.Run("the right code verifies", e.rightCode)
	t.Run("readers verify by id alone", e.readers)
	t.Run("the code is the holder's and the issuer's", e.codeVisibility)
	t.Run("bursts are throttled, aliases one by one", e.throttled)
	t.Run("made-up documents learn nothing", e.documents)
}

// madeUp are well-formed identifiers (valid check characters) that name
// nothing: other versions and serials of real lineages, other issuers.
func (e *vfEnv) madeUp(t *testing.T) []string {
	real := e.byState["VALID"]
	out := []string{otherVersion(t, real, 2), otherVersion(t, real, 77)}
	for _, serial := range []string{"20260000999", "20250000001", "1"} {
		out = append(out, withSerial(t, real, serial))
	}
	out = append(out, "1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y",
		"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F")
	return out
}

func (e *vfEnv) sweep(t *testing.T) {
	ids := e.madeUp(t)
	for _, id := range e.byState {
		ids = append(ids, id)
	}
	answers := map[string][]string{}
	for _, id := range ids {
		for name, code := range map[string]string{"no code": "", "a wrong code": "AAAA-AAAA-AAAA", "another licence's code": e.codes[e.byState["VALID"]]} {
			if id == e.byState["VALID"] && name == "another licence's code" {
				continue // its own code
			}
			a, found := e.verifyAs(t, e.from(), "", id, code)
			if found {
				t.Fatalf("%s with %s: found", id, name)
			}
			answers["graphql "+name] = append(answers["graphql "+name], a)
			// Tokens that may not read the licence change nothing.
			for who, tok := range map[string]string{"another holder": e.stranger, "another unit's issuer": e.otherClerk, "staff outside a case": e.staff, "a supervisor": e.super} {
				a, _ := e.verifyAs(t, e.from(), tok, id, code)
				answers["graphql "+name+" as "+who] = append(answers["graphql "+name+" as "+who], a)
			}
			status, _, body := e.get(t, e.from(), id, code)
			if status != http.StatusOK {
				t.Fatalf("GET /verify %s: %d %s", id, status, body)
			}
			answers["GET "+name] = append(answers["GET "+name], strings.ReplaceAll(body, id, "ID"))
		}
	}
	for kind, as := range answers {
		for _, a := range as {
			if a != as[0] {
				t.Errorf("%s: answers differ:\n%s\n%s", kind, as[0], a)
				break
			}
		}
	}
	t.Logf("%d identifiers (%d real, in states %v), %d kinds of answer, each the same for every identifier",
		len(ids), len(e.byState), keys(e.byState), len(answers))
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (e *vfEnv) rightCode(t *testing.T) {
	for state, id := range e.byState {
		code := e.codes[id]
		var v struct {
			VerifyCertificate struct {
				ID                        string
				Found, Citable, SealValid bool
				State                     string
				Issuer                    struct{ Code string }
			}
		}
		// As printed, and as a person might type it.
		for _, c := range []string{code, strings.ToLower(strings.ReplaceAll(code, "-", " "))} {
			e.post(t, e.from(), "", vfQ, map[string]any{"id": id, "code": c}).Decode(t, &v)
			got := v.VerifyCertificate
			if !got.Found || !got.SealValid || got.State != state || got.Issuer.Code != demo.MarketRegistry || got.Citable != (state == "VALID") {
				t.Errorf("%s licence with code %q: %+v", state, c, got)
			}
		}
		status, _, body := e.get(t, e.from(), id, code)
		if status != http.StatusOK || !strings.Contains(body, `"found":true`) || !strings.Contains(body, `"state":"`+state+`"`) {
			t.Errorf("GET /verify of the %s licence with its code: %d %s", state, status, body)
		}
	}
	// A right code for one version is wrong for another.
	valid, super := e.byState["VALID"], e.byState["SUPERSEDED"]
	if _, found := e.verifyAs(t, e.from(), "", super, e.codes[valid]); found {
		t.Error("one licence's code verified another")
	}
}

func (e *vfEnv) readers(t *testing.T) {
	id := e.byState["SUSPENDED"]
	for who, tok := range map[string]string{"its holder": e.owner, "its issuer": e.clerk} {
		a, found := e.verifyAs(t, e.from(), tok, id, "")
		if !found || !strings.Contains(a, "SUSPENDED") {
			t.Errorf("%s verifying by id: %s", who, a)
		}
	}
	// Staff verify through an open case that shows the licence, by id.
	opened := openCase(t, e.s, e.staff, "VF-1", vfHolder, "350100-SP-0002")
	caseQ := `query($id: ID!, $c: ID!) { verifyCertificate(id: $id, caseId: $c) { found citable state } }`
	var v struct{ VerifyCertificate struct{ Found, Citable bool } }
	e.post(t, e.from(), e.staff, caseQ, map[string]any{"id": e.byState["VALID"], "c": opened.ID}).Decode(t, &v)
	if !v.VerifyCertificate.Found || !v.VerifyCertificate.Citable {
		t.Errorf("staff verifying a licence their case shows: %+v", v)
	}
	// One it does not show (not citable) is answered as the public is.
	e.post(t, e.from(), e.staff, caseQ, map[string]any{"id": id, "c": opened.ID}).Decode(t, &v)
	if v.VerifyCertificate.Found {
		t.Errorf("staff verified through a case a licence it does not show: %+v", v)
	}
	// Another unit's staff cannot use the case.
	other := e.s.TokenFor(identity.TokenRequest{Subject: "vf-housing", Org: demo.HousingBureau, Roles: []string{identity.RoleStaff}, AMR: []string{"pwd"}, TTL: time.Hour})
	if r := e.post(t, e.from(), other, caseQ, map[string]any{"id": e.byState["VALID"], "c": opened.ID}); r.Code() != "FORBIDDEN" {
		t.Errorf("another unit's staff through the case: %+v", r.Errors)
	}
}

func (e *vfEnv) codeVisibility(t *testing.T) {
	id := e.byState["VALID"]
	q := `query($id: ID!) { certificate(id: $id) { verificationCode } }`
	var out struct {
		Certificate struct{ VerificationCode *string }
	}
	e.post(t, e.from(), e.clerk, q, map[string]any{"id": id}).Decode(t, &out)
	if out.Certificate.VerificationCode == nil || *out.Certificate.VerificationCode != e.codes[id] {
		t.Errorf("the issuer reads %v, the holder %s", out.Certificate.VerificationCode, e.codes[id])
	}
	opened := openCase(t, e.s, e.staff, "VF-2", vfHolder, "350100-SP-0002")
	var c struct {
		Case struct {
			Certificates []struct {
				ID               string
				VerificationCode *string
			}
		}
	}
	e.post(t, e.from(), e.staff, `query($id: ID!) { case(id: $id) { certificates { id verificationCode } } }`, map[string]any{"id": opened.ID}).Decode(t, &c)
	if len(c.Case.Certificates) == 0 {
		t.Fatal("the case shows no licence")
	}
	for _, crt := range c.Case.Certificates {
		if crt.VerificationCode != nil {
			t.Errorf("staff read the verification code of %s through a case", crt.ID)
		}
	}
	// The log records the holder's and issuer's reads of the code, not the
	// null staff got.
	office := e.s.Token("vf-office", demo.DigitalOffice, identity.RoleDigitalOffice)
	readers := map[string]bool{}
	for _, r := range accessRecords(t, e.s, office, map[string]any{"certificateId": id}) {
		if slices.Contains(r.Fields, "verificationCode") {
			readers[r.Subject] = true
		}
	}
	if !readers["vf-owner"] || !readers["vf-clerk"] || readers["vf-staff"] {
		t.Errorf("verificationCode recorded as read by %v; want the holder and the issuer, not staff", readers)
	}
}

func (e *vfEnv) throttled(t *testing.T) {
	id := e.byState["VALID"]
	addr := e.from()
	// Each alias counts: a request of burst-2 aliases is answered in
	// full, and leaves two tokens for the next request of four aliases,
	// whose last two are refused one by one.
	aliases := func(n int) string {
		var q strings.Builder
		q.WriteString("{")
		for i := range n {
			fmt.Fprintf(&q, ` v%d: verifyCertificate(id: %q, code: %q) { found }`, i, id, e.codes[id])
		}
		q.WriteString(" }")
		return q.String()
	}
	var got map[string]struct{ Found bool }
	e.post(t, addr, "", aliases(vfBurst-2), nil).Decode(t, &got)
	for k, v := range got {
		if !v.Found {
			t.Errorf("alias %s within the burst: %+v", k, v)
		}
	}
	if len(got) != vfBurst-2 {
		t.Fatalf("%d aliases answered, want %d", len(got), vfBurst-2)
	}
	r := e.post(t, addr, "", aliases(4), nil)
	if len(r.Errors) != 2 {
		t.Fatalf("4 aliases with 2 tokens left: %d refusals, want 2: %+v", len(r.Errors), r.Errors)
	}
	for _, er := range r.Errors {
		if er.Code() != "RATE_LIMITED" || er.Extensions["retryAfter"] == nil {
			t.Errorf("refusal %+v, want RATE_LIMITED with retryAfter", er)
		}
	}
	// GET /verify from the same address: 429 with Retry-After, and no
	// licence data.
	status, h, body := e.get(t, addr, id, e.codes[id])
	if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "RATE_LIMITED") || strings.Contains(body, "found") {
		t.Errorf("GET /verify past the burst: %d Retry-After %q %s", status, h.Get("Retry-After"), body)
	}
	// Attempts without a code count too: a sweep gets nothing for them
	// but a refusal.
	if r := e.post(t, addr, "", vfQ, map[string]any{"id": otherVersion(t, id, 5)}); r.Code() != "RATE_LIMITED" {
		t.Errorf("a code-less attempt past the burst: %+v", r.Errors)
	}
	// Readers verifying by id are not throttled, and another address has
	// its own allowance.
	if _, found := e.verifyAs(t, addr, e.owner, id, ""); !found {
		t.Error("the holder was throttled")
	}
	if _, found := e.verifyAs(t, e.from(), "", id, e.codes[id]); !found {
		t.Error("another address was throttled")
	}
}

func (e *vfEnv) documents(t *testing.T) {
	real := e.byState["REVOKED"]
	q := `query($d: String!) { verifyDocument(document: $d) { id found citable sealValid state issuer { code } reasons } }`
	answer := func(doc string) string {
		r := e.post(t, e.from(), "", q, map[string]any{"d": doc})
		if len(r.Errors) > 0 {
			t.Fatalf("verifyDocument: %+v", r.Errors)
		}
		return string(r.Data)
	}
	made := func(id string) []string {
		bare := `{"format":"certd-licence/1","id":"` + id + `"}`
		env, _ := json.Marshal(map[string]any{"document": bare, "seal": map[string]any{"algorithm": "SM2-SM3", "signature": "MEUCIQ==", "keyId": "x"}})
		return []string{bare, string(env)}
	}
	for i, doc := range made(real) {
		for _, fake := range e.madeUp(t)[:3] {
			if a, b := answer(doc), answer(made(fake)[i]); a != b {
				t.Errorf("a made-up document for a real licence and for nothing differ:\n%s\n%s", a, b)
			}
		}
	}
	// The real sealed document still verifies, for anyone.
	var doc struct {
		Certificate struct{ SealedDocument string }
	}
	e.post(t, e.from(), e.owner, `query($id: ID!) { certificate(id: $id) { sealedDocument } }`, map[string]any{"id": real}).Decode(t, &doc)
	if a := answer(doc.Certificate.SealedDocument); !strings.Contains(a, `"found":true`) || !strings.Contains(a, "REVOKED") {
		t.Errorf("the real document: %s", a)
	}
}

// TestForwardedForNeedsATrustedProxy checks that a client cannot escape
// the limit by writing X-Forwarded-For when no proxy is trusted.
func TestForwardedForNeedsATrustedProxy(t *testing.T) {
	t.Parallel()
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.VerifyRate, c.VerifyBurst = vfRate, 2 }))
	e := &vfEnv{s: s}
	id := "1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y"
	limited := 0
	for i := range 6 {
		if r := e.post(t, fmt.Sprintf("203.0.113.%d", i+1), "", vfQ, map[string]any{"id": id}); r.Code() == "RATE_LIMITED" {
			limited++
		}
	}
	if limited != 4 {
		t.Fatalf("%d of 6 attempts with forged X-Forwarded-For were throttled, want 4 (burst 2, one address)", limited)
	}
}

// withSerial is licence id with another serial, with its check character.
func withSerial(t *testing.T, id, serial string) string {
	t.Helper()
	p, err := certificate.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	p.Serial = serial
	return p.String()
}
