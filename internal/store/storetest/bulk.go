package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/bulk"
	"certd/internal/certificate"
)

// BulkStore is what the bulk suite needs: requests, and licences to count.
type BulkStore interface {
	bulk.Repository
	certificate.Repository
}

// NewBulkRequest returns a PENDING request for tests.
func NewBulkRequest(id string, createdAt time.Time) bulk.Request {
	from, to := day("2026-01-01"), day("2026-12-31")
	return bulk.Request{ID: id, State: bulk.Pending, Purpose: "licence statistics for the annual report",
		GroupBy:     []bulk.Dimension{bulk.Type, bulk.IssueMonth},
		Filter:      bulk.Filter{Types: []string{typeA, typeB}, States: []string{"VALID"}, IssuedFrom: &from, IssuedTo: &to},
		RequestedBy: "a1", RequesterOrg: issuerB, RunsLeft: 3, MaxRuns: 3, ValidDays: 30,
		CreatedAt: createdAt.UTC().Truncate(time.Millisecond), Rev: 1}
}

// RowSet renders rows as "dim=value,dim=value" → count, for comparison.
func RowSet(groupBy []bulk.Dimension, rows []bulk.Row) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		parts := make([]string, len(groupBy))
		for i, d := range groupBy {
			parts[i] = fmt.Sprintf("%s=%v", d, r.Key[string(d)])
		}
		out[strings.Join(parts, ",")] += r.Count
	}
	return out
}

func sameRequest(a, b bulk.Request) bool {
	eqTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.ID == b.ID && a.State == b.State && a.Purpose == b.Purpose && slices.Equal(a.GroupBy, b.GroupBy) &&
		slices.Equal(a.Filter.Types, b.Filter.Types) && slices.Equal(a.Filter.Issuers, b.Filter.Issuers) &&
		slices.Equal(a.Filter.States, b.Filter.States) && eqTime(a.Filter.IssuedFrom, b.Filter.IssuedFrom) &&
		eqTime(a.Filter.IssuedTo, b.Filter.IssuedTo) && a.RequestedBy == b.RequestedBy && a.RequesterOrg == b.RequesterOrg &&
		a.DecidedBy == b.DecidedBy && a.Comment == b.Comment && eqTime(a.ValidUntil, b.ValidUntil) && a.RunsLeft == b.RunsLeft &&
		a.MaxRuns == b.MaxRuns && a.ValidDays == b.ValidDays && a.CreatedAt.Equal(b.CreatedAt) && eqTime(a.DecidedAt, b.DecidedAt) &&
		a.Rev == b.Rev
}

// RunBulk runs the bulk analysis repository conformance suite.
func RunBulk(t *testing.T, open func(t *testing.T) BulkStore) {
	ctx := context.Background()
	base := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

	t.Run("RequestRoundTrip", func(t *testing.T) {
		r := open(t)
		a := NewBulkRequest("r1", base)
		must(t, r.CreateBulkRequest(ctx, a))
		got, err := r.GetBulkRequest(ctx, "r1")
		must(t, err)
		if !sameRequest(got, a) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
		}
		if err := r.CreateBulkRequest(ctx, a); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("same id twice: %v", err)
		}
		if _, err := r.GetBulkRequest(ctx, "nope"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if _, err := r.GetBulkRequest(ctx, `{"$gt":""}`); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("operator string: %v", err)
		}
		b := NewBulkRequest("r2", base.Add(time.Hour))
		b.Filter = bulk.Filter{}
		b.GroupBy = []bulk.Dimension{bulk.HolderKind}
		must(t, r.CreateBulkRequest(ctx, b))
		got, err = r.GetBulkRequest(ctx, "r2")
		must(t, err)
		if !sameRequest(got, b) {
			t.Fatalf("empty filter:\n got %+v\nwant %+v", got, b)
		}
		all, err := r.ListBulkRequests(ctx, "")
		must(t, err)
		if len(all) != 2 || all[0].ID != "r2" || all[1].ID != "r1" {
			t.Fatalf("list all: %+v", all)
		}
		none, err := r.ListBulkRequests(ctx, bulk.Approved)
		must(t, err)
		if len(none) != 0 {
			t.Fatalf("list approved: %+v", none)
		}
	})

	t.Run("UpdateWithRevision", func(t *testing.T) {
		r := open(t)
		a := NewBulkRequest("r1", base)
		must(t, r.CreateBulkRequest(ctx, a))
		at := base.Add(time.Hour)
		until := at.AddDate(0, 0, 30)
		a.State, a.DecidedBy, a.Comment, a.DecidedAt, a.ValidUntil = bulk.Approved, "o1", "ok", &at, &until
		must(t, r.UpdateBulkRequest(ctx, a, 1))
		got, err := r.GetBulkRequest(ctx, "r1")
		must(t, err)
		a.Rev = 2
		if !sameRequest(got, a) {
			t.Fatalf("after update:\n got %+v\nwant %+v", got, a)
		}
		approved, err := r.ListBulkRequests(ctx, bulk.Approved)
		must(t, err)
		if len(approved) != 1 || approved[0].ID != "r1" {
			t.Fatalf("list approved: %+v", approved)
		}
		a.RunsLeft = 1
		if err := r.UpdateBulkRequest(ctx, a, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}
		if got, _ := r.GetBulkRequest(ctx, "r1"); got.RunsLeft != 3 || got.Rev != 2 {
			t.Fatalf("a stale update changed the request: %+v", got)
		}
		missing := NewBulkRequest("nope", base)
		if err := r.UpdateBulkRequest(ctx, missing, 1); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
	})

	t.Run("ConcurrentUpdatesFromOneRevision", func(t *testing.T) {
		r := open(t)
		a := NewBulkRequest("r1", base)
		must(t, r.CreateBulkRequest(ctx, a))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				b := a
				b.RunsLeft--
				errs[i] = r.UpdateBulkRequest(ctx, b, 1)
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, apperr.ErrConflict):
				t.Fatalf("loser: %v", err)
			}
		}
		got, err := r.GetBulkRequest(ctx, "r1")
		must(t, err)
		if won != 1 || got.RunsLeft != 2 || got.Rev != 2 {
			t.Fatalf("%d winners, stored %+v", won, got)
		}
	})

	t.Run("Aggregate", func(t *testing.T) {
		r := open(t)
		org := func(c certificate.Certificate) certificate.Certificate {
			c.Holder.Kind = certificate.Organization
			return c
		}
		state := func(c certificate.Certificate, s certificate.State) certificate.Certificate {
			c.State = s
			return c
		}
		old := state(NewCert(issuerA, typeB, 9, "321083197812162119", time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)), certificate.Superseded)
		old.Current = false
		_, err := r.Insert(ctx, []certificate.Certificate{
			NewCert(issuerA, typeA, 1, "321083197812162119", time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)),
			// 23:00 on 31 March and 01:00 on 1 April in city time.
			NewCert(issuerA, typeA, 2, "321083197812162119", time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC)),
			org(state(NewCert(issuerA, typeA, 3, "91350100MA0000001P", time.Date(2026, 3, 31, 17, 0, 0, 0, time.UTC)), certificate.Suspended)),
			org(NewCert(issuerB, typeB, 1, "91350100MA0000001P", time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC))),
			state(NewCert(issuerB, typeB, 2, "321083197812162119", time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)), certificate.Revoked),
			old, // not current: never counted
		})
		must(t, err)
		dp := func(s string) *time.Time { d := day(s); return &d }
		for _, tc := range []struct {
			name string
			by   []bulk.Dimension
			f    bulk.Filter
			want map[string]int
		}{
			{"type", []bulk.Dimension{bulk.Type}, bulk.Filter{}, map[string]int{"TYPE=" + typeA: 3, "TYPE=" + typeB: 2}},
			{"issuer", []bulk.Dimension{bulk.Issuer}, bulk.Filter{}, map[string]int{"ISSUER=" + issuerA: 3, "ISSUER=" + issuerB: 2}},
			{"state", []bulk.Dimension{bulk.StateDim}, bulk.Filter{}, map[string]int{"STATE=VALID": 3, "STATE=SUSPENDED": 1, "STATE=REVOKED": 1}},
			{"holder kind", []bulk.Dimension{bulk.HolderKind}, bulk.Filter{}, map[string]int{"HOLDER_KIND=PERSON": 3, "HOLDER_KIND=ORGANIZATION": 2}},
			{"issue month in city time", []bulk.Dimension{bulk.IssueMonth}, bulk.Filter{},
				map[string]int{"ISSUE_MONTH=2026-03": 2, "ISSUE_MONTH=2026-04": 2, "ISSUE_MONTH=2026-05": 1}},
			{"type and state", []bulk.Dimension{bulk.Type, bulk.StateDim}, bulk.Filter{}, map[string]int{
				"TYPE=" + typeA + ",STATE=VALID": 2, "TYPE=" + typeA + ",STATE=SUSPENDED": 1,
				"TYPE=" + typeB + ",STATE=VALID": 1, "TYPE=" + typeB + ",STATE=REVOKED": 1}},
			{"types filter", []bulk.Dimension{bulk.Issuer}, bulk.Filter{Types: []string{typeB}}, map[string]int{"ISSUER=" + issuerB: 2}},
			{"issuers filter", []bulk.Dimension{bulk.StateDim}, bulk.Filter{Issuers: []string{issuerA}}, map[string]int{"STATE=VALID": 2, "STATE=SUSPENDED": 1}},
			{"states filter", []bulk.Dimension{bulk.Type}, bulk.Filter{States: []string{"VALID"}}, map[string]int{"TYPE=" + typeA: 2, "TYPE=" + typeB: 1}},
			{"issue dates in city time", []bulk.Dimension{bulk.Type}, bulk.Filter{IssuedFrom: dp("2026-04-01"), IssuedTo: dp("2026-04-30")},
				map[string]int{"TYPE=" + typeA: 1, "TYPE=" + typeB: 1}},
			{"issued to, inclusive", []bulk.Dimension{bulk.IssueMonth}, bulk.Filter{IssuedTo: dp("2026-03-31")}, map[string]int{"ISSUE_MONTH=2026-03": 2}},
			{"issued from", []bulk.Dimension{bulk.Issuer}, bulk.Filter{IssuedFrom: dp("2026-04-02")}, map[string]int{"ISSUER=" + issuerB: 2}},
			{"three dimensions and filters", []bulk.Dimension{bulk.IssueMonth, bulk.HolderKind, bulk.Issuer},
				bulk.Filter{Types: []string{typeA}, States: []string{"VALID"}}, map[string]int{"ISSUE_MONTH=2026-03,HOLDER_KIND=PERSON,ISSUER=" + issuerA: 2}},
			{"nothing matches", []bulk.Dimension{bulk.Type}, bulk.Filter{Issuers: []string{`{"$gt":""}`}}, map[string]int{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rows, err := r.Aggregate(ctx, tc.by, tc.f)
				must(t, err)
				for _, row := range rows {
					if len(row.Key) != len(tc.by) {
						t.Fatalf("row key %v for %v", row.Key, tc.by)
					}
				}
				if got := RowSet(tc.by, rows); !maps.Equal(got, tc.want) || len(rows) != len(tc.want) {
					t.Fatalf("got %v (%d rows), want %v", got, len(rows), tc.want)
				}
			})
		}
	})
}
