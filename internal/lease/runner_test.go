package lease_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/lease"
	"certd/internal/store/sqlite"
)

// TestRunnersShareOneJob: of two runners on one store one runs the job;
// when it stops it releases the lease and the other takes over at once,
// long before the TTL, with the next token.
func TestRunnersShareOneJob(t *testing.T) {
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const ttl = time.Hour // a takeover within the test needs the release
	var mu sync.Mutex
	tokens := map[string]int64{}
	var runs [2]atomic.Int32
	job := func(i int, owner string) lease.Job {
		return func(ctx context.Context, l lease.Lease) (string, error) {
			runs[i].Add(1)
			mu.Lock()
			tokens[owner] = l.Token
			mu.Unlock()
			return "ran", nil
		}
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	a := lease.NewRunner(st, "A", ttl, nil, nil)
	b := lease.NewRunner(st, "B", 300*time.Millisecond, nil, nil) // B retries every 100ms
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctxA, "job", 20*time.Millisecond, job(0, "A")) })
	deadline := time.Now().Add(5 * time.Second)
	for runs[0].Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	wg.Go(func() { b.Run(ctxB, "job", 20*time.Millisecond, job(1, "B")) })
	time.Sleep(300 * time.Millisecond)
	if runs[0].Load() < 3 || runs[1].Load() != 0 {
		t.Fatalf("runs A %d, B %d: only the holder runs", runs[0].Load(), runs[1].Load())
	}
	stopA()
	for runs[1].Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if runs[1].Load() == 0 {
		t.Fatal("B did not take over after A released the lease")
	}
	l, err := st.GetLease(context.Background(), "job")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if l.Owner != "B" || tokens["A"] != 1 || tokens["B"] != 2 || l.Note != "ran" {
		t.Fatalf("lease %+v, tokens %v", l, tokens)
	}
	stopB()
	wg.Wait()
}
