package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

func TestRunMix(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	o := Options{
		Server:     s.URL,
		StaffToken: s.Token("s1", demo.ServiceCentre, identity.RoleStaff),
		HolderToken: s.TokenFor(identity.TokenRequest{Subject: "h", Roles: []string{identity.RoleHolder},
			Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour}),
		IssuerToken: s.TokenFor(identity.TokenRequest{Subject: "i", Org: demo.MarketRegistry,
			Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: time.Hour}),
		Concurrency: 4,
		Duration:    1500 * time.Millisecond,
		// Equal weights: even a slow run (the race detector, a busy
		// machine) runs every operation.
		Mix: map[string]int{OpCaseRead: 1, OpHolderRead: 1, OpVerify: 1, OpIssue: 1},
	}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	if rep.Total.Errors != 0 {
		t.Fatalf("%d errors, first: %s", rep.Total.Errors, rep.FirstError)
	}
	sum := 0
	for op := range DefaultMix() {
		st, ok := rep.Ops[op]
		if !ok || st.Count == 0 {
			t.Errorf("operation %s never ran", op)
		}
		if st.Errors != 0 {
			t.Errorf("%s: %d errors", op, st.Errors)
		}
		if !(st.P50 <= st.P95 && st.P95 <= st.P99) {
			t.Errorf("%s: percentiles out of order: %v %v %v", op, st.P50, st.P95, st.P99)
		}
		if st.P50 <= 0 || st.Rate <= 0 {
			t.Errorf("%s: empty stats %+v", op, st)
		}
		if !strings.Contains(out.String(), op) {
			t.Errorf("report lacks %s", op)
		}
		sum += st.Count
	}
	if rep.Total.Count != sum || !(rep.Total.P50 <= rep.Total.P95 && rep.Total.P95 <= rep.Total.P99) {
		t.Errorf("bad total %+v (ops sum %d)", rep.Total, sum)
	}
	if rep.Elapsed < o.Duration || rep.Elapsed > o.Duration+5*time.Second {
		t.Errorf("elapsed %s for a %s run", rep.Elapsed, o.Duration)
	}
}

type countingRT struct{ n atomic.Int32 }

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, http.ErrHandlerTimeout
}

func TestRefusesNonLoopback(t *testing.T) {
	rt := &countingRT{}
	for _, srv := range []string{"http://192.0.2.1:8080", "http://example.com", "http://[2001:db8::1]:80", "ftp://127.0.0.1"} {
		_, err := Run(context.Background(), Options{Server: srv, StaffToken: "x", HolderToken: "x", IssuerToken: "x",
			Duration: time.Second, Client: &http.Client{Transport: rt}})
		if err == nil {
			t.Fatalf("%s: accepted", srv)
		}
		if srv != "ftp://127.0.0.1" && !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: error does not say why: %v", srv, err)
		}
	}
	if n := rt.n.Load(); n != 0 {
		t.Fatalf("%d requests sent to a refused server", n)
	}
	for _, ok := range []string{"http://127.0.0.1:8080", "http://127.8.0.1", "http://localhost:1", "https://[::1]:443/"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if percentile(d, 50) != 5 || percentile(d, 95) != 10 || percentile(d, 99) != 10 || percentile(nil, 50) != 0 {
		t.Error("percentile")
	}
}
