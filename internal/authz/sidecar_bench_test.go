package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/identity"
)

// The same decisions asked in-process (prepared queries) and of an OPA
// server sidecar running the same policy over REST, one decision per
// request on a keep-alive connection, as many deployments do. Latencies are
// per decision, measured serially.
//
//	go test -run XXX -bench BenchmarkDecision -benchtime 3000x ./internal/authz/

// Demo codes (internal/demo cannot be imported here: it depends on authz).
const (
	benchServiceCentre  = "11350100MB0000004B"
	benchHealthBureau   = "11350100MB00000038"
	benchMarketRegistry = "11350100MB00000025"
	benchBusinessLic    = benchMarketRegistry + "001"
	benchFoodLic        = benchMarketRegistry + "002"
	benchCompany        = "91350100MA0000001P"
)

var benchStaff = &identity.Principal{Subject: "s1", Org: benchServiceCentre, Roles: []string{identity.RoleStaff}, AMR: []string{"pwd"}}

// benchCase is an open case of the service centre for matter
// 350100-SP-0002 (business and food licence), as internal/cases describes
// it to the policy.
func benchCase() map[string]any {
	return map[string]any{
		"id": "0123456789abcdef0123456789abcdef", "unit": benchServiceCentre, "holder": benchCompany,
		"matter": "350100-SP-0002", "open": true,
		"required_types": []any{benchBusinessLic, benchFoodLic}, "disclosed": []any{},
	}
}

// benchBusinessType is the business licence type with its sensitive field.
func benchBusinessType() map[string]any {
	return map[string]any{"code": benchBusinessLic, "sensitive": []any{"legalRepresentativeId"}}
}

func BenchmarkDecision(b *testing.B) {
	e := benchEngine(b)
	ctx := identity.WithPrincipal(context.Background(), benchStaff)
	allowIn := Input{Action: "case.read", Principal: benchStaff, Resource: map[string]any{"case": benchCase()}}
	filterIn := map[string]any{"case": benchCase()}
	hiddenIn := map[string]any{"case": benchCase(), "type": benchBusinessType()}

	b.Run("inprocess/allow", func(b *testing.B) {
		b.ReportAllocs()
		measureDecisions(b, func() error {
			d, err := e.Decide(ctx, allowIn)
			if err != nil || !d.Allowed {
				return fmt.Errorf("decide: %+v %v", d, err)
			}
			return nil
		})
	})

	b.Run("inprocess/full", func(b *testing.B) {
		b.ReportAllocs()
		measureDecisions(b, func() error {
			d, err := e.Decide(ctx, allowIn)
			f, ferr := e.Filter(ctx, "case.certificates", filterIn)
			h, hideAll := e.HiddenFields(ctx, "case.certificates", hiddenIn)
			if err != nil || !d.Allowed || ferr != nil || f.None || len(f.Query) == 0 || hideAll || len(h) != 1 {
				return fmt.Errorf("full decision: %+v %v / %+v %v / %v %v", d, err, f, ferr, h, hideAll)
			}
			return nil
		})
	})

	// The allow decision for a new case every time: evaluated, not cached.
	b.Run("inprocess/allow-uncached", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		measureDecisions(b, func() error {
			n++
			c := benchCase()
			c["id"] = fmt.Sprintf("%032x", n)
			d, err := e.Decide(ctx, Input{Action: "case.read", Principal: benchStaff, Resource: map[string]any{"case": c}})
			if err != nil || !d.Allowed {
				return fmt.Errorf("decide: %+v %v", d, err)
			}
			return nil
		})
	})

	// The same full decision for a new case every time: nothing comes from
	// the decision cache, every part is evaluated.
	b.Run("inprocess/full-uncached", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		measureDecisions(b, func() error {
			n++
			c := benchCase()
			c["id"] = fmt.Sprintf("%032x", n)
			in := Input{Action: "case.read", Principal: benchStaff, Resource: map[string]any{"case": c}}
			d, err := e.Decide(ctx, in)
			f, ferr := e.Filter(ctx, "case.certificates", map[string]any{"case": c})
			h, hideAll := e.HiddenFields(ctx, "case.certificates", map[string]any{"case": c, "type": benchBusinessType()})
			if err != nil || !d.Allowed || ferr != nil || f.None || hideAll || len(h) != 1 {
				return fmt.Errorf("full decision: %+v %v / %+v %v / %v %v", d, err, f, ferr, h, hideAll)
			}
			return nil
		})
	})

	b.Run("sidecar/allow", func(b *testing.B) {
		sc := startSidecar(b)
		measureDecisions(b, func() error {
			allowed, err := sc.allow(allowIn)
			if err != nil || !allowed {
				return fmt.Errorf("sidecar allow: %v %v", allowed, err)
			}
			return nil
		})
	})

	// The same full decision as inprocess/full, as three REST calls: the
	// allow rule, the compile API (UCAST target) and the hidden fields.
	b.Run("sidecar/full", func(b *testing.B) {
		sc := startSidecar(b)
		measureDecisions(b, func() error {
			allowed, err := sc.allow(allowIn)
			q, ferr := sc.filter("case.certificates", benchStaff, filterIn)
			h, herr := sc.hidden("case.certificates", benchStaff, hiddenIn)
			if err != nil || !allowed || ferr != nil || len(q) == 0 || herr != nil || len(h) != 1 {
				return fmt.Errorf("sidecar full decision: %v %v / %v %v / %v %v", allowed, err, q, ferr, h, herr)
			}
			return nil
		})
	})
}

// measureDecisions runs op serially, after a short warm-up, timing each
// call, and reports p50 and p99 besides ns/op.
func measureDecisions(b *testing.B, op func() error) {
	b.Helper()
	for range 20 {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	lat := make([]time.Duration, 0, 1<<14)
	for b.Loop() {
		t0 := time.Now()
		err := op()
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	reportLatencyPercentiles(b, lat)
}

func benchEngine(tb testing.TB) *Engine {
	tb.Helper()
	mods, err := DefaultModules()
	if err != nil {
		tb.Fatal(err)
	}
	e, err := NewEngine(context.Background(), mods, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// reportLatencyPercentiles reports the nearest-rank p50 and p99 of the
// per-operation latencies in microseconds.
func reportLatencyPercentiles(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	b.ReportMetric(float64(rank(0.50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(rank(0.99).Nanoseconds())/1e3, "p99-µs")
}

// TestSidecarAgreesWithInProcess guards BenchmarkDecision: the OPA server
// running the same policy gives the same answers as the engine.
func TestSidecarAgreesWithInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts an OPA server")
	}
	e := benchEngine(t)
	sc := startSidecar(t)
	ctx := context.Background()
	issuer := &identity.Principal{Subject: "i", Org: benchMarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}}
	otherStaff := &identity.Principal{Subject: "s2", Org: benchHealthBureau, Roles: []string{identity.RoleStaff}}
	owner := &identity.Principal{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: benchCompany}
	caseRes := map[string]any{"case": benchCase()}
	matter := map[string]any{"matter": map[string]any{"code": "350100-SP-0002", "handling_units": []any{benchServiceCentre, benchMarketRegistry}},
		"application": map[string]any{"unit": benchServiceCentre, "state": "PENDING"}}
	for _, c := range []struct {
		name string
		in   Input
		want bool
	}{
		{"staff reads own unit's case", Input{Action: "case.read", Principal: benchStaff, Resource: caseRes}, true},
		{"staff reads another unit's case", Input{Action: "case.read", Principal: otherStaff, Resource: caseRes}, false},
		{"staff opens a case of a matter the unit handles", Input{Action: "case.open", Principal: benchStaff, Resource: matter}, true},
		{"staff opens a case of a matter the unit does not handle", Input{Action: "case.open", Principal: otherStaff, Resource: matter}, false},
		{"issuer issues with strong auth", Input{Action: "certificate.issue", Principal: issuer, Resource: map[string]any{"issuer": benchMarketRegistry}}, true},
		{"holder reads own licence", Input{Action: "certificate.read", Principal: owner, Resource: map[string]any{"holder": benchCompany, "issuer": benchMarketRegistry}}, true},
		{"holder reads another's licence", Input{Action: "certificate.read", Principal: owner, Resource: map[string]any{"holder": "91350100MA0000002T", "issuer": benchMarketRegistry}}, false},
		{"anonymous", Input{Action: "catalogue.read"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := e.Decide(ctx, c.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sc.allow(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != c.want || got != c.want {
				t.Fatalf("in-process %v, sidecar %v, want %v", d.Allowed, got, c.want)
			}
		})
	}

	pctx := identity.WithPrincipal(ctx, benchStaff)
	hiddenIn := map[string]any{"case": benchCase(), "type": benchBusinessType()}
	h, hideAll := e.HiddenFields(pctx, "case.certificates", hiddenIn)
	sh, err := sc.hidden("case.certificates", benchStaff, hiddenIn)
	// The business licence's one sensitive field, and the issuer's four
	// notes (history.by/reason, inspections.by/note).
	if err != nil || hideAll || !slices.Equal(h, sh) || len(h) != 5 {
		t.Fatalf("hidden fields: in-process %v (hide all %v), sidecar %v %v", h, hideAll, sh, err)
	}

	for _, open := range []bool{true, false} {
		c := benchCase()
		c["open"] = open
		f, err := e.Filter(pctx, "case.certificates", map[string]any{"case": c})
		if err != nil {
			t.Fatal(err)
		}
		q, err := sc.filter("case.certificates", benchStaff, map[string]any{"case": c})
		if err != nil {
			t.Fatal(err)
		}
		if f.None != (q == nil) || f.None == open {
			t.Fatalf("open=%v: in-process filter %+v, sidecar %v", open, f, q)
		}
		if open && !jsonEqual(t, f.Query, q) {
			t.Fatalf("data filters differ: in-process %v, sidecar %v", f.Query, q)
		}
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	norm := func(v any) any {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	x, _ := json.Marshal(norm(a))
	y, _ := json.Marshal(norm(b))
	return bytes.Equal(x, y)
}

// sidecar is an `opa run --server` process running the embedded policy.
type sidecar struct {
	url    string
	client *http.Client
}

func (s *sidecar) post(path, accept string, body any, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, s.url+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// allow asks data.certd.authz.allow; undefined or non-true is a denial.
func (s *sidecar) allow(in Input) (bool, error) {
	var out struct {
		Result any `json:"result"`
	}
	if err := s.post("/v1/data/certd/authz/allow", "", map[string]any{"input": in.value()}, &out); err != nil {
		return false, err
	}
	return out.Result == true, nil
}

func sidecarInput(action string, p *identity.Principal, known map[string]any) map[string]any {
	in := Input{Action: action, Principal: p}.value()
	for k, v := range known {
		in[k] = v
	}
	return in
}

// hidden asks data.certd.authz.hidden_fields.
func (s *sidecar) hidden(action string, p *identity.Principal, known map[string]any) ([]string, error) {
	var out struct {
		Result []string `json:"result"`
	}
	if err := s.post("/v1/data/certd/authz/hidden_fields", "", map[string]any{"input": sidecarInput(action, p, known)}, &out); err != nil {
		return nil, err
	}
	slices.Sort(out.Result)
	return out.Result, nil
}

// filter asks the compile API for data.certd.filters.include with
// input.certificate unknown, as UCAST; nil means nothing is included.
func (s *sidecar) filter(action string, p *identity.Principal, known map[string]any) (map[string]any, error) {
	var out struct {
		Result struct {
			Query map[string]any `json:"query"`
		} `json:"result"`
	}
	body := map[string]any{"input": sidecarInput(action, p, known), "unknowns": []string{"input.certificate"}}
	if err := s.post("/v1/compile/certd/filters/include", "application/vnd.opa.ucast.all+json", body, &out); err != nil {
		return nil, err
	}
	return out.Result.Query, nil
}

// startSidecar runs `opa run --server` (the OPA version certd embeds) on
// the embedded policy, less its tests, until tb ends. It skips tb when the
// opa CLI cannot be built.
func startSidecar(tb testing.TB) *sidecar {
	tb.Helper()
	bin, err := opaBinary()
	if err != nil {
		tb.Skipf("cannot build the opa CLI: %v", err)
	}
	mods, err := DefaultModules()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	for _, m := range mods {
		if m.IsTest() {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(m.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(m.Rego), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var stderr bytes.Buffer
	cmd := exec.Command(bin, "run", "--server", "--addr", addr, "--log-level", "error", "--skip-version-check", dir)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start opa: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	s := &sidecar{url: "http://" + addr, client: &http.Client{
		Transport: &http.Transport{MaxIdleConns: 4, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
		Timeout:   10 * time.Second,
	}}
	tb.Cleanup(s.client.CloseIdleConnections)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			tb.Fatalf("opa exited: %s", stderr.String())
		default:
		}
		resp, err := s.client.Get(s.url + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("opa did not become healthy at %s: %v %s", addr, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var opaBuild struct {
	once sync.Once
	path string
	err  error
}

// opaBinary builds the opa CLI of the OPA version this module requires,
// once, from the module cache and without the network. The binary is kept
// in the temporary directory under a name with the OPA and Go versions, so
// later runs reuse it.
func opaBinary() (string, error) {
	opaBuild.once.Do(func() { opaBuild.path, opaBuild.err = buildOPA() })
	return opaBuild.path, opaBuild.err
}

func buildOPA() (string, error) {
	version, err := opaVersion()
	if err != nil {
		return "", err
	}
	cache := filepath.Join(os.TempDir(), fmt.Sprintf("certd-bench-opa-%s-%s-%s_%s", version, runtime.Version(), runtime.GOOS, runtime.GOARCH))
	bin := filepath.Join(cache, "opa")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o100 != 0 {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	// certd's go.sum lacks the opa CLI's own dependencies (cobra, oras,
	// ...), so build it as the main package of a scratch module that
	// requires the same OPA version, offline, from the module cache.
	work, err := os.MkdirTemp("", "certd-opa-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	gomod := fmt.Sprintf("module opabuild\n\ngo %s\n\nrequire github.com/open-policy-agent/opa %s\n", goDirective(), version)
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	if sum, err := os.ReadFile(filepath.Join(moduleRoot(), "go.sum")); err == nil {
		_ = os.WriteFile(filepath.Join(work, "go.sum"), sum, 0o644) // checksums certd already trusts
	}
	tmp := filepath.Join(cache, fmt.Sprintf("opa.%d.tmp", os.Getpid()))
	cmd := exec.Command("go", "build", "-o", tmp, "github.com/open-policy-agent/opa")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod "+os.Getenv("GOFLAGS"), "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build github.com/open-policy-agent/opa@%s: %v\n%s", version, err, lastLines(string(out), 5))
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// opaVersion is the OPA version linked into this test binary.
func opaVersion() (string, error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/open-policy-agent/opa" {
				if d.Replace != nil {
					return "", errors.New("github.com/open-policy-agent/opa is replaced")
				}
				return d.Version, nil
			}
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/open-policy-agent/opa").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/open-policy-agent/opa: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// goDirective is the language version of the running toolchain (e.g. 1.26).
func goDirective() string {
	v := strings.TrimPrefix(runtime.Version(), "go")
	if parts := strings.SplitN(v, ".", 3); len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return "1.26"
}

// moduleRoot is the directory of certd's go.mod, above the test's package
// directory.
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
