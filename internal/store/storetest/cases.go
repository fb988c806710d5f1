package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/cases"
	"certd/internal/certificate"
)

// RunCases runs the case repository conformance suite.
func RunCases(t *testing.T, open func(t *testing.T) cases.Repository) {
	runApplications(t, open)
	runWalkIns(t, open)
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	mk := func(id, no, unit string, at time.Time) cases.Case {
		return cases.Case{ID: id, CaseNo: no, UnitCode: unit, MatterCode: "350100-SP-0001",
			Holder:   certificate.Holder{Code: "91350100MA0000001P", Name: "某公司", Kind: certificate.Organization},
			OpenedBy: "s1", OpenedAt: at}
	}
	t.Run("RoundTripAndUniqueNumber", func(t *testing.T) {
		r := open(t)
		c := mk("c1", "SP-2026-0001", issuerA, base)
		closes, yes := base.Add(10*24*time.Hour), true
		c.ClosesAt, c.WalkInReason, c.HolderNameMatches = &closes, "申请人现场办理", &yes
		must(t, r.CreateCase(ctx, c))
		got, err := r.GetCase(ctx, "c1")
		must(t, err)
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("got %+v, want %+v", got, c)
		}
		fromApp := mk("c4", "SP-2026-0004", issuerA, base)
		fromApp.ApplicationID, fromApp.ClosesAt = "a1", &closes
		must(t, r.CreateCase(ctx, fromApp))
		if got, err := r.GetCase(ctx, "c4"); err != nil || !reflect.DeepEqual(got, fromApp) {
			t.Fatalf("from an application: %+v, %v", got, err)
		}
		if err := r.CreateCase(ctx, mk("c2", "SP-2026-0001", issuerA, base)); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("same number in one unit: %v", err)
		}
		must(t, r.CreateCase(ctx, mk("c3", "SP-2026-0001", issuerB, base)))
		if _, err := r.GetCase(ctx, "nope"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if _, err := r.GetCase(ctx, `{"$gt":""}`); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("operator string: %v", err)
		}
	})
	t.Run("CloseOnce", func(t *testing.T) {
		r := open(t)
		must(t, r.CreateCase(ctx, mk("c1", "1", issuerA, base)))
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch err := r.CloseCase(ctx, "c1", base.Add(time.Hour), "s2"); {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, apperr.ErrConflict):
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 5 {
			t.Fatalf("wins %d conflicts %d", wins.Load(), conflicts.Load())
		}
		got, err := r.GetCase(ctx, "c1")
		must(t, err)
		if got.ClosedAt == nil || !got.ClosedAt.Equal(base.Add(time.Hour)) || got.ClosedBy != "s2" || got.Open() {
			t.Fatalf("closed %+v", got)
		}
		if err := r.CloseCase(ctx, "nope", base, "x"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("close missing: %v", err)
		}
	})
	t.Run("PaperSubmissions", func(t *testing.T) {
		r := open(t)
		must(t, r.CreateCase(ctx, mk("c1", "1", issuerA, base)))
		p := cases.PaperSubmission{CaseID: "c1", UnitCode: issuerA, HolderCode: "91350100MA0000001P", TypeCode: typeA,
			Reason: "申请人坚持提交纸质件", At: base.Add(time.Minute), By: "s1", DespiteAvailable: true}
		must(t, r.AddPaperSubmission(ctx, p))
		p2 := p
		p2.TypeCode, p2.At, p2.DespiteAvailable = typeB, base.Add(2*time.Minute), false
		must(t, r.AddPaperSubmission(ctx, p2))
		got, err := r.PaperSubmissions(ctx, "c1")
		must(t, err)
		if len(got) != 2 || got[0] != p || got[1] != p2 {
			t.Fatalf("paper submissions %+v", got)
		}
		inPeriod, err := r.UnitPaperSubmissions(ctx, issuerA, base, base.Add(90*time.Second))
		must(t, err)
		if len(inPeriod) != 1 || !inPeriod[0].DespiteAvailable {
			t.Fatalf("in the period: %+v", inPeriod)
		}
		none, err := r.UnitPaperSubmissions(ctx, issuerB, base, base.Add(time.Hour))
		must(t, err)
		if len(none) != 0 {
			t.Fatalf("another unit: %+v", none)
		}
	})
	t.Run("ListNewestFirst", func(t *testing.T) {
		r := open(t)
		for i := range 9 {
			must(t, r.CreateCase(ctx, mk(string(rune('a'+i))+"x", string(rune('a'+i)), issuerA, base.Add(time.Duration(i)*time.Minute))))
		}
		must(t, r.CreateCase(ctx, mk("other", "z", issuerB, base)))
		must(t, r.CloseCase(ctx, "ax", base.Add(time.Hour), "s"))
		// Two cases that close by themselves: one by the time of the
		// listing, one after it. Cases without a deadline stay listed.
		now := base.Add(2 * time.Hour)
		for _, d := range []struct {
			id     string
			closes time.Time
		}{{"jx", now}, {"kx", now.Add(time.Millisecond)}} {
			c := mk(d.id, d.id, issuerA, base.Add(time.Duration(9+len(d.id))*time.Minute))
			c.ClosesAt = &d.closes
			must(t, r.CreateCase(ctx, c))
		}
		all, err := r.ListCases(ctx, issuerA, false, now, nil, 100)
		must(t, err)
		if len(all) != 11 || all[0].ID != "kx" || all[10].ID != "ax" {
			t.Fatalf("all: %d first %s", len(all), all[0].ID)
		}
		open, err := r.ListCases(ctx, issuerA, true, now, nil, 100)
		must(t, err)
		if len(open) != 9 || open[0].ID != "kx" || open[1].ID != "ix" {
			t.Fatalf("open: %d, first %s", len(open), open[0].ID)
		}
		page, err := r.ListCases(ctx, issuerA, false, now, &cases.Cursor{OpenedAt: all[3].OpenedAt, ID: all[3].ID}, 3)
		must(t, err)
		if len(page) != 3 || page[0].ID != all[4].ID {
			t.Fatalf("page after the 4th: %+v", page)
		}
	})
}
