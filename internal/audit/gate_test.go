package audit_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
)

const (
	validLicence = "1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y"
	validHolder  = "321083197812162119"
	validUnit    = "11110000000021135M"
	validCase    = "0123456789abcdef0123456789abcdef"
)

// appendRecorder is an Appender keeping what it was given.
type appendRecorder struct {
	mu   sync.Mutex
	recs []audit.Record
	err  error
}

func (a *appendRecorder) Append(_ context.Context, recs []audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.recs = append(a.recs, recs...)
	return nil
}

func (a *appendRecorder) take() []audit.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.recs
	a.recs = nil
	return out
}

func trail(subject, org, client string) *audit.Trail {
	return audit.NewTrail(audit.Record{Subject: subject, Org: org, Client: client, RequestID: "r", Roles: []string{}}, func() int { return 1 })
}

func refuse(t *audit.Trail, action string, ref audit.Ref) {
	t.Deny(action, ref, "not allowed")
}

// TestRecordValuesAreValidated: a value that is not what it names never
// reaches a record; the record says one was left out.
func TestRecordValuesAreValidated(t *testing.T) {
	tr := trail("clerk", "not-a-unit", "10.0.0.1")
	tr.Deny("case.annotatedCopy", audit.Ref{CertificateID: "READ-BY-SUPERVISOR", HolderCode: "READ-BY-SUPERVISOR",
		IssuerCode: "x", CaseID: "../../etc", MatterCode: "{\"$gt\":\"\"}"}, "denied\n\x00forged line")
	recs := tr.Records(time.Now())
	if len(recs) != 1 {
		t.Fatalf("records %+v", recs)
	}
	bad := recs[0]
	tr = trail("clerk", validUnit, "10.0.0.1")
	tr.Write("case.open", audit.Ref{CertificateID: validLicence, HolderCode: validHolder, IssuerCode: validUnit, CaseID: validCase,
		MatterCode: "350100-SP-0001"}, "")
	good := tr.Records(time.Now())[0]
	if bad.CertificateID != "" || bad.HolderCode != "" || bad.IssuerCode != "" || bad.CaseID != "" || bad.MatterCode != "" || bad.Org != "" {
		t.Fatalf("invalid values kept: %+v", bad)
	}
	if !strings.Contains(bad.Reason, "left out") || strings.ContainsAny(bad.Reason, "\n\x00") {
		t.Fatalf("reason %q", bad.Reason)
	}
	if good.CertificateID != validLicence || good.HolderCode != validHolder || good.IssuerCode != validUnit ||
		good.CaseID != validCase || good.MatterCode != "350100-SP-0001" || good.Client != "10.0.0.1" || good.Org != validUnit ||
		strings.Contains(good.Reason, "left out") {
		t.Fatalf("valid values changed: %+v", good)
	}
	// Field paths: names only.
	tr = trail("clerk", validUnit, "10.0.0.1")
	tr.Show(audit.Read{Ref: audit.Ref{CertificateID: validLicence}, Delivered: true,
		Fields: []string{"holder.name", "data.地址", "data.a b", "state", "__typename", "x.y.z.w.v", "state"}})
	recs = tr.Records(time.Now())
	if len(recs) != 1 || !slices.Equal(recs[0].Fields, []string{"__typename", "holder.name", "state"}) {
		t.Fatalf("fields %+v", recs)
	}
	if long := strings.Repeat("长", 1000); true {
		tr = trail("clerk", validUnit, "")
		tr.Write("x.y", audit.Ref{}, long)
		if r := tr.Records(time.Now())[0].Reason; len([]rune(r)) > 301 {
			t.Fatalf("reason of %d characters", len([]rune(r)))
		}
	}
}

// TestAnonymousRequestIsOneRecord: whatever a request without a token
// tries, it leaves one record at most, counting the rest.
func TestAnonymousRequestIsOneRecord(t *testing.T) {
	tr := trail(audit.AnonymousSubject, "", "192.0.2.7")
	for i := range 200 {
		refuse(tr, "audit.read", audit.Ref{Target: "access log"})
		if i%2 == 0 {
			refuse(tr, "case.read", audit.Ref{CaseID: validCase})
		}
	}
	recs := tr.Records(time.Now())
	if len(recs) != 1 || recs[0].Count != 300 || recs[0].Decision != audit.Deny || recs[0].Client != "192.0.2.7" {
		t.Fatalf("records %+v", recs)
	}
	if recs := trail(audit.AnonymousSubject, "", "192.0.2.7").Records(time.Now()); len(recs) != 0 {
		t.Fatalf("an anonymous request that was refused nothing: %+v", recs)
	}
}

// TestAlikeRecordsOfARequestAreOne: aliases repeating a write or refusal
// in one request give one record with a count.
func TestAlikeRecordsOfARequestAreOne(t *testing.T) {
	tr := trail("super", validUnit, "10.0.0.1")
	for range 50 {
		tr.Write("audit.read", audit.Ref{Target: "access log"}, "all in scope")
	}
	tr.Write("audit.read", audit.Ref{Target: "access log"}, "org="+validUnit)
	recs := tr.Records(time.Now())
	if len(recs) != 2 || recs[0].Count != 50 || recs[1].Count != 0 {
		t.Fatalf("records %+v", recs)
	}
}

func TestGateCountsRepeatedRefusals(t *testing.T) {
	ctx := context.Background()
	w := &appendRecorder{}
	g := audit.NewGate(w, audit.GateOptions{RefusalInterval: time.Hour, MaxCallers: 3})
	defer g.Close(ctx)
	commit := func(tr *audit.Trail) {
		t.Helper()
		if err := g.Commit(ctx, tr, "query x"); err != nil {
			t.Fatal(err)
		}
	}
	// Anonymous: the first request's record is stored, the next ones
	// from that address only counted.
	for range 5 {
		tr := trail(audit.AnonymousSubject, "", "192.0.2.7")
		for range 200 {
			refuse(tr, "audit.read", audit.Ref{Target: "access log"})
		}
		commit(tr)
	}
	got := w.take()
	if len(got) != 1 || got[0].Count != 200 || got[0].Operation != "query x" {
		t.Fatalf("stored %+v", got)
	}
	// A clerk refused the same licence again and again: stored once; a
	// read of another licence is another refusal; allowed reads and
	// writes always pass.
	for range 3 {
		tr := trail("clerk", validUnit, "10.0.0.1")
		refuse(tr, "certificate.read", audit.Ref{CertificateID: validLicence})
		tr.Show(audit.Read{Ref: audit.Ref{CertificateID: validLicence, CaseID: validCase}, Fields: []string{"state"}, Delivered: true})
		tr.Write("case.close", audit.Ref{CaseID: validCase}, "")
		commit(tr)
	}
	got = w.take()
	denies := 0
	for _, r := range got {
		if r.Decision == audit.Deny {
			denies++
		}
	}
	if len(got) != 7 || denies != 1 {
		t.Fatalf("stored %d records, %d refusals: %+v", len(got), denies, got)
	}
	// Past MaxCallers (3 here) the rest is counted together: .8 is the
	// third caller, .9 the first of the rest, stored; .10 and .11 counted.
	for _, addr := range []string{"192.0.2.8", "192.0.2.9", "192.0.2.10", "192.0.2.11"} {
		tr := trail(audit.AnonymousSubject, "", addr)
		refuse(tr, "audit.read", audit.Ref{})
		commit(tr)
	}
	if got := w.take(); len(got) != 2 {
		t.Fatalf("past the limit: %+v", got)
	}

	if err := g.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sums := w.take()
	counts := map[string]int{}
	for _, r := range sums {
		if r.Decision != audit.Deny || r.RequestID != "" {
			t.Fatalf("summary %+v", r)
		}
		counts[r.Subject+" "+r.Client+" "+r.CertificateID] = r.Count
	}
	if counts["anonymous 192.0.2.7 "] != 800 || counts["clerk 10.0.0.1 "+validLicence] != 2 || counts["various  "] != 2 || len(counts) != 3 {
		t.Fatalf("summaries %v", counts)
	}
	// A new interval stores the first refusal again.
	tr := trail(audit.AnonymousSubject, "", "192.0.2.7")
	refuse(tr, "audit.read", audit.Ref{})
	commit(tr)
	if got := w.take(); len(got) != 1 {
		t.Fatalf("after the flush: %+v", got)
	}
	// Fail closed: an append that fails is AUDIT_UNAVAILABLE.
	w.err = apperr.Wrap(errors.New("disk"), apperr.AuditUnavailable, "down")
	tr = trail("clerk", validUnit, "10.0.0.1")
	tr.Show(audit.Read{Ref: audit.Ref{CertificateID: validLicence}, Fields: []string{"state"}, Delivered: true})
	if err := g.Commit(ctx, tr, ""); !apperr.CodeIs(err, apperr.AuditUnavailable) {
		t.Fatalf("commit with the store down: %v", err)
	}
}

// TestGateCloseStoresTheCounts: what was counted is stored on Close.
func TestGateCloseStoresTheCounts(t *testing.T) {
	ctx := context.Background()
	w := &appendRecorder{}
	g := audit.NewGate(w, audit.GateOptions{RefusalInterval: time.Hour})
	for range 3 {
		tr := trail(audit.AnonymousSubject, "", "192.0.2.7")
		refuse(tr, "audit.read", audit.Ref{})
		if err := g.Commit(ctx, tr, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := w.take()
	if len(got) != 2 || got[1].Count != 2 {
		t.Fatalf("stored %+v", got)
	}
}

// TestReadsSayWhatWasDelivered: reads of one licence through one case in
// one request are one record; the fields of those delivered, or
// NOT_DELIVERED when none was.
func TestReadsSayWhatWasDelivered(t *testing.T) {
	other := "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
	tr := trail("clerk", validUnit, "10.0.0.1")
	ref := audit.Ref{CertificateID: validLicence, CaseID: validCase, Basis: audit.BasisCase}
	tr.Show(audit.Read{Ref: ref, Fields: []string{"sealedDocument", "state"}})
	tr.Show(audit.Read{Ref: ref, Fields: []string{"id", "state"}, Delivered: true})
	tr.Show(audit.Read{Ref: ref, Fields: []string{"data.x"}})
	tr.Show(audit.Read{Ref: ref, Fields: []string{"holder.name"}, Delivered: true})
	tr.Show(audit.Read{Ref: audit.Ref{CertificateID: other}, Fields: []string{"id", "data.x"}})
	tr.Show(audit.Read{Action: "case.missingTypes", Ref: audit.Ref{CaseID: validCase}, Fields: []string{"missingTypes"}, Delivered: true})
	recs := tr.Records(time.Now())
	if len(recs) != 3 {
		t.Fatalf("records %+v", recs)
	}
	if r := recs[0]; r.Decision != audit.Allow || !slices.Equal(r.Fields, []string{"holder.name", "id", "state"}) || r.Basis != audit.BasisCase {
		t.Fatalf("delivered read %+v", r)
	}
	if r := recs[1]; r.Decision != audit.NotDelivered || r.CertificateID != other || !slices.Equal(r.Fields, []string{"data.x", "id"}) {
		t.Fatalf("read not delivered %+v", r)
	}
	if r := recs[2]; r.Action != "case.missingTypes" || r.Decision != audit.Allow || r.CaseID != validCase {
		t.Fatalf("missing types %+v", r)
	}
}
