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

// runApplications checks the application part of cases.Repository.
func runApplications(t *testing.T, open func(t *testing.T) cases.Repository) {
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	mk := func(id, holder string, at time.Time) cases.Application {
		return cases.Application{ID: id, Holder: certificate.Holder{Code: holder, Name: "示例个人甲", Kind: certificate.Person},
			MatterCode: "350100-SP-0001", UnitCode: issuerA, Note: "网上申请", SubmittedAt: at, SubmittedBy: "hall",
			ExpiresAt: at.Add(14 * 24 * time.Hour), State: cases.Pending}
	}
	t.Run("ApplicationRoundTrip", func(t *testing.T) {
		r := open(t)
		a := mk("a1", "350102198001010011", base)
		must(t, r.CreateApplication(ctx, a))
		got, err := r.GetApplication(ctx, "a1")
		must(t, err)
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("got %+v, want %+v", got, a)
		}
		if err := r.CreateApplication(ctx, a); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("the same id twice: %v", err)
		}
		for _, id := range []string{"nope", `{"$gt":""}`} {
			if _, err := r.GetApplication(ctx, id); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("get %q: %v", id, err)
			}
		}
	})
	t.Run("ApplicationUpdatedOnce", func(t *testing.T) {
		r := open(t)
		must(t, r.CreateApplication(ctx, mk("a1", "350102198001010011", base)))
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		at := base.Add(time.Hour)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := mk("a1", "350102198001010011", base)
				a.State, a.CaseID, a.UpdatedAt = cases.Opened, string(rune('a'+i))+"case", &at
				switch err := r.UpdateApplication(ctx, a, 0); {
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
		got, err := r.GetApplication(ctx, "a1")
		must(t, err)
		if got.State != cases.Opened || got.CaseID == "" || got.Rev != 1 || got.UpdatedAt == nil || !got.UpdatedAt.Equal(at) {
			t.Fatalf("after the update: %+v", got)
		}
		// A stale revision is refused; so is an unknown application.
		got.State = cases.Withdrawn
		if err := r.UpdateApplication(ctx, got, 0); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale revision: %v", err)
		}
		must(t, r.UpdateApplication(ctx, got, 1))
		if err := r.UpdateApplication(ctx, mk("nope", "x", base), 0); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}
	})
	t.Run("HolderApplicationsNewestFirst", func(t *testing.T) {
		r := open(t)
		for i := range 5 {
			must(t, r.CreateApplication(ctx, mk(string(rune('a'+i))+"1", "350102198001010011", base.Add(time.Duration(i)*time.Minute))))
		}
		must(t, r.CreateApplication(ctx, mk("same", "350102198001010011", base.Add(4*time.Minute))))
		must(t, r.CreateApplication(ctx, mk("other", "350102198503150022", base)))
		got, err := r.HolderApplications(ctx, "350102198001010011", 3)
		must(t, err)
		if len(got) != 3 || got[0].ID != "same" || got[1].ID != "e1" || got[2].ID != "d1" {
			t.Fatalf("newest first, at most 3: %+v", got)
		}
		none, err := r.HolderApplications(ctx, `{"$gt":""}`, 10)
		must(t, err)
		if len(none) != 0 {
			t.Fatalf("an operator string as holder: %+v", none)
		}
	})
}
