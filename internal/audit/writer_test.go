package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
)

// TestGroupCommit: 50 goroutines × 20 appends are stored in far fewer
// AppendAudit calls than appends, and every Append returns only once its
// records can be read.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	repo := &countingRepo{Repository: s}
	key := newKey(t)
	w := newWriter(t, repo, key, audit.WriterOptions{})
	const goroutines, appends = 50, 20
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range appends {
				recs := []audit.Record{sample(g*appends + i)}
				if err := w.Append(ctx, recs); err != nil {
					t.Error(err)
					return
				}
				r := recs[0]
				if r.Chain == "" || r.Seq < 1 || len(r.Hash) != 64 || r.Hash != audit.RecordHash(&r) {
					t.Errorf("Append did not fill the chain fields: %+v", r)
					return
				}
				got, err := s.AuditChain(ctx, r.Chain, r.Seq-1, 1)
				if err != nil || len(got) != 1 || got[0].Hash != r.Hash {
					t.Errorf("record %s not readable after Append returned: %v, %v", r.ID(), got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	calls := repo.calls.Load()
	t.Logf("%d appends in %d AppendAudit calls", goroutines*appends, calls)
	if repo.records.Load() != goroutines*appends {
		t.Fatalf("%d records stored, want %d", repo.records.Load(), goroutines*appends)
	}
	if calls > goroutines*appends/4 {
		t.Fatalf("%d AppendAudit calls for %d appends: no group commit", calls, goroutines*appends)
	}
	rep := mustVerify(t, s, pub(key))
	if rep.Chains != 1 || rep.Records != goroutines*appends || rep.UnsignedTail != 0 {
		t.Fatalf("report %+v", rep)
	}
}

// TestCheckpoints: a checkpoint every CheckpointEvery records, one on
// its own when idle after CheckpointInterval, and a Final one on Close.
func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	key := newKey(t)
	w := newWriter(t, s, key, audit.WriterOptions{CheckpointEvery: 5, CheckpointInterval: 50 * time.Millisecond})
	appendN(t, w, 12)
	deadline := time.Now().Add(5 * time.Second)
	for {
		cps, err := s.AuditCheckpoints(ctx, w.Chain(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(cps) > 0 && cps[len(cps)-1].Seq == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no idle checkpoint of seq 12: %+v", cps)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cps, err := s.AuditCheckpoints(ctx, w.Chain(), 0)
	if err != nil {
		t.Fatal(err)
	}
	last := cps[len(cps)-1]
	if !last.Final || last.Seq != 12 || len(cps) < 4 {
		t.Fatalf("checkpoints %+v: want some every 5 records, the idle one at 12 and a Final one at 12", cps)
	}
	for _, cp := range cps {
		if err := audit.VerifyCheckpoint(&cp, pub(key)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Append(ctx, []audit.Record{sample(1)}); !apperr.CodeIs(err, apperr.AuditUnavailable) {
		t.Fatalf("Append after Close: %v, want AUDIT_UNAVAILABLE", err)
	}
	mustVerify(t, s, pub(key))
}

// TestFailingStore: while the store fails, Append returns
// AUDIT_UNAVAILABLE; once it recovers appends succeed, and the log still
// verifies, also when a failed batch was stored after all.
func TestFailingStore(t *testing.T) {
	for _, afterStore := range []bool{false, true} {
		name := map[bool]string{false: "NotStored", true: "StoredButFailed"}[afterStore]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openStore(t)
			repo := &flakyRepo{Repository: s}
			repo.afterStore.Store(afterStore)
			key := newKey(t)
			w := newWriter(t, repo, key, audit.WriterOptions{CheckpointEvery: 3})
			appendN(t, w, 5)
			first := w.Chain()
			repo.down.Store(true)
			err := w.Append(ctx, []audit.Record{sample(100), sample(101)})
			if !apperr.CodeIs(err, apperr.AuditUnavailable) || !errors.Is(err, errStoreDown) {
				t.Fatalf("Append on a failing store: %v, want AUDIT_UNAVAILABLE wrapping the cause", err)
			}
			if code, msg, _ := apperr.CodeOf(err); code != apperr.AuditUnavailable || msg != "audit log unavailable; no data returned" {
				t.Fatalf("client sees %s %q", code, msg)
			}
			repo.down.Store(false)
			appendN(t, w, 7)
			if w.Chain() == first {
				t.Fatal("the writer kept the chain of a failed batch")
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			rep := mustVerify(t, s, pub(key))
			want := 12
			if afterStore {
				want = 14
			}
			if rep.Records != want || rep.Chains != 2 {
				t.Fatalf("report %+v, want %d records in 2 chains", rep, want)
			}
		})
	}
}

// TestAppendContextEnds: a caller whose context ends while its batch is
// being stored gets AUDIT_UNAVAILABLE at once.
func TestAppendContextEnds(t *testing.T) {
	s, _ := openStore(t)
	repo := &flakyRepo{Repository: s, block: make(chan struct{})}
	w := newWriter(t, repo, newKey(t), audit.WriterOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := w.Append(ctx, []audit.Record{sample(1)})
	if !apperr.CodeIs(err, apperr.AuditUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want AUDIT_UNAVAILABLE wrapping the deadline", err)
	}
	close(repo.block)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestAppendNormalizes: At is set when zero and kept in UTC milliseconds,
// invalid UTF-8 is replaced before hashing, and the caller's slices are
// not kept by the writer.
func TestAppendNormalizes(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	now := time.Date(2026, 3, 1, 16, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	w := newWriter(t, s, newKey(t), audit.WriterOptions{Now: func() time.Time { return now }})
	r := sample(1)
	r.Reason = "bad \xff byte"
	recs := []audit.Record{r}
	if err := w.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	recs[0].Fields[0] = "changed afterwards"
	got, err := s.AuditChain(ctx, recs[0].Chain, 0, 1)
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if !got[0].At.Equal(now.Truncate(time.Millisecond)) || !recs[0].At.Equal(got[0].At) {
		t.Fatalf("At %v, want %v", got[0].At, now.Truncate(time.Millisecond))
	}
	if got[0].Reason != "bad \uFFFD byte" || got[0].Fields[0] != "data.address" || got[0].Hash != audit.RecordHash(&got[0]) {
		t.Fatalf("stored %+v", got[0])
	}
}
