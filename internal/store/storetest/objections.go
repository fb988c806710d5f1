package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/objection"
)

// NewObjection returns an OPEN objection by a holder for tests.
func NewObjection(id, issuer, holder string, filedAt time.Time) objection.Objection {
	filedAt = filedAt.UTC().Truncate(time.Millisecond)
	return objection.Objection{ID: id, CertificateID: "cert-" + id, IssuerCode: issuer, HolderCode: holder,
		FiledBy: "h-" + holder, FiledRole: objection.RoleHolder, Fields: []string{"name", "holder.name"},
		Description: "the name is misspelt", State: objection.Open, FiledAt: filedAt,
		DueAt: filedAt.Add(7 * 24 * time.Hour), Rev: 1}
}

func sameObjection(a, b objection.Objection) bool {
	eqTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.ID == b.ID && a.CertificateID == b.CertificateID && a.IssuerCode == b.IssuerCode && a.HolderCode == b.HolderCode &&
		a.CaseID == b.CaseID && a.FiledBy == b.FiledBy && a.FiledByOrg == b.FiledByOrg && a.FiledRole == b.FiledRole &&
		slices.Equal(a.Fields, b.Fields) && a.Description == b.Description && a.State == b.State && a.Resolution == b.Resolution &&
		a.CorrectedID == b.CorrectedID && a.FiledAt.Equal(b.FiledAt) && eqTime(a.ResolvedAt, b.ResolvedAt) &&
		a.ResolvedBy == b.ResolvedBy && a.DueAt.Equal(b.DueAt) && a.Rev == b.Rev
}

func objectionIDs(os []objection.Objection) []string {
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	return ids
}

// RunObjections runs the objection repository conformance suite.
func RunObjections(t *testing.T, open func(t *testing.T) objection.Repository) {
	ctx := context.Background()
	base := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	const holderA, holderB = "321083197812162119", "33010219200403064X"

	t.Run("RoundTrip", func(t *testing.T) {
		r := open(t)
		a := NewObjection("o1", issuerA, holderA, base)
		must(t, r.CreateObjection(ctx, a))
		got, err := r.GetObjection(ctx, "o1")
		must(t, err)
		if !sameObjection(got, a) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
		}
		if err := r.CreateObjection(ctx, a); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("same id twice: %v", err)
		}
		if _, err := r.GetObjection(ctx, "nope"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if _, err := r.GetObjection(ctx, `{"$gt":""}`); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("operator string: %v", err)
		}
		b := NewObjection("o2", issuerB, holderB, base)
		b.CaseID, b.FiledBy, b.FiledByOrg, b.FiledRole = "c1", "s1", issuerA, objection.RoleStaff
		b.Fields, b.Description = []string{"address"}, `{"$where": "1"} 地址错误`
		must(t, r.CreateObjection(ctx, b))
		got, err = r.GetObjection(ctx, "o2")
		must(t, err)
		if !sameObjection(got, b) {
			t.Fatalf("staff objection:\n got %+v\nwant %+v", got, b)
		}
	})

	t.Run("UpdateWithRevision", func(t *testing.T) {
		r := open(t)
		a := NewObjection("o1", issuerA, holderA, base)
		must(t, r.CreateObjection(ctx, a))
		at := base.Add(time.Hour)
		a.State, a.Resolution, a.CorrectedID, a.ResolvedAt, a.ResolvedBy = objection.Corrected, "fixed", "cert-2", &at, "i1"
		must(t, r.UpdateObjection(ctx, a, 1))
		got, err := r.GetObjection(ctx, "o1")
		must(t, err)
		a.Rev = 2
		if !sameObjection(got, a) {
			t.Fatalf("after update:\n got %+v\nwant %+v", got, a)
		}
		stale := a
		stale.State, stale.Resolution = objection.Rejected, "no"
		if err := r.UpdateObjection(ctx, stale, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}
		if got, _ := r.GetObjection(ctx, "o1"); got.State != objection.Corrected || got.Rev != 2 {
			t.Fatalf("a stale update changed the objection: %+v", got)
		}
		missing := NewObjection("nope", issuerA, holderA, base)
		if err := r.UpdateObjection(ctx, missing, 1); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
	})

	t.Run("ConcurrentUpdatesFromOneRevision", func(t *testing.T) {
		r := open(t)
		a := NewObjection("o1", issuerA, holderA, base)
		must(t, r.CreateObjection(ctx, a))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				b := a
				b.State, b.Resolution, b.ResolvedBy = objection.Rejected, "no", "i1"
				errs[i] = r.UpdateObjection(ctx, b, 1)
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
		got, err := r.GetObjection(ctx, "o1")
		must(t, err)
		if won != 1 || got.State != objection.Rejected || got.Rev != 2 {
			t.Fatalf("%d winners, stored %+v", won, got)
		}
	})

	t.Run("ListFilters", func(t *testing.T) {
		r := open(t)
		// o1..o5 filed an hour apart; o3 is resolved.
		specs := []struct{ id, issuer, holder string }{
			{"o1", issuerA, holderA}, {"o2", issuerA, holderB}, {"o3", issuerA, holderA}, {"o4", issuerB, holderA}, {"o5", issuerB, holderB},
		}
		for i, sp := range specs {
			must(t, r.CreateObjection(ctx, NewObjection(sp.id, sp.issuer, sp.holder, base.Add(time.Duration(i)*time.Hour))))
		}
		o3, err := r.GetObjection(ctx, "o3")
		must(t, err)
		at := base.Add(10 * time.Hour)
		o3.State, o3.Resolution, o3.ResolvedAt, o3.ResolvedBy = objection.Rejected, "correct as is", &at, "i1"
		must(t, r.UpdateObjection(ctx, o3, 1))
		tp := func(d time.Duration) *time.Time { t := base.Add(d); return &t }
		for _, tc := range []struct {
			name string
			q    objection.ObjectionQuery
			want []string
		}{
			{"issuer", objection.ObjectionQuery{IssuerCode: issuerA}, []string{"o3", "o2", "o1"}},
			{"holder", objection.ObjectionQuery{HolderCode: holderA}, []string{"o4", "o3", "o1"}},
			{"issuer and state", objection.ObjectionQuery{IssuerCode: issuerA, State: objection.Open}, []string{"o2", "o1"}},
			{"holder and state", objection.ObjectionQuery{HolderCode: holderA, State: objection.Rejected}, []string{"o3"}},
			{"issuer and holder", objection.ObjectionQuery{IssuerCode: issuerB, HolderCode: holderB}, []string{"o5"}},
			{"filed from, inclusive", objection.ObjectionQuery{IssuerCode: issuerB, FiledFrom: tp(3 * time.Hour)}, []string{"o5", "o4"}},
			{"filed to, exclusive", objection.ObjectionQuery{HolderCode: holderA, FiledTo: tp(1 * time.Hour)}, []string{"o1"}},
			{"period and issuer", objection.ObjectionQuery{IssuerCode: issuerA, FiledFrom: tp(time.Hour), FiledTo: tp(3 * time.Hour)}, []string{"o3", "o2"}},
			{"operator strings are data", objection.ObjectionQuery{IssuerCode: `{"$gt":""}`}, []string{}},
			{"operator strings in holder", objection.ObjectionQuery{HolderCode: `{"$ne":null}`, State: `{"$ne":""}`}, []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := r.ListObjections(ctx, tc.q)
				must(t, err)
				if ids := objectionIDs(got); !slices.Equal(ids, tc.want) {
					t.Fatalf("got %v, want %v", ids, tc.want)
				}
			})
		}
		got, err := r.ListObjections(ctx, objection.ObjectionQuery{IssuerCode: issuerA, State: objection.Rejected})
		must(t, err)
		o3.Rev = 2
		if len(got) != 1 || !sameObjection(got[0], o3) {
			t.Fatalf("listed objection:\n got %+v\nwant %+v", got, o3)
		}
	})
}
