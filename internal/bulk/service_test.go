package bulk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/bulk"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/store/sqlite"
	"certd/internal/store/storetest"
)

const (
	issuer = "11110000000021135M"
	typeA  = "11100000000013338W011"
	typeB  = "11100000000013338W032"
	typeC  = "11100000000013338W045"
)

// fiveK stands in for *authz.Engine's BulkK (data.certd.authz.bulk_k,
// which the default policy sets to 5).
type fiveK struct{}

func (fiveK) BulkK() int { return 5 }

type fixture struct {
	store *sqlite.Store
	svc   *bulk.Service
	now   time.Time
	mu    sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mods, err := authz.DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := authz.NewEngine(ctx, mods, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 20, 7 and 2 current licences of three types: with k = 5 the last
	// group is suppressed.
	var cs []certificate.Certificate
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, n := range map[string]int{typeA: 20, typeB: 7, typeC: 2} {
		for j := range n {
			cs = append(cs, storetest.NewCert(issuer, i, int64(j+1), "321083197812162119", at))
		}
	}
	if _, err := s.Insert(ctx, cs); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	f.svc = bulk.NewService(s, eng, fiveK{})
	f.svc.Now = f.clock
	return f
}

func as(sub string, roles ...string) context.Context {
	return identity.WithPrincipal(context.Background(), &identity.Principal{Subject: sub, Org: "12350100MB0000001X", Roles: roles})
}

var (
	analyst       = as("a1", "analyst")
	otherAnalyst  = as("a2", "analyst")
	office        = as("o1", "digital_office")
	officeAnalyst = as("a1", "digital_office", "analyst") // filed the request and sits in the office
	staff         = as("s1", "staff")
)

func input(maxRuns int) bulk.SubmitInput {
	return bulk.SubmitInput{Purpose: "licence statistics by type for the annual report", GroupBy: []bulk.Dimension{bulk.Type},
		ValidDays: 30, MaxRuns: maxRuns}
}

func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if !apperr.CodeIs(err, code) {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// must returns v, or panics (failing the test) on an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSubmitValidates(t *testing.T) {
	f := setup(t)
	long := string(make([]byte, 65))
	from, to := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for name, edit := range map[string]func(*bulk.SubmitInput){
		"short purpose":   func(in *bulk.SubmitInput) { in.Purpose = "  stats   " },
		"no dimension":    func(in *bulk.SubmitInput) { in.GroupBy = nil },
		"four dimensions": func(in *bulk.SubmitInput) { in.GroupBy = []bulk.Dimension{"TYPE", "ISSUER", "STATE", "HOLDER_KIND"} },
		"twice":           func(in *bulk.SubmitInput) { in.GroupBy = []bulk.Dimension{"TYPE", "TYPE"} },
		"unknown":         func(in *bulk.SubmitInput) { in.GroupBy = []bulk.Dimension{"HOLDER_CODE"} },
		"0 days":          func(in *bulk.SubmitInput) { in.ValidDays = 0 },
		"91 days":         func(in *bulk.SubmitInput) { in.ValidDays = 91 },
		"0 runs":          func(in *bulk.SubmitInput) { in.MaxRuns = 0 },
		"101 runs":        func(in *bulk.SubmitInput) { in.MaxRuns = 101 },
		"long code":       func(in *bulk.SubmitInput) { in.Filter.Types = []string{long} },
		"empty code":      func(in *bulk.SubmitInput) { in.Filter.Issuers = []string{""} },
		"unknown state":   func(in *bulk.SubmitInput) { in.Filter.States = []string{"GONE"} },
		"dates reversed":  func(in *bulk.SubmitInput) { in.Filter.IssuedFrom, in.Filter.IssuedTo = &from, &to },
	} {
		in := input(3)
		edit(&in)
		_, err := f.svc.Submit(analyst, in)
		if !apperr.CodeIs(err, apperr.InvalidInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := f.svc.Submit(office, input(3))
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.Submit(context.Background(), input(3))
	wantCode(t, err, apperr.Unauthenticated)
}

func TestApprovalAndRun(t *testing.T) {
	f := setup(t)
	trail := audit.NewTrail(audit.Record{Subject: "a1"}, nil)
	ctx := audit.WithTrail(analyst, trail)
	r := must(f.svc.Submit(ctx, input(3)))
	if r.State != bulk.Pending || r.RunsLeft != 3 || r.RequestedBy != "a1" {
		t.Fatalf("submitted %+v", r)
	}

	// No run before approval, no approval by the requester or an analyst.
	_, err := f.svc.Run(ctx, r.ID)
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.Approve(officeAnalyst, r.ID, "")
	wantCode(t, err, apperr.Forbidden)
	var ae *apperr.Error
	if !errors.As(err, &ae) || !slices.Contains(ae.Details, "the requester cannot decide their own request") {
		t.Fatalf("reasons: %v", err)
	}
	_, err = f.svc.Reject(officeAnalyst, r.ID, "no")
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.Approve(otherAnalyst, r.ID, "")
	wantCode(t, err, apperr.Forbidden)

	ok := must(f.svc.Approve(office, r.ID, "for the annual report"))
	if ok.State != bulk.Approved || ok.DecidedBy != "o1" || ok.ValidUntil == nil || !ok.ValidUntil.Equal(f.now.AddDate(0, 0, 30)) {
		t.Fatalf("approved %+v", ok)
	}
	_, err = f.svc.Approve(office, r.ID, "")
	wantCode(t, err, apperr.Conflict)
	_, err = f.svc.Reject(office, r.ID, "too late")
	wantCode(t, err, apperr.Conflict)

	// Only the requester runs it.
	_, err = f.svc.Run(otherAnalyst, r.ID)
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.Run(office, r.ID)
	wantCode(t, err, apperr.Forbidden)

	res := must(f.svc.Run(ctx, r.ID))
	if res.RequestID != r.ID || res.K != 5 || res.SuppressedGroups != 1 || len(res.Rows) != 2 ||
		res.Rows[0].Count != 20 || res.Rows[0].Key["TYPE"] != typeA || res.Rows[1].Count != 7 || res.Rows[1].Key["TYPE"] != typeB {
		t.Fatalf("result %+v", res)
	}
	for _, row := range res.Rows {
		if len(row.Key) != 1 {
			t.Fatalf("a row carries more than its dimensions: %v", row.Key)
		}
	}
	found := false
	for _, rec := range trail.Records(time.Now()) {
		if rec.Action == "bulk.run" && rec.Kind == audit.KindWrite {
			found = true
			if want := fmt.Sprintf("bulk analysis %s: 2 groups, 1 suppressed", r.ID); rec.Reason != want {
				t.Fatalf("audit reason %q, want %q", rec.Reason, want)
			}
		}
	}
	if !found {
		t.Fatalf("run not audited: %+v", trail.Records(time.Now()))
	}

	// Three runs, then exhausted.
	must(f.svc.Run(ctx, r.ID))
	must(f.svc.Run(ctx, r.ID))
	got := must(f.svc.Get(analyst, r.ID))
	if got.State != bulk.Exhausted || got.RunsLeft != 0 {
		t.Fatalf("after three runs: %+v", got)
	}
	_, err = f.svc.Run(ctx, r.ID)
	wantCode(t, err, apperr.Forbidden)
	if !errors.As(err, &ae) || !slices.Contains(ae.Details, "the bulk analysis has no runs left") {
		t.Fatalf("reasons: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	f := setup(t)
	r := must(f.svc.Submit(analyst, input(5)))
	must(f.svc.Approve(office, r.ID, ""))
	must(f.svc.Run(analyst, r.ID))
	f.advance(30*24*time.Hour - time.Millisecond)
	must(f.svc.Run(analyst, r.ID))
	if l := must(f.svc.List(analyst, bulk.Approved)); len(l) != 1 {
		t.Fatalf("approved list: %+v", l)
	}
	f.advance(time.Millisecond)
	if l := must(f.svc.List(analyst, bulk.Approved)); len(l) != 0 {
		t.Fatalf("an expired request is listed as approved: %+v", l)
	}
	_, err := f.svc.Run(analyst, r.ID)
	wantCode(t, err, apperr.Forbidden)
	stored := must(f.store.GetBulkRequest(context.Background(), r.ID))
	if stored.State != bulk.Expired || stored.RunsLeft != 3 {
		t.Fatalf("expiry not stored: %+v", stored)
	}
	if l := must(f.svc.List(office, bulk.Expired)); len(l) != 1 || l[0].ID != r.ID {
		t.Fatalf("expired list: %+v", l)
	}
}

func TestRejectAndList(t *testing.T) {
	f := setup(t)
	a := must(f.svc.Submit(analyst, input(1)))
	f.advance(time.Second)
	b := must(f.svc.Submit(otherAnalyst, input(1)))
	_, err := f.svc.Reject(office, a.ID, " ")
	wantCode(t, err, apperr.InvalidInput)
	rej := must(f.svc.Reject(office, a.ID, "purpose does not justify personal-level detail"))
	if rej.State != bulk.Rejected || rej.Comment == "" || rej.ValidUntil != nil {
		t.Fatalf("rejected %+v", rej)
	}
	_, err = f.svc.Run(analyst, a.ID)
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.Approve(office, a.ID, "")
	wantCode(t, err, apperr.Conflict)

	if l := must(f.svc.List(office, "")); len(l) != 2 || l[0].ID != b.ID {
		t.Fatalf("office list: %+v", l)
	}
	if l := must(f.svc.List(analyst, "")); len(l) != 1 || l[0].ID != a.ID {
		t.Fatalf("own list: %+v", l)
	}
	if l := must(f.svc.List(office, bulk.Pending)); len(l) != 1 || l[0].ID != b.ID {
		t.Fatalf("pending list: %+v", l)
	}
	_, err = f.svc.List(staff, "")
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.Get(otherAnalyst, a.ID)
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.Get(analyst, "nope")
	wantCode(t, err, apperr.NotFound)
}

// TestConcurrentRunsNeverExceedMaxRuns runs one request from 8 goroutines:
// exactly MaxRuns succeed.
func TestConcurrentRunsNeverExceedMaxRuns(t *testing.T) {
	f := setup(t)
	r := must(f.svc.Submit(analyst, input(3)))
	must(f.svc.Approve(office, r.ID, ""))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = f.svc.Run(analyst, r.ID) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !apperr.CodeIs(err, apperr.Forbidden) && !apperr.CodeIs(err, apperr.Conflict):
			t.Fatal(err)
		}
	}
	if ok != 3 {
		t.Fatalf("%d runs succeeded, want 3: %v", ok, errs)
	}
}
