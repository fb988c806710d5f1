package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"certd/internal/bulk"
	"certd/internal/certificate"
	"certd/internal/store/storetest"
)

func TestBulkConformance(t *testing.T) {
	storetest.RunBulk(t, func(t *testing.T) storetest.BulkStore { return openTemp(t) })
}

// seedLicences inserts n current licences spread over 20 types, 10
// issuers, 4 states, both holder kinds and 24 months, in batches of 1000.
func seedLicences(tb testing.TB, s *Store, n int) {
	tb.Helper()
	ctx := context.Background()
	states := []certificate.State{certificate.Valid, certificate.Valid, certificate.Valid, certificate.Suspended, certificate.Revoked, certificate.Expired}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]certificate.Certificate, 0, 1000)
	for i := range n {
		issuer := fmt.Sprintf("1135010000000%05d", i%10)
		typ := fmt.Sprintf("11350100MB000000%02d%03d", i%10, i%20)
		c := storetest.NewCert(issuer, typ, int64(i+1), "321083197812162119", base.Add(time.Duration(i%(730*24))*time.Hour))
		c.State = states[i%len(states)]
		if i%3 == 0 {
			c.Holder.Kind = certificate.Organization
		}
		batch = append(batch, c)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.Insert(ctx, batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// BenchmarkAggregate200k measures Aggregate over 10k and 200k licences
// grouped by TYPE+STATE and by ISSUE_MONTH.
func BenchmarkAggregate200k(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10_000, 200_000} {
		s, err := Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		seedLicences(b, s, n)
		for _, by := range [][]bulk.Dimension{{bulk.Type, bulk.StateDim}, {bulk.IssueMonth}} {
			b.Run(fmt.Sprintf("%dk/%v", n/1000, by), func(b *testing.B) {
				for b.Loop() {
					rows, err := s.Aggregate(ctx, by, bulk.Filter{})
					if err != nil || len(rows) == 0 {
						b.Fatal(len(rows), err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
			})
		}
		s.Close()
	}
}
