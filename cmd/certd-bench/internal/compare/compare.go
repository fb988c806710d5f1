// Package compare runs certd and the two bare gqlgen baselines as
// separate processes over one data directory and drives each operation
// at each of them in turn from a load generator process of its own, in
// alternating rounds, to say what certd costs beside a bare server over
// the same store and beside one serving the same rows from memory.
package compare

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"

	"certd/cmd/certd-bench/internal/loadgen"
	"certd/internal/demo"
	"certd/internal/identity"
)

// Servers compared, in the order each operation drives them.
const (
	Certd  = "certd"
	Store  = "store-baseline"
	Memory = "memory-baseline"
)

// Servers lists the compared servers in order.
var Servers = []string{Certd, Store, Memory}

// DefaultOps are the operations compared: a staff case read, a holder's
// read of their licences and the public verification.
var DefaultOps = []string{loadgen.OpCaseRead, loadgen.OpHolderRead, loadgen.OpVerify}

// Options configure Run.
type Options struct {
	// CertdBin is the certd executable; BenchBin the certd-bench one,
	// which serves the baselines and generates the load.
	CertdBin, BenchBin string
	// DataDir is the data directory the three servers share; empty means
	// a new temporary one, which certd fills with the demo data.
	DataDir  string
	MongoURI string

	Duration    time.Duration // of each run; default 8s
	Rounds      int           // default 3
	Concurrency int           // default 32
	// Warmup is one uncounted run of each operation at each server before
	// the rounds; default 2s, negative for none.
	Warmup time.Duration
	Ops    []string // default DefaultOps

	// Progress, when set, receives a line per run. Logs receives the
	// servers' stderr (default: discarded).
	Progress, Logs io.Writer
}

// Run is the reports of every run: Runs[op][server] in round order.
type Result struct {
	Duration    time.Duration
	Concurrency int
	Rounds      int
	Ops         []string
	Runs        map[string]map[string][]loadgen.Report
}

// Run starts the servers, drives the rounds and stops the servers.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Duration <= 0 {
		o.Duration = 8 * time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Concurrency <= 0 {
		o.Concurrency = loadgen.DefaultConcurrency
	}
	if o.Warmup == 0 {
		o.Warmup = 2 * time.Second
	}
	if len(o.Ops) == 0 {
		o.Ops = DefaultOps
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Logs == nil {
		o.Logs = io.Discard
	}
	dir := o.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "certd-compare-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	var mongoArgs []string
	if o.MongoURI != "" {
		mongoArgs = []string{"--mongo-uri", o.MongoURI}
	}

	// certd first: it creates the keys and, in an empty store, the demo
	// data that the baselines then read.
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	certd, err := start(ctx, o.Logs, o.CertdBin, append([]string{"serve", "--demo", "--data-dir", dir, "--addr", addr, "--log-level", "warn", "--metrics-addr", "off"}, mongoArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("start certd: %w", err)
	}
	defer certd.stop()
	procs := map[string]*process{Certd: certd}
	urls := map[string]string{Certd: "http://" + addr}
	if err := waitReady(ctx, urls[Certd]+"/readyz", certd); err != nil {
		return nil, fmt.Errorf("certd: %w", err)
	}
	for _, b := range []struct {
		name string
		args []string
	}{{Store, nil}, {Memory, []string{"--memory"}}} {
		args := append(append([]string{"baseline", "--data-dir", dir, "--addr", "127.0.0.1:0"}, b.args...), mongoArgs...)
		p, err := start(ctx, o.Logs, o.BenchBin, args...)
		if err != nil {
			return nil, fmt.Errorf("start the %s: %w", b.name, err)
		}
		defer p.stop()
		procs[b.name] = p
		if urls[b.name], err = p.announced(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
	}
	env, err := tokenEnv(dir)
	if err != nil {
		return nil, err
	}

	run := func(op, server string, d time.Duration) (loadgen.Report, error) {
		var out, errs bytes.Buffer
		cmd := exec.CommandContext(ctx, o.BenchBin, "load", "--server", urls[server], "--mix", op+"=1",
			"--duration", d.String(), "--concurrency", fmt.Sprint(o.Concurrency), "--json")
		cmd.Env, cmd.Stdout, cmd.Stderr = append(os.Environ(), env...), &out, &errs
		if err := cmd.Run(); err != nil {
			return loadgen.Report{}, fmt.Errorf("%s at %s: %w: %s", op, server, err, strings.TrimSpace(errs.String()))
		}
		var rep loadgen.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			return rep, fmt.Errorf("%s at %s: the load generator's report: %w", op, server, err)
		}
		return rep, nil
	}
	if o.Warmup > 0 {
		for _, op := range o.Ops {
			for _, server := range Servers {
				if _, err := run(op, server, o.Warmup); err != nil {
					return nil, fmt.Errorf("warm-up: %w", err)
				}
			}
		}
		fmt.Fprintf(o.Progress, "warmed up: %s of each operation at each server\n", o.Warmup)
	}
	res := &Result{Duration: o.Duration, Concurrency: o.Concurrency, Rounds: o.Rounds, Ops: o.Ops,
		Runs: map[string]map[string][]loadgen.Report{}}
	for _, op := range o.Ops {
		res.Runs[op] = map[string][]loadgen.Report{}
	}
	for r := range o.Rounds {
		for _, op := range o.Ops {
			for _, server := range Servers {
				rep, err := run(op, server, o.Duration)
				if err != nil {
					return res, err
				}
				res.Runs[op][server] = append(res.Runs[op][server], rep)
				fmt.Fprintf(o.Progress, "round %d, %s at %s: %.0f req/s, p50 %.2f ms, %d errors\n",
					r+1, op, server, rep.Total.Rate, ms(rep.Total.P50), rep.Total.Errors)
			}
		}
	}
	for _, server := range Servers {
		if err := procs[server].exited(); err != nil {
			return res, fmt.Errorf("%s ended during the runs: %w", server, err)
		}
	}
	return res, nil
}

// tokenEnv is the load generator's tokens, signed with the data
// directory's key as `certd token` signs them, as environment variables
// (not arguments other users of the machine could list).
func tokenEnv(dir string) ([]string, error) {
	key, err := identity.LoadOrCreateSigningKey(dir)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	day := 24 * time.Hour
	var env []string
	for name, req := range map[string]identity.TokenRequest{
		"CERTD_STAFF_TOKEN":  {Subject: "compare-staff", Org: demo.ServiceCentre, Roles: []string{identity.RoleStaff}, AMR: []string{"pwd"}, TTL: day},
		"CERTD_HOLDER_TOKEN": {Subject: "compare-holder", Roles: []string{identity.RoleHolder}, Holder: loadgen.LoadHolder, AMR: []string{"pwd"}, TTL: day},
		"CERTD_ISSUER_TOKEN": {Subject: "compare-issuer", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"cert"}, TTL: day},
	} {
		tok, err := identity.Issue(key, req)
		if err != nil {
			return nil, err
		}
		env = append(env, name+"="+tok)
	}
	return env, nil
}

// process is a server started for the comparison.
type process struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	done   chan struct{}
	err    error
}

func start(ctx context.Context, logs io.Writer, bin string, args ...string) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, stdout: bufio.NewReader(out), done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop asks the server to shut down and kills it if it has not within
// ten seconds.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited returns why the process ended, or nil while it runs.
func (p *process) exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return errors.New("exited")
		}
		return p.err
	default:
		return nil
	}
}

var announcement = regexp.MustCompile(`http://[^\s]+/graphql`)

// announced reads the server's stdout until it says where it serves, and
// returns that base URL.
func (p *process) announced(ctx context.Context) (string, error) {
	got := make(chan string, 1)
	go func() {
		for {
			line, err := p.stdout.ReadString('\n')
			if u := announcement.FindString(line); u != "" {
				got <- strings.TrimSuffix(u, "/graphql")
				_, _ = io.Copy(io.Discard, p.stdout)
				return
			}
			if err != nil {
				close(got)
				return
			}
		}
	}()
	select {
	case u, ok := <-got:
		if !ok {
			<-p.done
			return "", fmt.Errorf("ended before serving: %v", p.err)
		}
		return u, nil
	case <-time.After(60 * time.Second):
		return "", errors.New("did not say where it serves within 60s")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// waitReady polls url until it answers 200, the process ends, or a
// minute passes.
func waitReady(ctx context.Context, url string, p *process) error {
	go func() { _, _ = io.Copy(io.Discard, p.stdout) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := p.exited(); err != nil {
			return fmt.Errorf("ended before it was ready: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within a minute at %s", url)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Summary is one server's figures for one operation over the rounds:
// the rate over the summed time, the mean of the rounds' percentiles.
type Summary struct {
	Count, Errors int
	Rate          float64
	P50, P99      time.Duration
	RoundRates    []float64
	FirstError    string
}

// Summarize combines the rounds of one operation at one server.
func Summarize(reps []loadgen.Report) Summary {
	var s Summary
	var elapsed time.Duration
	for _, r := range reps {
		elapsed += r.Elapsed
		s.Count += r.Total.Count
		s.Errors += r.Total.Errors
		s.P50 += r.Total.P50 / time.Duration(len(reps))
		s.P99 += r.Total.P99 / time.Duration(len(reps))
		s.RoundRates = append(s.RoundRates, r.Total.Rate)
		if s.FirstError == "" {
			s.FirstError = r.FirstError
		}
	}
	if elapsed > 0 {
		s.Rate = float64(s.Count) / elapsed.Seconds()
	}
	return s
}

// Errors is the number of failed requests of every run, and one of them.
func (r *Result) Errors() (int, string) {
	n, first := 0, ""
	for _, op := range r.Ops {
		for _, server := range Servers {
			s := Summarize(r.Runs[op][server])
			n += s.Errors
			if first == "" {
				first = s.FirstError
			}
		}
	}
	return n, first
}

// Print writes, per operation, each server's req/s, p50 and p99 and the
// ratios certd/store-baseline and certd/in-memory (below 1 for
// throughput, above 1 for latency, when certd is the slower).
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "%d round(s) of %s per operation and server, concurrency %d, alternating servers; req/s over all rounds, percentiles the mean of the rounds'\n",
		r.Rounds, r.Duration, r.Concurrency)
	fmt.Fprintf(w, "%-12s %-16s %10s %9s %9s %7s  %s\n", "operation", "server", "req/s", "p50(ms)", "p99(ms)", "errors", "req/s by round")
	for _, op := range r.Ops {
		sums := map[string]Summary{}
		for _, server := range Servers {
			s := Summarize(r.Runs[op][server])
			sums[server] = s
			rounds := make([]string, len(s.RoundRates))
			for i, x := range s.RoundRates {
				rounds[i] = fmt.Sprintf("%.0f", x)
			}
			fmt.Fprintf(w, "%-12s %-16s %10.1f %9.2f %9.2f %7d  %s\n", op, server, s.Rate, ms(s.P50), ms(s.P99), s.Errors, strings.Join(rounds, " "))
		}
		c := sums[Certd]
		for _, base := range []string{Store, Memory} {
			b := sums[base]
			fmt.Fprintf(w, "%-12s %-16s %10.2f %9.2f %9.2f\n", op, "certd/"+strings.TrimSuffix(base, "-baseline"),
				ratio(c.Rate, b.Rate), ratio(ms(c.P50), ms(b.P50)), ratio(ms(c.P99), ms(b.P99)))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
