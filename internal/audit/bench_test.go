package audit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"certd/internal/audit"
)

// BenchmarkWriterThroughput: goroutines (requests) append records of
// realistic size and spread (see sample) to the SQLite store, durably (WAL,
// synchronous FULL), perAppend records per Append (the licences one
// request read). b.N is the number of records; records/s is the figure,
// records/commit the group commit achieved, store-busy the share of the
// time spent in AppendAudit, cpu-µs/record the process's CPU time (user
// and system, all threads) per record: on a shared machine a steadier
// figure than records/s.
func BenchmarkWriterThroughput(b *testing.B) {
	for _, c := range []struct{ goroutines, perAppend int }{{64, 1}, {64, 16}, {64, 64}, {512, 16}} {
		goroutines, perAppend := c.goroutines, c.perAppend
		b.Run(fmt.Sprintf("goroutines=%d/records-per-append=%d", goroutines, perAppend), func(b *testing.B) {
			ctx := context.Background()
			s, _ := openStore(b)
			repo := &countingRepo{Repository: s}
			w, err := audit.NewWriter(repo, newKey(b), audit.WriterOptions{})
			if err != nil {
				b.Fatal(err)
			}
			pool := make([]audit.Record, 1<<16)
			for i := range pool {
				pool[i] = sample(i)
			}
			var next atomic.Int64
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					recs := make([]audit.Record, perAppend) // Append fills them in: one set per goroutine
					for {
						i := next.Add(int64(perAppend)) - int64(perAppend)
						if i >= int64(b.N) {
							return
						}
						n := min(int64(perAppend), int64(b.N)-i)
						for k := range recs[:n] {
							recs[k] = pool[(int(i)+k)%len(pool)]
						}
						if err := w.Append(ctx, recs[:n]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			if err := w.Close(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(cpu.Seconds()*1e6/float64(b.N), "cpu-µs/record")
			if c := repo.calls.Load(); c > 0 {
				b.ReportMetric(float64(repo.records.Load())/float64(c), "records/commit")
				b.ReportMetric(float64(repo.busy.Load())/float64(elapsed), "store-busy")
			}
		})
	}
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
