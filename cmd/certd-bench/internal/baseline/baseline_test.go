package baseline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"certd/cmd/certd-bench/internal/loadgen"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

type tokens struct{ staff, holder, issuer string }

// TestBaselinesAnswerAsCertd serves the store baseline and the in-memory
// baseline over the store of a certd with the demo data, and checks that
// both answer the load mix's queries with the same licences and shapes
// as certd, take writes (a licence issued through a baseline is in its
// next holder read), and run the whole mix without an error.
func TestBaselinesAnswerAsCertd(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	day := 24 * time.Hour
	tok := tokens{
		staff: s.Token("load-staff", demo.ServiceCentre, identity.RoleStaff),
		holder: s.TokenFor(identity.TokenRequest{Subject: "load-holder", Roles: []string{identity.RoleHolder}, Holder: loadgen.LoadHolder,
			AMR: []string{"pwd"}, TTL: day}),
		issuer: s.TokenFor(identity.TokenRequest{Subject: "load-issuer", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer},
			AMR: []string{"cert"}, TTL: day}),
	}
	for _, memory := range []bool{false, true} {
		t.Run("memory="+strconv.FormatBool(memory), func(t *testing.T) {
			b, err := New(context.Background(), Options{Store: s.App.Store, DataDir: s.DataDir, Memory: memory})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(b.Handler())
			t.Cleanup(func() { hs.Close(); b.Close() })
			sameAnswers(t, s.URL, hs.URL, tok)
			issueShows(t, hs.URL, tok)
			rep, err := loadgen.Run(context.Background(), loadgen.Options{Server: hs.URL, StaffToken: tok.staff, HolderToken: tok.holder,
				IssuerToken: tok.issuer, Concurrency: 2, Duration: 500 * time.Millisecond,
				Mix: map[string]int{loadgen.OpCaseRead: 1, loadgen.OpHolderRead: 1, loadgen.OpVerify: 1, loadgen.OpIssue: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Total.Errors != 0 || rep.Total.Count == 0 {
				t.Fatalf("the mix at the baseline: %d of %d failed, first: %s", rep.Total.Errors, rep.Total.Count, rep.FirstError)
			}
		})
	}
}

type cert struct {
	ID, State  string
	ValidUntil *string
	Holder     *struct{ Code, Name string }
	Data       map[string]any
}

// sameAnswers checks that the baseline answers the mix's queries with
// the same licences and shapes as certd: the same case licences (the
// baseline hides no field, so its data is a superset), the same holder
// licences, the same verification.
func sameAnswers(t *testing.T, certdURL, baselineURL string, tok tokens) {
	t.Helper()
	read := func(url string) (caseCerts, mine []cert) {
		var opened struct{ OpenCase struct{ ID string } }
		post(t, url, tok.staff, `mutation($in: OpenCaseInput!) { openCase(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"caseNo": "SAME-" + strconv.FormatInt(time.Now().UnixNano(), 10), "holderCode": loadgen.LoadHolder, "matterCode": "350100-SP-0002",
			"walkInReason": loadgen.WalkInReason}}, &opened)
		var c struct{ Case struct{ Certificates []cert } }
		post(t, url, tok.staff, `query($id: ID!) { case(id: $id) { certificates { id state validUntil holder { code name } data } } }`,
			map[string]any{"id": opened.OpenCase.ID}, &c)
		return c.Case.Certificates, holderRead(t, url, tok)
	}
	cc, cm := read(certdURL)
	bc, bm := read(baselineURL)
	if len(cc) == 0 || len(cm) == 0 {
		t.Fatalf("certd shows no licences of %s: case %v, me %v", loadgen.LoadHolder, cc, cm)
	}
	if !slices.Equal(ids(cc), ids(bc)) || !slices.Equal(ids(cm), ids(bm)) {
		t.Fatalf("different licences: case certd %v baseline %v; me certd %v baseline %v", ids(cc), ids(bc), ids(cm), ids(bm))
	}
	for _, a := range cc {
		b := bc[slices.IndexFunc(bc, func(b cert) bool { return b.ID == a.ID })]
		if a.State != b.State || *a.Holder != *b.Holder || (a.ValidUntil == nil) != (b.ValidUntil == nil) ||
			(a.ValidUntil != nil && *a.ValidUntil != *b.ValidUntil) {
			t.Errorf("case licence %s: certd %+v, baseline %+v", a.ID, a, b)
		}
		for k, v := range a.Data {
			if bv, ok := b.Data[k]; !ok || bv != v {
				t.Errorf("case licence %s: data.%s certd %v, baseline %v", a.ID, k, v, bv)
			}
		}
	}
	for _, url := range []string{certdURL, baselineURL} {
		var v struct {
			VerifyCertificate struct {
				ID    string
				Found bool
			}
		}
		// The holder verifies its own licence by id, as the load mix does.
		post(t, url, tok.holder, `query($id: ID!) { verifyCertificate(id: $id) { id found } }`, map[string]any{"id": cc[0].ID}, &v)
		if v.VerifyCertificate.ID != cc[0].ID || !v.VerifyCertificate.Found {
			t.Errorf("%s: verify %s: %+v", url, cc[0].ID, v)
		}
	}
}

// issueShows issues a food licence to the load holder through the
// baseline and expects its next holder read to list it.
func issueShows(t *testing.T, url string, tok tokens) {
	t.Helper()
	before := holderRead(t, url, tok)
	var is struct{ IssueCertificate struct{ ID string } }
	post(t, url, tok.issuer, `mutation($in: IssueInput!) { issueCertificate(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"typeCode": demo.FoodLicence,
		"holder":   map[string]any{"code": loadgen.LoadHolder, "name": "福州示例餐饮管理有限公司", "kind": "ORGANIZATION"},
		"data": map[string]any{"operatorName": "福州示例餐饮管理有限公司", "premises": "福州市鼓楼区示例路9号",
			"mainForm": "餐饮服务经营者", "scope": "热食类食品制售"},
	}}, &is)
	after := holderRead(t, url, tok)
	if is.IssueCertificate.ID == "" || len(after) != len(before)+1 || !slices.Contains(ids(after), is.IssueCertificate.ID) {
		t.Errorf("%s: issued %q; the holder read %d licences before, %v after", url, is.IssueCertificate.ID, len(before), ids(after))
	}
}

func holderRead(t *testing.T, url string, tok tokens) []cert {
	var m struct{ Me struct{ Certificates []cert } }
	post(t, url, tok.holder, `{ me { certificates { id state data } } }`, nil, &m)
	return m.Me.Certificates
}

func ids(cs []cert) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

// post sends a GraphQL request and decodes its data into v, failing the
// test on any error.
func post(t *testing.T, url, token, query string, vars map[string]any, v any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Data   json.RawMessage
		Errors []json.RawMessage
	}
	if err := json.Unmarshal(raw, &env); err != nil || resp.StatusCode != http.StatusOK || len(env.Errors) > 0 {
		t.Fatalf("%s: %s: HTTP %d %s", url, query, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("%s: decode %s: %v", url, env.Data, err)
	}
}
