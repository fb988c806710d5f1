package sqlite

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"certd/internal/audit"
)

// benchRecord is a record of realistic size and spread, like
// internal/audit's sample.
func benchRecord(i int) audit.Record {
	lic := i * 7919 % 100000
	return audit.Record{
		Kind: audit.KindAccess, Subject: fmt.Sprintf("staff-%04d", i%500), Org: fmt.Sprintf("111000000000%04d38W", i%50),
		Roles: []string{"staff"}, Operation: "query case", Action: "certificate.read",
		CaseID: fmt.Sprintf("case-%06d", i%9000), MatterCode: "M0042", HolderCode: fmt.Sprintf("3210831978%08d", lic%50000),
		CertificateID: fmt.Sprintf("11110000000021135M-11100000000013338W011-2026%06d-1", lic),
		IssuerCode:    fmt.Sprintf("1111000000002%04dM", lic%40),
		Fields: []string{"data.address", "data.capital", "data.legalPerson", "data.name", "data.scope",
			"holder.code", "holder.name", "state", "validFrom", "validUntil"},
		Decision: audit.Allow, PolicyVersion: 3, RequestID: fmt.Sprintf("req-%08d", i), Client: "10.1.2.3:51234",
		Chain: "0123456789abcdef0123456789abcdef", PrevHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		Hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", At: time.Now(),
	}
}

// BenchmarkAppendAudit stores batches of records straight into the store,
// one AppendAudit (one transaction, one fsync) per batch: records/s, and
// the process's CPU time per record (steadier on a shared machine).
func BenchmarkAppendAudit(b *testing.B) {
	for _, batch := range []int{1, 45, 256, 3000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			recs := make([]audit.Record, batch)
			pool := make([]audit.Record, 1<<14)
			for i := range pool {
				pool[i] = benchRecord(i)
			}
			seq := int64(0)
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for n := 0; n < b.N; n += batch {
				for k := range recs {
					seq++
					recs[k] = pool[int(seq)%len(pool)]
					recs[k].Seq = seq
				}
				if err := s.AppendAudit(ctx, recs, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(seq)/time.Since(start).Seconds(), "records/s")
			b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/float64(seq), "cpu-µs/record")
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
