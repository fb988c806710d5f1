package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/certificate"
)

// Codes used by the certificate suite.
const (
	issuerA = "11110000000021135M"
	issuerB = "11220000013544541J"
	typeA   = "11100000000013338W011"
	typeB   = "11100000000013338W032"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// NewCert returns a stored-shape version 1 certificate for tests.
func NewCert(issuer, typ string, serial int64, holder string, issuedAt time.Time) certificate.Certificate {
	id := certificate.ID{TypeCode: typ, IssuerCode: issuer, Serial: certificate.FormatSerial(2026, serial), Version: 1}
	until := day("2030-12-31")
	return certificate.Certificate{
		ID: id.String(), Lineage: id.Lineage(), TypeCode: typ, IssuerCode: issuer, Serial: id.Serial, Version: 1, TypeVersion: 1,
		Holder: certificate.Holder{Code: holder, Name: "持证人" + holder[len(holder)-4:], Kind: certificate.Person},
		State:  certificate.Valid, Current: true,
		Data:      map[string]any{"name": "测试", "capital": 120.5, "active": true},
		ValidFrom: day("2026-01-01"), ValidUntil: &until, IssuedAt: issuedAt.UTC().Truncate(time.Millisecond),
		Seal:       certificate.Seal{Algorithm: "SM2-SM3", Signature: "c2ln", KeyID: "0123456789abcdef", SealedAt: issuedAt.UTC().Truncate(time.Millisecond)},
		Document:   `{"id":"` + id.String() + `"}`,
		History:    []certificate.StateChange{{At: issuedAt.UTC().Truncate(time.Millisecond), Action: "ISSUE", By: "clerk"}},
		Timeliness: certificate.Timeliness{Mode: certificate.Online, CompletedAt: issuedAt.UTC().Truncate(time.Millisecond), BatchSize: 1},
		IssuedBy:   "clerk", Rev: 1,
	}
}

// RunCertificates runs the certificate repository conformance suite.
func RunCertificates(t *testing.T, open func(t *testing.T) certificate.Repository) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

	t.Run("InsertGetRoundTrip", func(t *testing.T) {
		r := open(t)
		c := NewCert(issuerA, typeA, 1, "321083197812162119", base)
		c.IdempotencyKey = "row-1"
		res, err := r.Insert(ctx, []certificate.Certificate{c})
		must(t, err)
		if len(res) != 1 || res[0].Existing != nil {
			t.Fatalf("insert results %+v", res)
		}
		got, err := r.Get(ctx, c.ID)
		must(t, err)
		if got.ID != c.ID || got.Lineage != c.Lineage || got.Holder != c.Holder || got.State != certificate.Valid || !got.Current ||
			got.Data["name"] != "测试" || got.Data["capital"] != 120.5 || got.Data["active"] != true ||
			!got.ValidFrom.Equal(c.ValidFrom) || got.ValidUntil == nil || !got.ValidUntil.Equal(*c.ValidUntil) ||
			!got.IssuedAt.Equal(c.IssuedAt) || got.Seal != c.Seal || got.Document != c.Document ||
			len(got.History) != 1 || got.History[0] != c.History[0] || got.Rev != 1 || got.IdempotencyKey != "row-1" ||
			got.Timeliness.Mode != certificate.Online || got.TypeVersion != 1 || got.IssuedBy != "clerk" {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
		}
		if _, err := r.Get(ctx, "1.2.156.3005.2.x"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if _, err := r.Get(ctx, `{"$gt":""}`); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("operator string: %v", err)
		}
	})

	t.Run("UnlimitedValidity", func(t *testing.T) {
		r := open(t)
		c := NewCert(issuerA, typeA, 2, "321083197812162119", base)
		c.ValidUntil = nil
		_, err := r.Insert(ctx, []certificate.Certificate{c})
		must(t, err)
		got, err := r.Get(ctx, c.ID)
		must(t, err)
		if got.ValidUntil != nil {
			t.Fatalf("validUntil %v", got.ValidUntil)
		}
	})

	t.Run("Summaries", func(t *testing.T) {
		r := open(t)
		c := NewCert(issuerA, typeA, 1, "321083197812162119", base)
		c.IdempotencyKey = "summary-1"
		c.Inspections = []certificate.Inspection{{At: base, Passed: true, By: "inspector"}}
		_, err := r.Insert(ctx, []certificate.Certificate{c})
		must(t, err)
		f := certificate.Filter{HolderCode: c.Holder.Code}
		whole, err := r.List(ctx, f, nil, 10)
		must(t, err)
		f.Summary = true
		sums, err := r.List(ctx, f, nil, 10)
		must(t, err)
		if len(whole) != 1 || len(sums) != 1 || whole[0].Summary || whole[0].Document != c.Document || len(whole[0].History) != 1 {
			t.Fatalf("whole listing %+v", whole)
		}
		s := sums[0]
		// What a summary shows is the whole version's; the rest is zero.
		if !s.Summary || s.ID != c.ID || s.Lineage != c.Lineage || s.TypeCode != c.TypeCode || s.IssuerCode != c.IssuerCode ||
			s.Serial != c.Serial || s.Version != 1 || s.TypeVersion != 1 || s.Holder != c.Holder || s.State != c.State ||
			s.Current != c.Current || s.Successor != c.Successor || s.Data["name"] != "测试" || s.Data["capital"] != 120.5 ||
			!s.ValidFrom.Equal(c.ValidFrom) || s.ValidUntil == nil || !s.ValidUntil.Equal(*c.ValidUntil) || !s.IssuedAt.Equal(c.IssuedAt) {
			t.Fatalf("summary:\n got %+v\nwant %+v", s, c)
		}
		if s.Document != "" || s.Seal != (certificate.Seal{}) || s.History != nil || s.Inspections != nil ||
			s.Timeliness.Mode != "" || s.IdempotencyKey != "" || s.IssuedBy != "" || s.Rev != 0 {
			t.Fatalf("the summary holds what it leaves out: %+v", s)
		}
		// A summary is never written back: what it left out would be lost.
		s.State = certificate.Suspended
		if err := r.Update(ctx, s, 1); !errors.Is(err, certificate.ErrSummary) {
			t.Fatalf("update of a summary: %v", err)
		}
		next := NewCert(issuerA, typeA, 1, c.Holder.Code, base.Add(time.Hour))
		id := certificate.ID{TypeCode: typeA, IssuerCode: issuerA, Serial: c.Serial, Version: 2}
		next.ID, next.Version = id.String(), 2
		if err := r.Supersede(ctx, s, 1, next); !errors.Is(err, certificate.ErrSummary) {
			t.Fatalf("supersession of a summary: %v", err)
		}
		if _, err := r.Insert(ctx, []certificate.Certificate{s}); !errors.Is(err, certificate.ErrSummary) {
			t.Fatalf("insert of a summary: %v", err)
		}
		got, err := r.Get(ctx, c.ID)
		must(t, err)
		if got.Summary || got.State != certificate.Valid || got.Rev != 1 || got.Document != c.Document || len(got.Inspections) != 1 {
			t.Fatalf("after the refused writes: %+v", got)
		}
	})

	t.Run("IdempotencyKeyPerIssuer", func(t *testing.T) {
		r := open(t)
		a := NewCert(issuerA, typeA, 1, "321083197812162119", base)
		a.IdempotencyKey = "k"
		_, err := r.Insert(ctx, []certificate.Certificate{a})
		must(t, err)
		again := NewCert(issuerA, typeA, 2, "321083197812162119", base)
		again.IdempotencyKey = "k"
		other := NewCert(issuerB, typeA, 1, "321083197812162119", base)
		other.IdempotencyKey = "k"
		fresh := NewCert(issuerA, typeA, 3, "321083197812162119", base)
		res, err := r.Insert(ctx, []certificate.Certificate{again, other, fresh})
		must(t, err)
		if res[0].Existing == nil || res[0].Existing.ID != a.ID || res[1].Existing != nil || res[2].Existing != nil {
			t.Fatalf("results %+v", res)
		}
		if _, err := r.Get(ctx, again.ID); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatal("a duplicate was stored")
		}
		got, err := r.ByIdempotencyKey(ctx, issuerA, "k")
		must(t, err)
		if got.ID != a.ID {
			t.Fatalf("by key: %s", got.ID)
		}
		if _, err := r.ByIdempotencyKey(ctx, issuerA, "none"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("unknown key: %v", err)
		}
		keys, err := r.StoredKeys(ctx, issuerA, []string{"k", "none", `{"$gt":""}`})
		must(t, err)
		if len(keys) != 1 || keys["k"] != a.ID {
			t.Fatalf("stored keys of A: %v", keys)
		}
		keys, err = r.StoredKeys(ctx, issuerB, []string{"k"})
		must(t, err)
		if len(keys) != 1 || keys["k"] != other.ID {
			t.Fatalf("stored keys of B: %v", keys)
		}
		many := make([]string, 1200)
		for i := range many {
			many[i] = fmt.Sprint("absent-", i)
		}
		many[1100] = "k"
		keys, err = r.StoredKeys(ctx, issuerA, many)
		must(t, err)
		if len(keys) != 1 {
			t.Fatalf("stored keys in a long list: %v", keys)
		}
	})

	t.Run("DuplicateIDIsConflict", func(t *testing.T) {
		r := open(t)
		c := NewCert(issuerA, typeA, 1, "321083197812162119", base)
		_, err := r.Insert(ctx, []certificate.Certificate{c})
		must(t, err)
		if _, err := r.Insert(ctx, []certificate.Certificate{c}); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("same id twice: %v", err)
		}
	})

	t.Run("SerialsAreNeverReused", func(t *testing.T) {
		r := open(t)
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				first, err := r.NextSerials(ctx, issuerA, 2026, 5)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for i := first; i < first+5; i++ {
					if seen[i] {
						t.Errorf("serial %d handed out twice", i)
					}
					seen[i] = true
				}
			}()
		}
		wg.Wait()
		if len(seen) != 40 {
			t.Fatalf("%d serials", len(seen))
		}
		first, err := r.NextSerials(ctx, issuerB, 2026, 1)
		must(t, err)
		if first != 1 {
			t.Fatalf("another issuer starts at %d", first)
		}
		next, err := r.NextSerials(ctx, issuerA, 2027, 1)
		must(t, err)
		if next != 1 {
			t.Fatalf("a new year starts at %d", next)
		}
	})

	t.Run("UpdateIsConditioned", func(t *testing.T) {
		r := open(t)
		c := NewCert(issuerA, typeA, 1, "321083197812162119", base)
		_, err := r.Insert(ctx, []certificate.Certificate{c})
		must(t, err)
		c.State = certificate.Suspended
		c.History = append(c.History, certificate.StateChange{At: base.Add(time.Hour), Action: "SUSPEND", By: "clerk", Reason: "检查"})
		c.Inspections = []certificate.Inspection{{At: base.Add(2 * time.Hour), Passed: true, Note: "合格", By: "inspector"}}
		must(t, r.Update(ctx, c, 1))
		got, err := r.Get(ctx, c.ID)
		must(t, err)
		if got.State != certificate.Suspended || got.Rev != 2 || len(got.History) != 2 || got.History[1].Reason != "检查" ||
			len(got.Inspections) != 1 || !got.Inspections[0].Passed || got.Inspections[0].Note != "合格" {
			t.Fatalf("after update %+v", got)
		}
		if err := r.Update(ctx, c, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}
		missing := NewCert(issuerA, typeA, 9, "321083197812162119", base)
		if err := r.Update(ctx, missing, 1); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("update of a missing one: %v", err)
		}
	})

	t.Run("ConcurrentSupersedeOneWins", func(t *testing.T) {
		r := open(t)
		c := NewCert(issuerA, typeA, 1, "321083197812162119", base)
		_, err := r.Insert(ctx, []certificate.Certificate{c})
		must(t, err)
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := successor(c, base.Add(time.Duration(i)*time.Minute))
				next.Data = map[string]any{"name": fmt.Sprintf("writer %d", i)}
				switch err := r.Supersede(ctx, c, 1, next); {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, apperr.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("supersede: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 5 {
			t.Fatalf("wins %d conflicts %d", wins.Load(), conflicts.Load())
		}
		old, err := r.Get(ctx, c.ID)
		must(t, err)
		vs, err := r.Versions(ctx, c.Lineage)
		must(t, err)
		if len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || !vs[1].Current || vs[1].State != certificate.Valid {
			t.Fatalf("versions %+v", vs)
		}
		if old.Current || old.State != certificate.Superseded || old.Successor != vs[1].ID || old.Rev != 2 {
			t.Fatalf("old version %+v", old)
		}
		// A stale change of the old version is refused.
		if err := r.Supersede(ctx, c, 1, successor(c, base)); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale supersede: %v", err)
		}
	})

	t.Run("ListFilterAndPages", func(t *testing.T) {
		r := open(t)
		var all []certificate.Certificate
		for i := range 25 {
			issuer, typ, holder := issuerA, typeA, "321083197812162119"
			if i%5 == 0 {
				issuer = issuerB
			}
			if i%2 == 0 {
				typ = typeB
			}
			if i%3 == 0 {
				holder = "33010219200403064X"
			}
			all = append(all, NewCert(issuer, typ, int64(i+1), holder, base.Add(time.Duration(i)*time.Second)))
		}
		all[3].State = certificate.Revoked
		_, err := r.Insert(ctx, all)
		must(t, err)
		f := certificate.Filter{IssuerCode: issuerA}
		n, err := r.Count(ctx, f)
		must(t, err)
		if n != 20 {
			t.Fatalf("count %d", n)
		}
		var got []certificate.Certificate
		var after *certificate.Cursor
		for {
			page, err := r.List(ctx, f, after, 7)
			must(t, err)
			got = append(got, page...)
			if len(page) < 7 {
				break
			}
			last := page[len(page)-1]
			after = &certificate.Cursor{IssuedAt: last.IssuedAt, ID: last.ID}
		}
		if len(got) != 20 {
			t.Fatalf("paged %d", len(got))
		}
		for i := 1; i < len(got); i++ {
			if !got[i].IssuedAt.Before(got[i-1].IssuedAt) {
				t.Fatalf("not newest first at %d", i)
			}
			if got[i].IssuerCode != issuerA {
				t.Fatalf("filter leaked %s", got[i].IssuerCode)
			}
		}
		for _, c := range []struct {
			f    certificate.Filter
			want int
		}{
			{certificate.Filter{IssuerCode: issuerA, TypeCode: typeA}, 10},
			{certificate.Filter{HolderCode: "33010219200403064X"}, 9},
			{certificate.Filter{IssuerCode: issuerA, State: certificate.Revoked}, 1},
			{certificate.Filter{IssuerCode: issuerA, TypeCode: typeA, State: certificate.Revoked}, 1},
			{certificate.Filter{HolderCode: "321083197812162119", TypeCodes: []string{typeA}}, 8},
			{certificate.Filter{IssuerCode: issuerA, TypeCodes: []string{typeA, typeB}, CurrentOnly: true}, 20},
			{certificate.Filter{IssuerCode: issuerB, TypeCodes: []string{typeA, typeB}, CurrentOnly: true}, 5},
			{certificate.Filter{HolderCode: `{"$ne":""}`}, 0},
		} {
			n, err := r.Count(ctx, c.f)
			must(t, err)
			page, err := r.List(ctx, c.f, nil, 100)
			must(t, err)
			if n != c.want || len(page) != c.want {
				t.Errorf("%+v: count %d list %d, want %d", c.f, n, len(page), c.want)
			}
		}
	})

	t.Run("PolicyConditions", func(t *testing.T) {
		r := open(t)
		var all []certificate.Certificate
		for i := range 12 {
			issuer, typ, holder := issuerA, typeA, "321083197812162119"
			if i%3 == 0 {
				issuer = issuerB
			}
			if i%2 == 0 {
				typ = typeB
			}
			if i%4 == 0 {
				holder = "33010219200403064X"
			}
			all = append(all, NewCert(issuer, typ, int64(i+1), holder, base.Add(time.Duration(i)*time.Second)))
		}
		all[5].State, all[7].Current = certificate.Suspended, false
		_, err := r.Insert(ctx, all)
		must(t, err)
		in := func(f string, vs ...any) certificate.Cond { return certificate.Cond{Op: "in", Field: f, Value: vs} }
		holderCases := certificate.And(certificate.Eq("holder", "321083197812162119"), in("type", typeA, typeB),
			certificate.Eq("state", "VALID"), certificate.Eq("current", true))
		// Every listing is of one issuer's or one holder's licences: the
		// count of a condition is the sum over both issuers.
		count := func(c certificate.Cond) int {
			t.Helper()
			sum := 0
			for _, issuer := range []string{issuerA, issuerB} {
				f := certificate.Filter{IssuerCode: issuer, Policy: &c}
				n, err := r.Count(ctx, f)
				must(t, err)
				page, err := r.List(ctx, f, nil, 100)
				must(t, err)
				if len(page) != n {
					t.Fatalf("%+v: list %d, count %d", c, len(page), n)
				}
				sum += n
			}
			return sum
		}
		for name, c := range map[string]struct {
			cond certificate.Cond
			want int
		}{
			"a staff filter":   {holderCases, 7},
			"or":               {certificate.Cond{Op: "or", Args: []certificate.Cond{certificate.Eq("issuer", issuerB), certificate.Eq("state", "SUSPENDED")}}, 5},
			"not":              {certificate.Cond{Op: "not", Args: []certificate.Cond{certificate.Eq("issuer", issuerB)}}, 8},
			"ne":               {certificate.Cond{Op: "ne", Field: "type", Value: typeA}, 6},
			"version compare":  {certificate.Cond{Op: "ge", Field: "version", Value: 1.0}, 12},
			"empty in":         {in("type"), 0},
			"empty or":         {certificate.Cond{Op: "or"}, 0},
			"empty and":        {certificate.And(), 12},
			"operator as data": {certificate.Eq("holder", `{"$ne":""}`), 0},
			"and with filter":  {certificate.And(certificate.Eq("id", all[1].ID)), 1},
		} {
			if got := count(c.cond); got != c.want {
				t.Errorf("%s: %d, want %d", name, got, c.want)
			}
		}
		// The policy condition is added to the filter's own fields.
		f := certificate.Filter{IssuerCode: issuerA, Policy: &holderCases}
		n, err := r.Count(ctx, f)
		must(t, err)
		if n != 4 {
			t.Errorf("filter and policy: %d", n)
		}
	})

	t.Run("DueForExpiry", func(t *testing.T) {
		r := open(t)
		past := NewCert(issuerA, typeA, 1, "321083197812162119", base)
		past.ValidUntil = ptrTime(day("2026-05-31"))
		lastDay := NewCert(issuerA, typeA, 2, "321083197812162119", base)
		lastDay.ValidUntil = ptrTime(day("2026-06-01"))
		revoked := NewCert(issuerA, typeA, 3, "321083197812162119", base)
		revoked.ValidUntil, revoked.State = ptrTime(day("2026-01-31")), certificate.Revoked
		forever := NewCert(issuerA, typeA, 4, "321083197812162119", base)
		forever.ValidUntil = nil
		suspended := NewCert(issuerA, typeA, 5, "321083197812162119", base)
		suspended.ValidUntil, suspended.State = ptrTime(day("2026-02-01")), certificate.Suspended
		_, err := r.Insert(ctx, []certificate.Certificate{past, lastDay, revoked, forever, suspended})
		must(t, err)
		due, err := r.DueForExpiry(ctx, day("2026-06-01"), 10)
		must(t, err)
		ids := map[string]bool{}
		for _, c := range due {
			ids[c.ID] = true
		}
		if len(due) != 2 || !ids[past.ID] || !ids[suspended.ID] {
			t.Fatalf("due %v", ids)
		}
		if due[0].ID != suspended.ID {
			t.Fatalf("due not earliest first: %s, %s", due[0].ID, due[1].ID)
		}
	})

	t.Run("DueSetShrinks", func(t *testing.T) {
		// A licence leaves the due set when it expires or is superseded,
		// so a sweep never reads a past expiry again.
		r := open(t)
		var cs []certificate.Certificate
		for i := range 5 {
			c := NewCert(issuerA, typeA, int64(i+1), "321083197812162119", base)
			c.ValidUntil = ptrTime(day("2026-05-01").AddDate(0, 0, i))
			cs = append(cs, c)
		}
		_, err := r.Insert(ctx, cs)
		must(t, err)
		today := day("2026-06-01")
		dueIDs := func() []string {
			t.Helper()
			due, err := r.DueForExpiry(ctx, today, 100)
			must(t, err)
			var ids []string
			for _, c := range due {
				ids = append(ids, c.ID)
			}
			return ids
		}
		if got := dueIDs(); len(got) != 5 || got[0] != cs[0].ID || got[4] != cs[4].ID {
			t.Fatalf("due before: %v", got)
		}
		first, err := r.DueForExpiry(ctx, today, 2)
		must(t, err)
		if len(first) != 2 || first[0].ID != cs[0].ID || first[1].ID != cs[1].ID {
			t.Fatalf("a limited read is not the earliest: %v", first)
		}
		expired := cs[0]
		expired.State = certificate.Expired
		must(t, r.Update(ctx, expired, 1))
		suspended := cs[1]
		suspended.State = certificate.Suspended
		must(t, r.Update(ctx, suspended, 1))
		must(t, r.Supersede(ctx, cs[2], 1, successor(cs[2], base)))
		got := dueIDs()
		want := []string{cs[1].ID, successor(cs[2], base).ID, cs[3].ID, cs[4].ID}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("due after expiring, suspending and superseding:\n got %v\nwant %v", got, want)
		}
		// Resumed, it is still due; revoked, it is not.
		suspended.State, suspended.Rev = certificate.Valid, 2
		must(t, r.Update(ctx, suspended, 2))
		suspended.State = certificate.Revoked
		must(t, r.Update(ctx, suspended, 3))
		if got := dueIDs(); len(got) != 3 || got[0] != want[1] {
			t.Fatalf("due after revoking: %v", got)
		}
	})

	t.Run("IssueStats", func(t *testing.T) {
		r := open(t)
		var cs []certificate.Certificate
		for i := range 6 {
			issuer := issuerA
			if i >= 4 {
				issuer = issuerB
			}
			c := NewCert(issuer, typeA, int64(i+1), "321083197812162119", base.Add(time.Duration(i)*time.Hour))
			c.Timeliness.Late = i%2 == 1
			cs = append(cs, c)
		}
		_, err := r.Insert(ctx, cs)
		must(t, err)
		st, err := r.IssueStats(ctx, base, base.Add(5*time.Hour))
		must(t, err)
		if st[issuerA] != (certificate.IssueStat{Issued: 4, Late: 2}) || st[issuerB] != (certificate.IssueStat{Issued: 1, Late: 0}) || len(st) != 2 {
			t.Fatalf("issue statistics %+v", st)
		}
		none, err := r.IssueStats(ctx, base.Add(-2*time.Hour), base)
		must(t, err)
		if len(none) != 0 {
			t.Fatalf("an empty period: %+v", none)
		}
	})

	t.Run("RepairIsHarmlessWhenNothingBroke", func(t *testing.T) {
		r := open(t)
		c := NewCert(issuerA, typeA, 1, "321083197812162119", base)
		_, err := r.Insert(ctx, []certificate.Certificate{c})
		must(t, err)
		must(t, r.Supersede(ctx, c, 1, successor(c, base)))
		n, err := r.Repair(ctx)
		must(t, err)
		if n != 0 {
			t.Fatalf("repaired %d records of a consistent store", n)
		}
	})
}

func ptrTime(t time.Time) *time.Time { return &t }

// successor builds version 2 of c.
func successor(c certificate.Certificate, at time.Time) certificate.Certificate {
	id, _ := certificate.ParseID(c.ID)
	id.Version = c.Version + 1
	n := c
	n.ID, n.Version, n.Rev, n.IdempotencyKey = id.String(), c.Version+1, 1, ""
	n.IssuedAt = at.UTC().Truncate(time.Millisecond)
	n.History = []certificate.StateChange{{At: n.IssuedAt, Action: "CHANGE", By: "clerk"}}
	return n
}
