package baseline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"certd/cmd/certd-bench/internal/loadgen"
	"certd/internal/app"
	"certd/internal/demo"
	"certd/internal/identity"
)

// The demo holder whose licences the load mix reads (see loadgen).
const loadHolder = "91350100MA0000001P"

// Pair is certd, as `certd serve --demo` runs it, and the baseline over
// the same store, both serving HTTP on loopback, with tokens for the mix.
type Pair struct {
	CertdURL, BaselineURL                string
	StaffToken, HolderToken, IssuerToken string

	stop func()
}

// StartPair starts certd in-process on dataDir (seeding the demo data) on
// 127.0.0.1 with its background work, and the baseline sharing its store.
// Close stops both.
func StartPair(ctx context.Context, dataDir string, logger *slog.Logger) (*Pair, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a, err := app.New(ctx, app.Config{DataDir: dataDir, Demo: true, Addr: "127.0.0.1:0", Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("start certd: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, func(addr net.Addr) { ready <- addr }) }()
	var certdAddr net.Addr
	select {
	case certdAddr = <-ready:
	case err := <-done:
		cancel()
		a.Close()
		return nil, fmt.Errorf("serve certd: %w", err)
	}
	stopCertd := func() {
		cancel()
		<-done
		a.Close()
	}

	b, err := New(ctx, Options{Store: a.Store, DataDir: dataDir, Logger: logger})
	if err != nil {
		stopCertd()
		return nil, fmt.Errorf("start the baseline: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stopCertd()
		return nil, err
	}
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	p := &Pair{CertdURL: "http://" + certdAddr.String(), BaselineURL: "http://" + ln.Addr().String()}
	p.stop = func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		<-served
		_ = b.Close()
		stopCertd()
	}

	key, err := identity.LoadOrCreateSigningKey(dataDir)
	if err == nil {
		day := 24 * time.Hour
		reqs := []identity.TokenRequest{
			{Subject: "load-staff", Org: demo.ServiceCentre, Roles: []string{identity.RoleStaff}, AMR: []string{"pwd"}, TTL: day},
			{Subject: "load-holder", Roles: []string{identity.RoleHolder}, Holder: loadHolder, AMR: []string{"pwd"}, TTL: day},
			{Subject: "load-issuer", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: day},
		}
		toks := make([]string, len(reqs))
		for i, r := range reqs {
			if toks[i], err = identity.Issue(key, r); err != nil {
				break
			}
		}
		p.StaffToken, p.HolderToken, p.IssuerToken = toks[0], toks[1], toks[2]
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return p, nil
}

// Close stops the baseline and certd.
func (p *Pair) Close() {
	if p.stop != nil {
		p.stop()
		p.stop = nil
	}
}

// CompareOptions configure Compare.
type CompareOptions struct {
	Duration    time.Duration // of each run; default 10s
	Rounds      int           // certd then baseline, this many times; default 2
	Concurrency int           // default 32
	// Warmup, when positive, is one uncounted run of this length of each
	// server before the rounds.
	Warmup time.Duration
	// Progress, when set, receives each run's report as it ends.
	Progress io.Writer
}

// Comparison is the reports of the runs, in round order.
type Comparison struct {
	Concurrency     int
	Duration        time.Duration
	Certd, Baseline []loadgen.Report
}

// Compare drives the same mix at certd and at the baseline, alternating
// (certd, baseline, certd, baseline, ...), each run for the same time at
// the same concurrency.
func (p *Pair) Compare(ctx context.Context, o CompareOptions) (Comparison, error) {
	if o.Duration <= 0 {
		o.Duration = loadgen.DefaultDuration
	}
	if o.Rounds <= 0 {
		o.Rounds = 2
	}
	if o.Concurrency <= 0 {
		o.Concurrency = loadgen.DefaultConcurrency
	}
	run := func(name, url string, d time.Duration) (loadgen.Report, error) {
		rep, err := loadgen.Run(ctx, loadgen.Options{Server: url, StaffToken: p.StaffToken, HolderToken: p.HolderToken,
			IssuerToken: p.IssuerToken, Concurrency: o.Concurrency, Duration: d})
		if err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		if o.Progress != nil {
			var b bytes.Buffer
			fmt.Fprintf(&b, "-- %s, %s at concurrency %d\n", name, d, o.Concurrency)
			rep.Print(&b)
			_, _ = o.Progress.Write(b.Bytes())
		}
		return rep, nil
	}
	if o.Warmup > 0 {
		for _, s := range [][2]string{{"certd warm-up", p.CertdURL}, {"baseline warm-up", p.BaselineURL}} {
			if _, err := run(s[0], s[1], o.Warmup); err != nil {
				return Comparison{}, err
			}
		}
	}
	c := Comparison{Concurrency: o.Concurrency, Duration: o.Duration}
	for i := range o.Rounds {
		rep, err := run(fmt.Sprintf("certd, round %d", i+1), p.CertdURL, o.Duration)
		if err != nil {
			return c, err
		}
		c.Certd = append(c.Certd, rep)
		if rep, err = run(fmt.Sprintf("baseline, round %d", i+1), p.BaselineURL, o.Duration); err != nil {
			return c, err
		}
		c.Baseline = append(c.Baseline, rep)
	}
	return c, nil
}

// Summarize combines one server's reports operation by operation ("total"
// is every operation together): the summed counts and errors, the rate
// over the summed elapsed time, and the mean of the rounds' percentiles.
func Summarize(reps []loadgen.Report) map[string]loadgen.OpStats {
	out := map[string]loadgen.OpStats{}
	var elapsed time.Duration
	for _, r := range reps {
		elapsed += r.Elapsed
	}
	add := func(name string, s loadgen.OpStats) {
		t := out[name]
		t.Count += s.Count
		t.Errors += s.Errors
		t.P50 += s.P50 / time.Duration(len(reps))
		t.P95 += s.P95 / time.Duration(len(reps))
		t.P99 += s.P99 / time.Duration(len(reps))
		out[name] = t
	}
	for _, r := range reps {
		for op, s := range r.Ops {
			add(op, s)
		}
		add("total", r.Total)
	}
	for name, s := range out {
		if elapsed > 0 {
			s.Rate = float64(s.Count) / elapsed.Seconds()
		}
		out[name] = s
	}
	return out
}

// Errors is the number of failed requests of every run.
func (c Comparison) Errors() int {
	n := 0
	for _, r := range slices.Concat(c.Certd, c.Baseline) {
		n += r.Total.Errors
	}
	return n
}

// FirstError is one failed request's error, if any failed.
func (c Comparison) FirstError() error {
	for _, r := range slices.Concat(c.Certd, c.Baseline) {
		if r.FirstError != "" {
			return errors.New(r.FirstError)
		}
	}
	return nil
}

// Print writes, per operation, certd's and the baseline's figures over all
// rounds and their ratios certd/baseline (below 1 for throughput, above 1
// for latency, when certd is the slower).
func (c Comparison) Print(w io.Writer) {
	cs, bs := Summarize(c.Certd), Summarize(c.Baseline)
	fmt.Fprintf(w, "%d round(s) of %s per server, concurrency %d; percentiles are the mean of the rounds'\n",
		len(c.Certd), c.Duration, c.Concurrency)
	perRound := func(reps []loadgen.Report) string {
		var rates []string
		for _, r := range reps {
			rates = append(rates, fmt.Sprintf("%.0f", r.Total.Rate))
		}
		return strings.Join(rates, ", ")
	}
	fmt.Fprintf(w, "total req/s by round: certd %s; baseline %s\n", perRound(c.Certd), perRound(c.Baseline))
	fmt.Fprintf(w, "%-12s %-14s %8s %6s %9s %9s %9s %9s\n", "operation", "server", "count", "errors", "req/s", "p50(ms)", "p95(ms)", "p99(ms)")
	ops := make([]string, 0, len(cs))
	for op := range cs {
		if op != "total" {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	for _, op := range append(ops, "total") {
		a, b := cs[op], bs[op]
		row := func(name string, s loadgen.OpStats) {
			fmt.Fprintf(w, "%-12s %-14s %8d %6d %9.1f %9.2f %9.2f %9.2f\n", op, name, s.Count, s.Errors, s.Rate, ms(s.P50), ms(s.P95), ms(s.P99))
		}
		row("certd", a)
		row("baseline", b)
		fmt.Fprintf(w, "%-12s %-14s %8s %6s %9.2f %9.2f %9.2f %9.2f\n", op, "certd/baseline", "", "",
			ratio(a.Rate, b.Rate), ratio(ms(a.P50), ms(b.P50)), ratio(ms(a.P95), ms(b.P95)), ratio(ms(a.P99), ms(b.P99)))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
