package audit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
)

// scopeAll lets every caller read the whole log, unless refused is set.
type scopeAll struct{ refused bool }

func (s scopeAll) AuditScope(context.Context, string) (map[string]any, error) {
	if s.refused {
		return nil, apperr.Forbiddenf("no")
	}
	return map[string]any{"all": true}, nil
}

// gatedRepo counts the verifications that reach the store and holds each
// until the gate opens.
type gatedRepo struct {
	*audit.MemoryRepository
	gate  chan struct{}
	calls atomic.Int32
}

func (g *gatedRepo) AuditChains(ctx context.Context) ([]string, error) {
	g.calls.Add(1)
	<-g.gate
	return g.MemoryRepository.AuditChains(ctx)
}

// TestStatusSharesOneRun: callers during a verification share it, a caller
// that gives up does not cancel it, and its result is reused until it is
// older than the maximum age.
func TestStatusSharesOneRun(t *testing.T) {
	key := newKey(t)
	mem := audit.NewMemoryRepository()
	w := newWriter(t, mem, key, audit.WriterOptions{})
	appendN(t, w, 30)

	repo := &gatedRepo{MemoryRepository: mem, gate: make(chan struct{})}
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).UnixNano())
	log := audit.NewAccessLog(repo, scopeAll{})
	log.EnableStatus(pub(key), time.Minute, func() time.Time { return time.Unix(0, now.Load()) })

	impatient, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var gaveUp error
	var got [2]audit.Status
	var errs [2]error
	wg.Go(func() { _, gaveUp = log.Status(impatient) })
	for i := range got {
		wg.Go(func() { got[i], errs[i] = log.Status(context.Background()) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for repo.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	time.Sleep(20 * time.Millisecond) // the impatient caller leaves while the run is held
	close(repo.gate)
	wg.Wait()

	if !errors.Is(gaveUp, context.Canceled) {
		t.Errorf("a caller whose context ended: %v", gaveUp)
	}
	for i := range got {
		if errs[i] != nil || !got[i].Intact() || got[i].Records != 30 {
			t.Fatalf("caller %d: %+v, %v", i, got[i], errs[i])
		}
	}
	if n := repo.calls.Load(); n != 1 {
		t.Fatalf("%d verifications for concurrent callers, want 1", n)
	}
	if _, err := log.Status(context.Background()); err != nil || repo.calls.Load() != 1 {
		t.Fatalf("within the maximum age the result is reused: %v, %d runs", err, repo.calls.Load())
	}
	now.Add(int64(2 * time.Minute))
	if st, err := log.Status(context.Background()); err != nil || repo.calls.Load() != 2 || !st.CheckedAt.Equal(time.Unix(0, now.Load()).UTC()) {
		t.Fatalf("after the maximum age it verifies again: %+v, %v, %d runs", st, err, repo.calls.Load())
	}

	refused := audit.NewAccessLog(repo, scopeAll{refused: true})
	refused.EnableStatus(pub(key), time.Minute, nil)
	if _, err := refused.Status(context.Background()); !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("a caller the log is closed to: %v", err)
	}
}

// failingRepo cannot list chains.
type failingRepo struct {
	*audit.MemoryRepository
	calls atomic.Int32
}

func (f *failingRepo) AuditChains(context.Context) ([]string, error) {
	f.calls.Add(1)
	return nil, errors.New("disk unavailable")
}

// issuerScope reads the access log of one issuing unit only.
type issuerScope struct{}

func (issuerScope) AuditScope(context.Context, string) (map[string]any, error) {
	return map[string]any{"issuer": "11350100MB00000025"}, nil
}

// TestStatusFailuresAndScope: a failed verification is AUDIT_UNAVAILABLE
// (its cause not shown) and not retried for a while; a slow run does not
// make the next caller start another at once; broken record ids are shown
// only to those who may read the whole log.
func TestStatusFailuresAndScope(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }

	broken := &failingRepo{MemoryRepository: audit.NewMemoryRepository()}
	log := audit.NewAccessLog(broken, scopeAll{})
	log.EnableStatus(nil, time.Minute, clock)
	_, err := log.Status(context.Background())
	if !apperr.CodeIs(err, apperr.AuditUnavailable) {
		t.Fatalf("a store that cannot be read: %v", err)
	}
	if _, msg, _ := apperr.CodeOf(err); msg == "" || strings.Contains(msg, "disk") {
		t.Errorf("the message shown: %q", msg)
	}
	now.Add(int64(10 * time.Second))
	if _, err := log.Status(context.Background()); !apperr.CodeIs(err, apperr.AuditUnavailable) || broken.calls.Load() != 1 {
		t.Fatalf("within the retry interval: %v after %d runs", err, broken.calls.Load())
	}
	now.Add(int64(time.Minute))
	_, _ = log.Status(context.Background())
	if broken.calls.Load() != 2 {
		t.Fatalf("after the retry interval it tries again: %d runs", broken.calls.Load())
	}

	// A verification that outlasts the maximum age: the next caller gets
	// its result rather than starting another.
	key := newKey(t)
	mem := audit.NewMemoryRepository()
	w := newWriter(t, mem, key, audit.WriterOptions{})
	appendN(t, w, 5)
	slow := &gatedRepo{MemoryRepository: mem, gate: make(chan struct{})}
	slowLog := audit.NewAccessLog(slow, scopeAll{})
	slowLog.EnableStatus(pub(key), time.Minute, clock)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = slowLog.Status(context.Background()) })
	for slow.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	now.Add(int64(5 * time.Minute)) // the run takes five minutes
	close(slow.gate)
	wg.Wait()
	if _, err := slowLog.Status(context.Background()); err != nil || slow.calls.Load() != 1 {
		t.Fatalf("right after a slow run: %v, %d runs", err, slow.calls.Load())
	}

	// A log with a forged record: its id is named to a supervisor, not to
	// an issuer whose scope is one unit.
	forged := audit.NewMemoryRepository()
	rec := sample(1)
	rec.Chain, rec.Seq, rec.Hash = "forged", 1, "not-the-hash"
	if err := forged.AppendAudit(context.Background(), []audit.Record{rec}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		scope audit.Scoper
		named bool
	}{{scopeAll{}, true}, {issuerScope{}, false}} {
		l := audit.NewAccessLog(forged, c.scope)
		l.EnableStatus(nil, time.Minute, clock)
		st, err := l.Status(context.Background())
		if err != nil || st.Intact() || len(st.Problems) != 1 {
			t.Fatalf("%T: %+v, %v", c.scope, st, err)
		}
		if named := strings.Contains(st.Problems[0].String(), "forged.1"); named != c.named {
			t.Errorf("%T sees %q", c.scope, st.Problems[0].String())
		}
	}
}
