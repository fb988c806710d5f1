package audit_test

import (
	"context"
	"errors"
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
