package baseline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"certd/cmd/certd-bench/internal/loadgen"
)

// TestLoadAgainstBaseline drives loadgen's mix at certd and at the bare
// baseline over the same data and prints the comparison. By default it is
// a short check (one round of about a second per server); for figures run
//
//	CERTD_LOAD_FULL=10s go test -run TestLoadAgainstBaseline -v -timeout 20m ./internal/baseline/
//
// with CERTD_LOAD_ROUNDS (default 2) and CERTD_LOAD_CONCURRENCY (default
// 32) to change the rounds and the concurrency.
func TestLoadAgainstBaseline(t *testing.T) {
	o := CompareOptions{Duration: time.Second, Rounds: 1, Concurrency: 4}
	full := os.Getenv("CERTD_LOAD_FULL")
	if full != "" {
		d, err := time.ParseDuration(full)
		if err != nil || d <= 0 || d > loadgen.MaxDuration {
			t.Fatalf("CERTD_LOAD_FULL=%q: want a duration in (0, %s]", full, loadgen.MaxDuration)
		}
		o = CompareOptions{Duration: d, Rounds: envInt(t, "CERTD_LOAD_ROUNDS", 2),
			Concurrency: envInt(t, "CERTD_LOAD_CONCURRENCY", loadgen.DefaultConcurrency), Warmup: min(d/5, 2*time.Second)}
		if testing.Verbose() {
			o.Progress = testWriter{t}
		}
	}
	ctx := context.Background()
	p, err := StartPair(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	sameAnswers(t, p)

	c, err := p.Compare(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c.Print(&out)
	t.Log("\n" + out.String())
	if n := c.Errors(); n != 0 {
		t.Fatalf("%d failed requests; first: %v", n, c.FirstError())
	}
	for name, reps := range map[string][]loadgen.Report{"certd": c.Certd, "baseline": c.Baseline} {
		if len(reps) != o.Rounds {
			t.Fatalf("%s: %d runs, want %d", name, len(reps), o.Rounds)
		}
		sum := Summarize(reps)
		for op := range loadgen.DefaultMix() {
			s, ok := sum[op]
			if !ok || s.Count == 0 || s.Rate <= 0 || s.P50 <= 0 || s.P50 > s.P99 {
				t.Errorf("%s: %s: %+v", name, op, s)
			}
			if !strings.Contains(out.String(), op) {
				t.Errorf("the comparison lacks %s", op)
			}
		}
	}
}

// sameAnswers checks that the baseline answers the mix's queries with
// the same licences and shapes as certd: the same case licences (the
// baseline hides no field, so its data is a superset), the same holder
// licences, the same verification, and an issued licence.
func sameAnswers(t *testing.T, p *Pair) {
	t.Helper()
	type cert struct {
		ID, State  string
		ValidUntil *string
		Holder     *struct{ Code, Name string }
		Data       map[string]any
	}
	read := func(url string) (caseCerts, mine []cert) {
		var opened struct{ OpenCase struct{ ID string } }
		post(t, url, p.StaffToken, `mutation($in: OpenCaseInput!) { openCase(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"caseNo": "SAME-" + strconv.FormatInt(time.Now().UnixNano(), 10), "holderCode": loadHolder, "matterCode": "350100-SP-0002"}}, &opened)
		var c struct{ Case struct{ Certificates []cert } }
		post(t, url, p.StaffToken, `query($id: ID!) { case(id: $id) { certificates { id state validUntil holder { code name } data } } }`,
			map[string]any{"id": opened.OpenCase.ID}, &c)
		var m struct{ Me struct{ Certificates []cert } }
		post(t, url, p.HolderToken, `{ me { certificates { id state data } } }`, nil, &m)
		return c.Case.Certificates, m.Me.Certificates
	}
	cc, cm := read(p.CertdURL)
	bc, bm := read(p.BaselineURL)
	if len(cc) == 0 || len(cm) == 0 {
		t.Fatalf("certd shows no licences of %s: case %v, me %v", loadHolder, cc, cm)
	}
	ids := func(cs []cert) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(ids(cc), ids(bc)) || !slices.Equal(ids(cm), ids(bm)) {
		t.Fatalf("different licences: case certd %v baseline %v; me certd %v baseline %v", ids(cc), ids(bc), ids(cm), ids(bm))
	}
	for _, a := range cc {
		i := slices.IndexFunc(bc, func(b cert) bool { return b.ID == a.ID })
		b := bc[i]
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
	for _, url := range []string{p.CertdURL, p.BaselineURL} {
		var v struct {
			VerifyCertificate struct {
				ID    string
				Found bool
			}
		}
		// The holder verifies its own licence by id, as the load mix does.
		post(t, url, p.HolderToken, `query($id: ID!) { verifyCertificate(id: $id) { id found } }`, map[string]any{"id": cc[0].ID}, &v)
		if v.VerifyCertificate.ID != cc[0].ID || !v.VerifyCertificate.Found {
			t.Errorf("%s: verify %s: %+v", url, cc[0].ID, v)
		}
		var is struct{ IssueCertificate struct{ ID string } }
		post(t, url, p.IssuerToken, `mutation($in: IssueInput!) { issueCertificate(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"typeCode": "11350100MB00000025002",
			"holder":   map[string]any{"code": "350102198001010011", "name": "示例个人甲", "kind": "PERSON"},
			"data": map[string]any{"operatorName": "示例个人甲", "premises": "福州市鼓楼区示例路1号",
				"mainForm": "食品销售经营者", "scope": "预包装食品销售"},
		}}, &is)
		if is.IssueCertificate.ID == "" {
			t.Errorf("%s: issued no licence", url)
		}
	}
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

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// testWriter logs each write as the test runs.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log("\n" + string(b))
	return len(b), nil
}
