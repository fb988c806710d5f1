// Package loadgen drives a realistic mix of certd operations (staff case
// reads, holder reads, public verification, issuance) at fixed concurrency
// for a bounded time and reports throughput and latency percentiles. It only
// ever targets loopback addresses.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"certd/internal/demo"
)

// Operation names of the mix.
const (
	OpCaseRead   = "case.read"
	OpHolderRead = "holder.read"
	OpVerify     = "verify"
	OpIssue      = "issue"
)

// Defaults and limits.
const (
	DefaultConcurrency = 32
	DefaultDuration    = 10 * time.Second
	MaxDuration        = 10 * time.Minute

	// LoadHolder is the demo holder whose licences the mix reads: the
	// holder token must name it.
	LoadHolder = "91350100MA0000001P"
	loadMatter = "350100-SP-0002"
	// issueHolders is how many made-up people issuance picks from.
	issueHolders = 20_000_000
)

// DefaultMix is the operation weights used when Options.Mix is empty.
func DefaultMix() map[string]int {
	return map[string]int{OpCaseRead: 60, OpHolderRead: 20, OpVerify: 15, OpIssue: 5}
}

// Options configure a run.
type Options struct {
	Server                               string // base URL; its host must be a loopback address
	StaffToken, HolderToken, IssuerToken string
	Concurrency                          int            // workers; default 32
	Duration                             time.Duration  // default 10s, at most 10m
	Mix                                  map[string]int // weights by operation; default DefaultMix()
	Client                               *http.Client   // default: a client with a 30s timeout
}

// OpStats are the results of one operation (or of all).
type OpStats struct {
	Count, Errors int
	P50, P95, P99 time.Duration
	Rate          float64 // completed requests per second
}

// Report is the outcome of a run.
type Report struct {
	Elapsed time.Duration
	Ops     map[string]OpStats
	Total   OpStats
	// FirstError is one failed request's error, to tell why Errors > 0.
	FirstError string
}

// WalkInReason is the reason given for the load run's case.
const WalkInReason = "负载测试：演示数据的现场办件"

const (
	openCaseQuery = `mutation($in: OpenCaseInput!) { openCase(input: $in) { id } }`
	caseReadQuery = `query($id: ID!) { case(id: $id) { certificates { id state validUntil holder { code name } data } } }`
	holderQuery   = `{ me { certificates { id state data } } }`
	verifyQuery   = `query($id: ID!) { verifyCertificate(id: $id) { id found citable } }`
	issueQuery    = `mutation($in: IssueInput!) { issueCertificate(input: $in) { id } }`
)

// CheckMix returns an error unless mix (empty: the default) names only
// operations of the mix, with weights not negative and not all zero.
func CheckMix(mix map[string]int) error {
	if len(mix) == 0 {
		return nil
	}
	total := 0
	for op, w := range mix {
		switch op {
		case OpCaseRead, OpHolderRead, OpVerify, OpIssue:
		default:
			return fmt.Errorf("unknown operation %q in the mix (want %s, %s, %s or %s)", op, OpCaseRead, OpHolderRead, OpVerify, OpIssue)
		}
		if w < 0 {
			return fmt.Errorf("negative weight for %q", op)
		}
		total += w
	}
	if total == 0 {
		return errors.New("the mix has no positive weight")
	}
	return nil
}

// CheckLoopback returns an error unless server's host is a loopback address.
func CheckLoopback(server string) error {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("server %q is not an http(s) URL", server)
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to load %q: the load generator only targets loopback addresses (127.0.0.0/8, ::1, localhost) on this machine", h)
}

type client struct {
	hc  *http.Client
	url string
}

type gqlResp struct {
	Data   json.RawMessage   `json:"data"`
	Errors []json.RawMessage `json:"errors"`
}

// do posts a GraphQL request and returns the data, or an error when the
// status isn't 200 or the response carries errors.
func (c *client) do(ctx context.Context, token, query string, vars map[string]any) (json.RawMessage, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	var out gqlResp
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if len(out.Errors) > 0 {
		return nil, fmt.Errorf("graphql error: %s", out.Errors[0])
	}
	return out.Data, nil
}

// Run validates o, sets up a case, drives the mix and returns the report.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := CheckLoopback(o.Server); err != nil {
		return Report{}, err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Duration > MaxDuration {
		return Report{}, fmt.Errorf("duration %s exceeds the maximum of %s", o.Duration, MaxDuration)
	}
	if len(o.Mix) == 0 {
		o.Mix = DefaultMix()
	}
	if err := CheckMix(o.Mix); err != nil {
		return Report{}, err
	}
	var ops []string
	var weights []int
	total := 0
	for op, w := range o.Mix {
		if w > 0 {
			ops = append(ops, op)
		}
	}
	sort.Strings(ops)
	for _, op := range ops {
		total += o.Mix[op]
		weights = append(weights, total)
	}
	need := map[string]string{OpCaseRead: o.StaffToken, OpHolderRead: o.HolderToken, OpIssue: o.IssuerToken}
	if o.StaffToken == "" {
		return Report{}, errors.New("a staff token is required (to open the load case)")
	}
	for _, op := range ops {
		if t, ok := need[op]; ok && t == "" {
			return Report{}, fmt.Errorf("operation %q needs a token", op)
		}
	}
	hc := o.Client
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency}}
	}
	c := &client{hc: hc, url: strings.TrimSuffix(o.Server, "/") + "/graphql"}

	// Setup: a case of the demo holder, and the ids of its licences. It
	// is a walk-in (the baseline knows no applications), one of the
	// staff member's daily quota (data.certd.cases.walk_in_daily_quota).
	caseNo := fmt.Sprintf("LOAD-%d", time.Now().UnixNano())
	data, err := c.do(ctx, o.StaffToken, openCaseQuery, map[string]any{"in": map[string]any{
		"caseNo": caseNo, "holderCode": LoadHolder, "matterCode": loadMatter, "walkInReason": WalkInReason}})
	if err != nil {
		return Report{}, fmt.Errorf("setup: open case: %w", err)
	}
	var opened struct{ OpenCase struct{ ID string } }
	if err := json.Unmarshal(data, &opened); err != nil || opened.OpenCase.ID == "" {
		return Report{}, fmt.Errorf("setup: open case: no id in %s", data)
	}
	caseID := opened.OpenCase.ID
	data, err = c.do(ctx, o.StaffToken, caseReadQuery, map[string]any{"id": caseID})
	if err != nil {
		return Report{}, fmt.Errorf("setup: read case: %w", err)
	}
	var read struct {
		Case struct{ Certificates []struct{ ID string } }
	}
	if err := json.Unmarshal(data, &read); err != nil {
		return Report{}, fmt.Errorf("setup: read case: %w", err)
	}
	var ids []string
	for _, crt := range read.Case.Certificates {
		ids = append(ids, crt.ID)
	}
	if len(ids) == 0 && o.Mix[OpVerify] > 0 {
		return Report{}, fmt.Errorf("setup: case %s of holder %s shows no certificates to verify", caseNo, LoadHolder)
	}

	// Workers.
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	type sample struct {
		lat   []time.Duration
		err   int
		first string
	}
	results := make([]map[string]*sample, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Concurrency {
		res := map[string]*sample{}
		for _, op := range ops {
			res[op] = &sample{}
		}
		results[w] = res
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w)))
			for runCtx.Err() == nil {
				n := rng.IntN(total)
				op := ops[sort.SearchInts(weights, n+1)]
				var token, q string
				var vars map[string]any
				switch op {
				case OpCaseRead:
					token, q, vars = o.StaffToken, caseReadQuery, map[string]any{"id": caseID}
				case OpHolderRead:
					token, q = o.HolderToken, holderQuery
				case OpVerify:
					// The holder verifies its own licences by id alone:
					// the whole verification (store, seal, citability)
					// and no per-address limit, which public
					// verifications with a code meet.
					token, q, vars = o.HolderToken, verifyQuery, map[string]any{"id": ids[rng.IntN(len(ids))]}
				case OpIssue:
					token, q, vars = o.IssuerToken, issueQuery, map[string]any{"in": demo.FoodLicenceRequest(rng.IntN(issueHolders))}
				}
				t0 := time.Now()
				_, err := c.do(runCtx, token, q, vars)
				lat := time.Since(t0)
				if err != nil && runCtx.Err() != nil {
					break // cut short by the deadline: not a server error
				}
				s := res[op]
				s.lat = append(s.lat, lat)
				if err != nil {
					s.err++
					if s.first == "" {
						s.first = op + ": " + err.Error()
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}

	rep := Report{Elapsed: elapsed, Ops: map[string]OpStats{}}
	var all []time.Duration
	for _, op := range ops {
		var lat []time.Duration
		errs := 0
		for _, res := range results {
			lat = append(lat, res[op].lat...)
			errs += res[op].err
			if rep.FirstError == "" {
				rep.FirstError = res[op].first
			}
		}
		all = append(all, lat...)
		rep.Ops[op] = stats(lat, errs, elapsed)
		rep.Total.Errors += errs
	}
	rep.Total = stats(all, rep.Total.Errors, elapsed)
	return rep, nil
}

func stats(lat []time.Duration, errs int, elapsed time.Duration) OpStats {
	slices.Sort(lat)
	s := OpStats{Count: len(lat), Errors: errs, P50: percentile(lat, 50), P95: percentile(lat, 95), P99: percentile(lat, 99)}
	if elapsed > 0 {
		s.Rate = float64(len(lat)) / elapsed.Seconds()
	}
	return s
}

// percentile returns the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Print writes r as a fixed-width table.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "elapsed %s\n", r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "%-12s %8s %7s %9s %9s %9s %9s\n", "operation", "count", "errors", "req/s", "p50(ms)", "p95(ms)", "p99(ms)")
	line := func(name string, s OpStats) {
		fmt.Fprintf(w, "%-12s %8d %7d %9.1f %9.2f %9.2f %9.2f\n", name, s.Count, s.Errors, s.Rate, ms(s.P50), ms(s.P95), ms(s.P99))
	}
	names := make([]string, 0, len(r.Ops))
	for op := range r.Ops {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		line(op, r.Ops[op])
	}
	line("total", r.Total)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
