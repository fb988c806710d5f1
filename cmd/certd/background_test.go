package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/certificate"
	"certd/internal/demo"
	"certd/internal/lease"
	"certd/internal/store/ferrettest"
	"certd/internal/store/mongo"
	"certd/internal/store/storetest"
)

// TestSweepRunsOnceAcrossInstances runs two `certd serve` processes on one
// MongoDB-compatible store (FerretDB) with a short lease: only the lease
// holder sweeps (its /metrics count runs, the other's stay at zero), a
// licence past its validity is expired by it, and when the holder is
// killed without warning, so that it stops renewing, the other takes the
// lease over with the next fencing token and expires the next one.
func TestSweepRunsOnceAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	uri, stopFerret, err := ferrettest.StartServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopFerret)
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CERTD_MASTER_KEY", base64.StdEncoding.EncodeToString(master))
	const ttl = 3 * time.Second // renewed every second: a loaded machine stalls less than two
	args := []string{"--mongo-uri", uri, "--lease-ttl", ttl.String(), "--sweep-interval", "200ms"}

	ctx := context.Background()
	st, err := mongo.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	holder := func() lease.Lease {
		t.Helper()
		l, err := st.GetLease(ctx, app.SweepJob)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	waitFor := func(what string, limit time.Duration, done func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("after %s: %s", limit, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ownedBy := func(l lease.Lease, pid int) bool {
		return l.Held(time.Now()) && strings.Contains(l.Owner, fmt.Sprintf(":%d:", pid))
	}

	metricsA, metricsB := freeAddr(t), freeAddr(t)
	cmdA, _ := serve(t, t.TempDir(), append(args, "--demo", "--metrics-addr", metricsA)...)
	waitFor("instance A holds the sweep's lease", 10*time.Second, func() bool { return ownedBy(holder(), cmdA.Process.Pid) })
	cmdB, _ := serve(t, t.TempDir(), append(args, "--metrics-addr", metricsB)...)
	urlA, urlB := "http://"+metricsA, "http://"+metricsB
	first := holder()

	// A licence past its validity: the holder expires it.
	dueA := dueLicence(t, st, 900001)
	waitFor("the licence past its validity is expired", 10*time.Second, func() bool { return expired(t, st, dueA) })

	// Over many sweep intervals only A sweeps; B holds no lease.
	runsA0, runsB0 := sweepRuns(t, urlA), sweepRuns(t, urlB)
	time.Sleep(1500 * time.Millisecond)
	runsA1, runsB1 := sweepRuns(t, urlA), sweepRuns(t, urlB)
	if runsA1 <= runsA0 || runsA0 == 0 || runsB0 != 0 || runsB1 != 0 {
		t.Fatalf("sweeps on A %v → %v, on B %v → %v: only the lease holder may sweep", runsA0, runsA1, runsB0, runsB1)
	}
	if l := holder(); l.Token != first.Token || l.Owner != first.Owner || !strings.HasPrefix(l.Note, "expired ") {
		t.Fatalf("the lease changed while A held it: %+v then %+v", first, l)
	}

	// A dies without releasing its lease: B takes over once it lapses.
	kill9(t, cmdA)
	killed := time.Now()
	dueB := dueLicence(t, st, 900002)
	waitFor("instance B takes the lease over", 3*ttl, func() bool { return ownedBy(holder(), cmdB.Process.Pid) })
	took := time.Since(killed)
	if l := holder(); l.Token != first.Token+1 {
		t.Fatalf("the takeover's fencing token is %d, want %d", l.Token, first.Token+1)
	}
	waitFor("instance B expires the next licence", 5*time.Second, func() bool { return expired(t, st, dueB) })
	// The run is counted once it ends, a little after its last write.
	waitFor("B, which took the lease over, counts its sweep", 5*time.Second, func() bool { return sweepRuns(t, urlB) > 0 })
	t.Logf("B took the sweep over %s after A was killed (lease TTL %s)", took.Round(time.Millisecond), ttl)

	// Each licence was expired once.
	for _, id := range []string{dueA, dueB} {
		c, err := st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, h := range c.History {
			if h.Action == "EXPIRE" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s was expired %d times: %+v", id, n, c.History)
		}
	}
}

// dueLicence stores, straight into the store, a current licence whose
// validity ended yesterday, and returns its id.
func dueLicence(t *testing.T, st *mongo.Store, serial int64) string {
	t.Helper()
	c := storetest.NewCert(demo.MarketRegistry, demo.FoodLicence, serial, "350102198001010011", time.Now().Add(-48*time.Hour))
	y, m, d := time.Now().Add(-48 * time.Hour).Date()
	until := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	c.ValidUntil = &until
	if _, err := st.Insert(context.Background(), []certificate.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func expired(t *testing.T, st *mongo.Store, id string) bool {
	t.Helper()
	c, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.State == certificate.Expired
}

// sweepRuns reads the instance's count of sweeps it ran under the lease
// from /metrics at its --metrics-addr (0 when it never ran one).
func sweepRuns(t *testing.T, url string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var n float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `certd_background_runs_total{job="`+app.SweepJob+`"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			n += v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
