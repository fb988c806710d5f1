package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/certificate"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
)

// newIssuerUnit is registered during the lifecycle test.
const (
	newIssuer = "91350100MA0000003X"
	newType   = newIssuer + "001"
)

type licence struct {
	ID             string
	Version        int
	State          string
	Citable        bool
	Current        bool
	SealedDocument string
	Seal           struct{ Algorithm, Signature, KeyID string }
	Data           map[string]any
	Holder         struct{ Code, Name, Kind string }
	ValidUntil     *string
	Timeliness     struct {
		Mode     string
		Late     bool
		Deadline *string
	}
}

type verification struct {
	ID        string
	Found     bool
	Citable   bool
	SealValid bool
	State     *string
	Reasons   []string
	Issuer    *struct{ Code string }
}

const licenceFields = `id version state citable current sealedDocument seal { algorithm signature keyId } data holder { code name kind } validUntil timeliness { mode late deadline }`

const verifyQ = `query($id: ID!, $code: String) { verifyCertificate(id: $id, code: $code) { id found citable sealValid state reasons issuer { code } } }`

const verifyDocQ = `query($d: String!) { verifyDocument(document: $d) { id found citable sealValid state reasons } }`

func issueVars(typ, holderCode, holderName, kind string, data map[string]any) map[string]any {
	return map[string]any{"in": map[string]any{"typeCode": typ, "holder": map[string]any{"code": holderCode, "name": holderName, "kind": kind}, "data": data}}
}

const issueQ = `mutation($in: IssueInput!) { issueCertificate(input: $in) { ` + licenceFields + ` } }`

func issue(t *testing.T, s *testkit.Server, tok string, vars map[string]any) licence {
	t.Helper()
	var out struct{ IssueCertificate licence }
	s.Do(tok, issueQ, vars).Decode(t, &out)
	return out.IssueCertificate
}

// verify verifies licence id publicly, without a token, with the
// verification code its issuing unit reads (Certificate.verificationCode).
func verify(t *testing.T, s *testkit.Server, id string) verification {
	t.Helper()
	return verifyCode(t, s, id, codeOf(t, s, id))
}

// codeOf reads the verification code of licence id as its issuing unit
// (named in the id); "" when id names no licence.
func codeOf(t *testing.T, s *testkit.Server, id string) string {
	t.Helper()
	parsed, err := certificate.ParseID(id)
	if err != nil {
		return ""
	}
	tok := s.Token("code-reader", parsed.IssuerCode, identity.RoleIssuer)
	var out struct {
		Certificate *struct{ VerificationCode *string }
	}
	r := s.Do(tok, `query($id: ID!) { certificate(id: $id) { verificationCode } }`, map[string]any{"id": id})
	if r.Code() != "" {
		return ""
	}
	r.Decode(t, &out)
	if out.Certificate == nil {
		return ""
	}
	if out.Certificate.VerificationCode == nil {
		t.Fatalf("the issuing unit of %s reads no verification code", id)
	}
	return *out.Certificate.VerificationCode
}

// verifyCode verifies licence id publicly with code ("": none).
func verifyCode(t *testing.T, s *testkit.Server, id, code string) verification {
	t.Helper()
	var out struct{ VerifyCertificate verification }
	vars := map[string]any{"id": id}
	if code != "" {
		vars["code"] = code
	}
	s.Do("", verifyQ, vars).Decode(t, &out)
	return out.VerifyCertificate
}

func verifyDoc(t *testing.T, s *testkit.Server, doc string) verification {
	t.Helper()
	var out struct{ VerifyDocument verification }
	s.Do("", verifyDocQ, map[string]any{"d": doc}).Decode(t, &out)
	return out.VerifyDocument
}

func TestLicenceLifecycleOnSQLite(t *testing.T) {
	runLifecycle(t, testkit.Start(t, testkit.WithDemo()))
}

func TestLicenceLifecycleOnMongo(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	runLifecycle(t, testkit.Start(t, testkit.WithDemo(), testkit.WithMongo(ferrettest.Start(t))))
}

// runLifecycle is the tour a new user takes: register an issuing unit and
// a type, issue, verify publicly, change, suspend, resume, revoke.
func runLifecycle(t *testing.T, s *testkit.Server) {
	office := s.Token("office", demo.DigitalOffice, identity.RoleDigitalOffice)
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: newIssuer, Roles: []string{identity.RoleIssuer}, AMR: []string{"pwd", "cert"}, TTL: time.Hour})

	var u struct {
		RegisterUnit struct{ SealPublicKey string }
	}
	s.Do(office, `mutation { registerUnit(input: {code: "`+newIssuer+`", name: "福州市示例许可局", issuing: true}) { sealPublicKey } }`, nil).Decode(t, &u)
	if !strings.HasPrefix(u.RegisterUnit.SealPublicKey, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("an issuing unit gets an SM2 seal key: %q", u.RegisterUnit.SealPublicKey)
	}
	typeIn := map[string]any{"code": newType, "name": "示例许可证", "category": "示例", "validityMonths": 36, "fields": []any{
		map[string]any{"name": "scope", "label": "许可范围", "type": "STRING", "required": true, "sensitive": false},
		map[string]any{"name": "area", "label": "面积", "type": "NUMBER", "required": false, "sensitive": false},
		map[string]any{"name": "since", "label": "起始日期", "type": "DATE", "required": false, "sensitive": false},
		map[string]any{"name": "chain", "label": "连锁", "type": "BOOLEAN", "required": false, "sensitive": false},
	}}
	s.Do(clerk, registerType, map[string]any{"in": typeIn}).Decode(t, &struct{}{})

	c := issue(t, s, clerk, issueVars(newType, "350102198001010011", "示例个人甲", "PERSON", map[string]any{"scope": "示例经营", "area": 120, "since": "2020-01-02", "chain": true}))
	if c.Version != 1 || c.State != "VALID" || !c.Citable || !c.Current || c.Seal.Algorithm != "SM2-SM3" || c.Data["area"] != 120.0 {
		t.Fatalf("issued %+v", c)
	}
	if c.ValidUntil == nil || c.Timeliness.Mode != "ONLINE" || c.Timeliness.Late {
		t.Fatalf("validity from the type and timeliness: %+v", c)
	}
	if !strings.HasPrefix(c.ID, "1.2.156.3005.2."+newType+"."+newIssuer+".") || !strings.HasSuffix(c.ID[:len(c.ID)-2], ".001") {
		t.Fatalf("identifier %s", c.ID)
	}

	v := verify(t, s, c.ID)
	if !v.Found || !v.Citable || !v.SealValid || *v.State != "VALID" || v.Issuer.Code != newIssuer || len(v.Reasons) != 0 {
		t.Fatalf("public verification %+v", v)
	}
	if v := verifyCode(t, s, c.ID, ""); v.Found || v.State != nil || v.Issuer != nil || v.Reasons[0] != certificate.Unverified {
		t.Fatalf("public verification without the code: %+v", v)
	}
	if v := verifyDoc(t, s, c.SealedDocument); !v.SealValid || !v.Citable {
		t.Fatalf("verifyDocument of the sealed document: %+v", v)
	}
	edited := strings.Replace(c.SealedDocument, "示例经营", "示例经营！", 1)
	if v := verifyDoc(t, s, edited); v.SealValid || v.Citable || len(v.Reasons) == 0 {
		t.Fatalf("an edited document verified: %+v", v)
	}
	oneByte := []byte(c.SealedDocument)
	oneByte[len(oneByte)/2] ^= 0x01
	if v := verifyDoc(t, s, string(oneByte)); v.SealValid {
		t.Fatalf("a one-byte change verified: %+v", v)
	}
	env, _ := json.Marshal(map[string]any{"document": c.SealedDocument, "seal": map[string]any{"algorithm": c.Seal.Algorithm, "signature": c.Seal.Signature, "keyId": c.Seal.KeyID, "sealedAt": "2026-01-01T00:00:00Z"}})
	if v := verifyDoc(t, s, string(env)); !v.SealValid || !v.Citable {
		t.Fatalf("a document with its own seal: %+v", v)
	}

	var ch struct{ ChangeCertificate licence }
	s.Do(clerk, `mutation($id: ID!) { changeCertificate(id: $id, data: {scope: "示例经营（扩大）", area: 200}, reason: "经营范围变更") { `+licenceFields+` } }`,
		map[string]any{"id": c.ID}).Decode(t, &ch)
	c2 := ch.ChangeCertificate
	if c2.Version != 2 || c2.ID == c.ID || !c2.Citable || c2.Data["scope"] != "示例经营（扩大）" {
		t.Fatalf("changed %+v", c2)
	}
	if old := verify(t, s, c.ID); old.Citable || *old.State != "SUPERSEDED" || !old.SealValid {
		t.Fatalf("the old version after a change: %+v", old)
	}
	if r := s.Do(clerk, `mutation($id: ID!) { setCertificateState(id: $id, action: SUSPEND, reason: "x") { id } }`, map[string]any{"id": c.ID}); r.Code() != "CONFLICT" {
		t.Fatalf("acting on a superseded version: %+v", r.Errors)
	}

	setState := func(action string) (licence, *testkit.Response) {
		var out struct{ SetCertificateState licence }
		r := s.Do(clerk, `mutation($id: ID!, $a: StateAction!) { setCertificateState(id: $id, action: $a, reason: "依法处理") { `+licenceFields+` } }`,
			map[string]any{"id": c2.ID, "a": action})
		if r.Code() == "" {
			r.Decode(t, &out)
		}
		return out.SetCertificateState, r
	}
	if got, _ := setState("SUSPEND"); got.State != "SUSPENDED" || got.Citable {
		t.Fatalf("suspended %+v", got)
	}
	if v := verify(t, s, c2.ID); v.Citable || *v.State != "SUSPENDED" {
		t.Fatalf("verify suspended %+v", v)
	}
	if got, _ := setState("RESUME"); got.State != "VALID" || !got.Citable {
		t.Fatalf("resumed %+v", got)
	}
	if got, _ := setState("REVOKE"); got.State != "REVOKED" || got.Citable {
		t.Fatalf("revoked %+v", got)
	}
	if _, r := setState("RESUME"); r.Code() != "CONFLICT" {
		t.Fatalf("resume after revoke: %+v", r.Errors)
	}
	var hist struct {
		Certificate struct {
			History  []struct{ Action, By, Reason string }
			Versions []struct {
				Version int
				State   string
			}
		}
	}
	s.Do(clerk, `query($id: ID!) { certificate(id: $id) { history { action by reason } versions { version state } } }`, map[string]any{"id": c2.ID}).Decode(t, &hist)
	h := hist.Certificate.History
	if len(h) != 4 || h[0].Action != "CHANGE" || h[3].Action != "REVOKE" || h[3].By != "clerk" || len(hist.Certificate.Versions) != 2 ||
		hist.Certificate.Versions[0].State != "SUPERSEDED" {
		t.Fatalf("history %+v", hist)
	}
}

func TestIssuanceBadInput(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	food := map[string]any{"operatorName": "某店", "premises": "某路", "mainForm": "餐饮", "scope": "热食"}
	cases := map[string]struct {
		vars map[string]any
		code string
		msg  string
	}{
		"unknown type":         {issueVars(demo.MarketRegistry+"999", "350102198001010011", "示例个人甲", "PERSON", food), "INVALID_INPUT", "not in the catalogue"},
		"another unit's type":  {issueVars(demo.PhysicianLicence, "350102198001010011", "示例个人甲", "PERSON", food), "FORBIDDEN", "issued by"},
		"missing field":        {issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", map[string]any{"operatorName": "x"}), "INVALID_INPUT", "required"},
		"wrong field type":     {issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", merge(food, "centralKitchen", "yes")), "INVALID_INPUT", "true or false"},
		"unknown field":        {issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", merge(food, "$where", "1")), "INVALID_INPUT", "does not have"},
		"bad resident id":      {issueVars(demo.FoodLicence, "350102198001010012", "示例个人甲", "PERSON", food), "INVALID_INPUT", "GB 11643"},
		"bad credit code":      {issueVars(demo.FoodLicence, "91350100MA0000001X", "某公司", "ORGANIZATION", food), "INVALID_INPUT", "GB 32100"},
		"name not in registry": {issueVars(demo.FoodLicence, "350102198001010011", "示例个人丁", "PERSON", food), "INVALID_INPUT", "does not match"},
		"data not an object":   {map[string]any{"in": map[string]any{"typeCode": demo.FoodLicence, "holder": map[string]any{"code": "350102198001010011", "name": "示例个人甲", "kind": "PERSON"}, "data": []any{1}}}, "INVALID_INPUT", "JSON object"},
	}
	for name, c := range cases {
		r := s.Do(clerk, issueQ, c.vars)
		if r.Code() != c.code || !strings.Contains(r.Errors[0].Message, c.msg) {
			t.Errorf("%s: got %+v, want %s containing %q", name, r.Errors, c.code, c.msg)
		}
	}
	var out struct {
		Certificates struct{ TotalCount int }
	}
	s.Do(clerk, `{ certificates { totalCount } }`, nil).Decode(t, &out)
	if out.Certificates.TotalCount != 3 { // the demo's three market licences
		t.Fatalf("bad input stored licences: %d", out.Certificates.TotalCount)
	}

	weak := s.Token("clerk2", demo.MarketRegistry, identity.RoleIssuer) // amr pwd only
	if r := s.Do(weak, issueQ, issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", food)); r.Code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "strong authentication") {
		t.Fatalf("issuing without strong authentication: %+v", r.Errors)
	}

	for _, id := range []string{"1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Z", "not-an-id", `{"$gt":""}`} {
		if r := s.Do(clerk, `query($id: ID!) { certificate(id: $id) { id } }`, map[string]any{"id": id}); r.Code() != "INVALID_INPUT" {
			t.Errorf("certificate(%q): %+v", id, r.Errors)
		}
		v := verify(t, s, id)
		if v.Found || v.SealValid || len(v.Reasons) == 0 {
			t.Errorf("verify %q: %+v", id, v)
		}
	}
	if v := verify(t, s, "1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y"); v.Found || v.Reasons[0] != certificate.Unverified {
		t.Errorf("a well-formed unknown id: %+v", v)
	}
	if v := verifyDoc(t, s, `{"format":"certd-licence/1","id":"`+`x"}`); v.Found || v.SealValid {
		t.Errorf("a forged document: %+v", v)
	}
}

func merge(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

func TestIdempotencyAndBatches(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	food := map[string]any{"operatorName": "某店", "premises": "某路", "mainForm": "餐饮", "scope": "热食"}
	vars := issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", food)
	vars["in"].(map[string]any)["idempotencyKey"] = "order-42"
	first := issue(t, s, clerk, vars)
	again := issue(t, s, clerk, vars)
	if first.ID != again.ID {
		t.Fatalf("the same key gave %s and %s", first.ID, again.ID)
	}
	var inputs []any
	for i := range 120 {
		in := issueVars(demo.FoodLicence, "350102198503150022", "示例个人乙", "PERSON", merge(food, "scope", fmt.Sprint("项目", i)))["in"].(map[string]any)
		in["idempotencyKey"] = fmt.Sprint("batch-", i)
		in["mode"] = "OFFLINE"
		inputs = append(inputs, in)
	}
	inputs[7].(map[string]any)["data"] = map[string]any{"operatorName": "缺字段"}
	inputs[9].(map[string]any)["idempotencyKey"] = "order-42"
	const batchQ = `mutation($in: [IssueInput!]!) { issueCertificates(inputs: $in) { created duplicates failed items { index duplicate error errorCode certificate { id timeliness { late deadline batchSize } } } } }`
	type result struct {
		IssueCertificates struct {
			Created, Duplicates, Failed int
			Items                       []struct {
				Index       int
				Duplicate   bool
				Error       *string
				ErrorCode   *string
				Certificate *struct {
					ID         string
					Timeliness struct {
						Late      bool
						Deadline  string
						BatchSize int
					}
				}
			}
		}
	}
	var out result
	s.Do(clerk, batchQ, map[string]any{"in": inputs}).Decode(t, &out)
	b := out.IssueCertificates
	if b.Created != 118 || b.Duplicates != 1 || b.Failed != 1 || len(b.Items) != 120 {
		t.Fatalf("batch: created %d duplicates %d failed %d", b.Created, b.Duplicates, b.Failed)
	}
	if it := b.Items[7]; it.Error == nil || *it.ErrorCode != "INVALID_INPUT" || it.Certificate != nil {
		t.Fatalf("item 7: %+v", it)
	}
	if it := b.Items[9]; !it.Duplicate || it.Certificate.ID != first.ID {
		t.Fatalf("item 9: %+v", it)
	}
	if tl := b.Items[0].Certificate.Timeliness; tl.BatchSize != 120 || tl.Late {
		t.Fatalf("a batch of 120 has three working days: %+v", tl)
	}
	var again2 result
	s.Do(clerk, batchQ, map[string]any{"in": inputs}).Decode(t, &again2)
	if a := again2.IssueCertificates; a.Created != 0 || a.Duplicates != 119 || a.Failed != 1 {
		t.Fatalf("re-sending the batch: %+v", a)
	}
	// Replays are reads of stored licences: the first 100 carry theirs,
	// the rest say duplicate without one (the per-request cap).
	carried := 0
	for _, it := range again2.IssueCertificates.Items {
		if it.Duplicate && it.Certificate != nil {
			carried++
		}
	}
	if carried != 100 {
		t.Fatalf("a replay of 119 keys returned %d licences, want the cap of 100", carried)
	}

	// Paging through the unit's licences.
	var page struct {
		Certificates struct {
			TotalCount int
			Edges      []struct{ Cursor string }
			PageInfo   struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	seen := 0
	after := ""
	for {
		s.Do(clerk, `query($a: String) { certificates(first: 50, after: $a) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"a": nilIfEmpty(after)}).Decode(t, &page)
		seen += len(page.Certificates.Edges)
		if !page.Certificates.PageInfo.HasNextPage {
			break
		}
		after = page.Certificates.PageInfo.EndCursor
	}
	if seen != page.Certificates.TotalCount || seen != 122 {
		t.Fatalf("paged %d of %d", seen, page.Certificates.TotalCount)
	}
	if r := s.Do(clerk, `{ certificates(after: "AAAA") { totalCount } }`, nil); r.Code() != "INVALID_INPUT" {
		t.Fatalf("tampered cursor: %+v", r.Errors)
	}
	if r := s.Do(clerk, `{ certificates(first: 100000) { edges { cursor } } }`, nil); r.Code() != "" {
		t.Fatalf("a huge page size is capped, not refused: %+v", r.Errors)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestConcurrentChangesOneWins(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	c := issue(t, s, clerk, issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", map[string]any{"operatorName": "某店", "premises": "某路", "mainForm": "餐饮", "scope": "热食"}))
	var wg sync.WaitGroup
	codes := make([]string, 6)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := `mutation($id: ID!, $d: JSON!) { changeCertificate(id: $id, data: $d, reason: "更正") { id } }`
			if i%2 == 1 {
				q = `mutation($id: ID!) { setCertificateState(id: $id, action: SUSPEND, reason: "核查") { id } }`
			}
			r := s.Do(clerk, q, map[string]any{"id": c.ID, "d": map[string]any{"operatorName": fmt.Sprint("店", i), "premises": "某路", "mainForm": "餐饮", "scope": "热食"}})
			codes[i] = r.Code()
		}()
	}
	wg.Wait()
	wins := 0
	for _, c := range codes {
		switch c {
		case "":
			wins++
		case "CONFLICT":
		default:
			t.Errorf("unexpected code %s", c)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of 6 concurrent changes won: %v", wins, codes)
	}
}

func TestReadersAndExpiry(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.Now = clock }))
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	vars := issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", map[string]any{"operatorName": "某店", "premises": "某路", "mainForm": "餐饮", "scope": "热食"})
	vars["in"].(map[string]any)["validUntil"] = "2026-11-30"
	c := issue(t, s, clerk, vars)

	owner := s.TokenFor(identity.TokenRequest{Subject: "zhang", Roles: []string{identity.RoleHolder}, Holder: "350102198001010011", AMR: []string{"pwd"}, TTL: time.Hour})
	stranger := s.TokenFor(identity.TokenRequest{Subject: "li", Roles: []string{identity.RoleHolder}, Holder: "350102198503150022", AMR: []string{"pwd"}, TTL: time.Hour})
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	q := `query($id: ID!) { certificate(id: $id) { id holder { name } } }`
	if r := s.Do(owner, q, map[string]any{"id": c.ID}); r.Code() != "" {
		t.Fatalf("the holder reads their licence: %+v", r.Errors)
	}
	for name, tok := range map[string]string{"another holder": stranger, "staff outside a case": staff} {
		if r := s.Do(tok, q, map[string]any{"id": c.ID}); r.Code() != "FORBIDDEN" {
			t.Errorf("%s: %+v", name, r.Errors)
		}
	}

	// Past validUntil: not citable at once, EXPIRED after a sweep.
	mu.Lock()
	now = time.Date(2026, 11, 30, 16, 30, 0, 0, time.UTC) // 1 December in the city
	mu.Unlock()
	if v := verify(t, s, c.ID); v.Citable || *v.State != "VALID" || !strings.Contains(strings.Join(v.Reasons, ";"), "expired after 2026-11-30") {
		t.Fatalf("read-time expiry: %+v", v)
	}
	n, err := s.App.Licences.Sweep(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("sweep expired %d (%v)", n, err)
	}
	if v := verify(t, s, c.ID); v.Citable || *v.State != "EXPIRED" {
		t.Fatalf("after the sweep: %+v", v)
	}
	if r := s.Do(owner, q, map[string]any{"id": c.ID}); r.Code() != "" {
		t.Fatalf("an expired licence stays readable as history: %+v", r.Errors)
	}
	var rn struct{ RenewCertificate licence }
	s.Do(clerk, `mutation($id: ID!) { renewCertificate(id: $id, validUntil: "2031-11-30") { `+licenceFields+` } }`, map[string]any{"id": c.ID}).Decode(t, &rn)
	if rn.RenewCertificate.Version != 2 || !rn.RenewCertificate.Citable || *rn.RenewCertificate.ValidUntil != "2031-11-30" {
		t.Fatalf("renewed %+v", rn.RenewCertificate)
	}
	if v := verify(t, s, c.ID); v.Citable || *v.State != "EXPIRED" {
		t.Fatalf("the expired version after renewal: %+v", v)
	}
}

func TestTimeliness(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	clerk := s.TokenFor(identity.TokenRequest{Subject: "clerk", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour})
	food := map[string]any{"operatorName": "某店", "premises": "某路", "mainForm": "餐饮", "scope": "热食"}
	late := issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", food)
	late["in"].(map[string]any)["mode"] = "OFFLINE"
	late["in"].(map[string]any)["businessCompletedAt"] = time.Now().Add(-72 * time.Hour).Format(time.RFC3339)
	if c := issue(t, s, clerk, late); !c.Timeliness.Late || c.Timeliness.Mode != "OFFLINE" {
		t.Fatalf("offline three days after completion is late: %+v", c.Timeliness)
	}
	stock := issueVars(demo.FoodLicence, "350102198001010011", "示例个人甲", "PERSON", food)
	stock["in"].(map[string]any)["mode"] = "STOCK"
	stock["in"].(map[string]any)["businessCompletedAt"] = "2015-06-01T00:00:00Z"
	importer := s.TokenFor(identity.TokenRequest{Subject: "importer", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer, identity.RoleImporter}, AMR: []string{"cert"}, TTL: time.Hour})
	if c := issue(t, s, importer, stock); c.Timeliness.Late || c.Timeliness.Deadline != nil {
		t.Fatalf("stock licences have no deadline: %+v", c.Timeliness)
	}
}
