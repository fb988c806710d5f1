package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"certd/internal/apperr"
	"certd/internal/certificate"
	"certd/internal/store/storetest"
)

const (
	issuerA = "11110000000021135M"
	typeA   = "11100000000013338W011"
	holderA = "321083197812162119"
)

var base = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// TestSerialsUnderLoad reserves import-sized blocks from many goroutines
// at once: the blocks tile 1..N without gap or overlap.
func TestSerialsUnderLoad(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	const workers, calls, n = 12, 10, 500
	var mu sync.Mutex
	var firsts []int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for range calls {
				first, err := s.NextSerials(ctx, issuerA, 2026, n)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				firsts = append(firsts, first)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d concurrent NextSerials(n=%d) in %v", workers*calls, n, time.Since(start))
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	if len(firsts) != workers*calls {
		t.Fatalf("%d blocks", len(firsts))
	}
	for i, f := range firsts {
		if want := int64(i*n + 1); f != want {
			t.Fatalf("block %d starts at %d, want %d", i, f, want)
		}
	}
	start = time.Now()
	for range 50 {
		if _, err := s.NextSerials(ctx, issuerA, 2026, n); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("50 sequential NextSerials(n=%d) in %v", n, time.Since(start))
	const total = (workers*calls + 50) * n
	// A lost hint only makes the walk longer.
	if _, err := connect(t).Database(s.Database()).Collection("counters").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	first, err := s.NextSerials(ctx, issuerA, 2026, 1)
	if err != nil || first != total+1 {
		t.Fatalf("after losing the hint: %d, %v", first, err)
	}
}

// certs returns n keyed licences of issuerA with serials from first.
func certs(first, n int, key string) []certificate.Certificate {
	out := make([]certificate.Certificate, n)
	for i := range out {
		out[i] = storetest.NewCert(issuerA, typeA, int64(first+i), holderA, base.Add(time.Duration(first+i)*time.Millisecond))
		out[i].IdempotencyKey = fmt.Sprintf("%s-%d", key, first+i)
	}
	return out
}

// TestInsertBatches stores import-sized batches, then the same rows again
// under new ids (a re-run import): every row of the re-run names the
// licence stored first, and nothing new is stored.
func TestInsertBatches(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	const batches, size = 4, 500
	start := time.Now()
	for b := range batches {
		res, err := s.Insert(ctx, certs(1+b*size, size, "row"))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Existing != nil {
				t.Fatalf("batch %d row %d: existing %s", b, i, r.Existing.ID)
			}
		}
	}
	t.Logf("inserted %d licences in batches of %d in %v", batches*size, size, time.Since(start))

	again := certs(1, size, "row")
	for i := range again {
		// Same key, new serial, as a re-run import would make.
		id, _ := certificate.ParseID(again[i].ID)
		id.Serial = certificate.FormatSerial(2026, int64(100000+i))
		again[i].ID, again[i].Serial, again[i].Lineage = id.String(), id.Serial, id.Lineage()
	}
	start = time.Now()
	res, err := s.Insert(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("re-ran a batch of %d in %v", size, time.Since(start))
	first := certs(1, size, "row")
	for i, r := range res {
		if r.Existing == nil || r.Existing.ID != first[i].ID {
			t.Fatalf("row %d: %+v", i, r.Existing)
		}
	}
	if n, err := s.Count(ctx, certificate.Filter{IssuerCode: issuerA}); err != nil || n != batches*size {
		t.Fatalf("count %d, %v", n, err)
	}
}

// TestConcurrentInsertsOfOneKey: of concurrent requests storing different
// licences under one key, one stores and the others get it as Existing.
func TestConcurrentInsertsOfOneKey(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := storetest.NewCert(issuerA, typeA, int64(i+1), holderA, base)
			c.IdempotencyKey = "same"
			res, err := s.Insert(ctx, []certificate.Certificate{c})
			if err != nil {
				t.Error(err)
				return
			}
			if res[0].Existing != nil {
				ids[i] = res[0].Existing.ID
			} else {
				ids[i] = c.ID
			}
		})
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("requests disagree on the licence: %v", ids)
		}
	}
	if n, err := s.Count(ctx, certificate.Filter{IssuerCode: issuerA}); err != nil || n != 1 {
		t.Fatalf("%d licences stored, %v", n, err)
	}
	got, err := s.ByIdempotencyKey(ctx, issuerA, "same")
	if err != nil || got.ID != ids[0] {
		t.Fatalf("by key: %s, %v", got.ID, err)
	}
}

// TestReservationLeftByCrash simulates a crash between reserving a key
// and inserting the licence.
func TestReservationLeftByCrash(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	keys := connect(t).Database(s.Database()).Collection("idempotency_keys")
	reserve := func(key, certID string, at time.Time) {
		t.Helper()
		_, err := keys.InsertOne(ctx, bson.D{{Key: "_id", Value: issuerA + "\x00" + key}, {Key: "issuerCode", Value: issuerA},
			{Key: "key", Value: key}, {Key: "certId", Value: certID}, {Key: "at", Value: at}})
		if err != nil {
			t.Fatal(err)
		}
	}
	insert := func(serial int64, key string) (certificate.Certificate, []certificate.InsertResult, error) {
		c := storetest.NewCert(issuerA, typeA, serial, holderA, base)
		c.IdempotencyKey = key
		res, err := s.Insert(ctx, []certificate.Certificate{c})
		return c, res, err
	}

	// The crashed request's licence never existed: the key is not found.
	lost := storetest.NewCert(issuerA, typeA, 1, holderA, base)
	reserve("stale", lost.ID, time.Now().Add(-2*time.Minute))
	if _, err := s.ByIdempotencyKey(ctx, issuerA, "stale"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("key of a licence never stored: %v", err)
	}
	// A retry with a new id takes the stale reservation over.
	c, res, err := insert(2, "stale")
	if err != nil || res[0].Existing != nil {
		t.Fatalf("insert over a stale reservation: %+v, %v", res, err)
	}
	if got, err := s.ByIdempotencyKey(ctx, issuerA, "stale"); err != nil || got.ID != c.ID {
		t.Fatalf("by key after takeover: %s, %v", got.ID, err)
	}

	// A retry of the very same licence fulfils a fresh reservation.
	same := storetest.NewCert(issuerA, typeA, 3, holderA, base)
	reserve("mine", same.ID, time.Now())
	if _, res, err := insert(3, "mine"); err != nil || res[0].Existing != nil {
		t.Fatalf("insert under its own reservation: %+v, %v", res, err)
	}
	// ... and a second retry finds it stored.
	if _, res, err := insert(3, "mine"); err != nil || res[0].Existing == nil || res[0].Existing.ID != same.ID {
		t.Fatalf("repeated insert: %+v, %v", res, err)
	}

	// A fresh reservation for another licence may still be fulfilled:
	// CONFLICT (try again), and nothing stored.
	reserve("busy", "1.2.156.3005.2.other", time.Now())
	start := time.Now()
	busy, _, err := insert(4, "busy")
	if !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("insert while another request holds the key: %v", err)
	}
	t.Logf("gave up on a held key after %v", time.Since(start))
	if _, err := s.Get(ctx, busy.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("stored despite the held key: %v", err)
	}
}

// TestConflictReleasesKey: a licence refused for its id does not keep its
// idempotency key.
func TestConflictReleasesKey(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	c := storetest.NewCert(issuerA, typeA, 1, holderA, base)
	if _, err := s.Insert(ctx, []certificate.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	dup := c
	dup.IdempotencyKey = "k"
	if _, err := s.Insert(ctx, []certificate.Certificate{dup}); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("same id with a key: %v", err)
	}
	if _, err := s.ByIdempotencyKey(ctx, issuerA, "k"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("key of a refused licence: %v", err)
	}
	other := storetest.NewCert(issuerA, typeA, 2, holderA, base)
	other.IdempotencyKey = "k"
	if res, err := s.Insert(ctx, []certificate.Certificate{other}); err != nil || res[0].Existing != nil {
		t.Fatalf("the key is free again: %+v, %v", res, err)
	}
}

// TestDataRoundTrip: nested objects, arrays and integers come back as
// encoding/json would give them.
func TestDataRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	c := storetest.NewCert(issuerA, typeA, 1, holderA, base)
	c.Data = map[string]any{"n": 3, "nested": map[string]any{"list": []any{1, "a", true, nil}}}
	c.Timeliness.Deadline = &base
	if _, err := s.Insert(ctx, []certificate.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"n": float64(3), "nested": map[string]any{"list": []any{float64(1), "a", true, nil}}}
	if fmt.Sprintf("%#v", got.Data) != fmt.Sprintf("%#v", want) {
		t.Fatalf("data %#v, want %#v", got.Data, want)
	}
	if got.Timeliness.Deadline == nil || !got.Timeliness.Deadline.Equal(base) {
		t.Fatalf("deadline %v", got.Timeliness.Deadline)
	}
}

// TestSupersedeRetryAfterCrash: a retried Supersede that finds the new
// version stored by a crashed attempt answers CONFLICT and finishes the
// crashed attempt's work.
func TestSupersedeRetryAfterCrash(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	c := storetest.NewCert(issuerA, typeA, 1, holderA, base)
	if _, err := s.Insert(ctx, []certificate.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	id, _ := certificate.ParseID(c.ID)
	id.Version = 2
	next := c
	next.ID, next.Version, next.Rev = id.String(), 2, 1
	// The crashed attempt stored the new version only.
	if _, err := s.Insert(ctx, []certificate.Certificate{next}); err != nil {
		t.Fatal(err)
	}
	if err := s.Supersede(ctx, c, 1, next); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("retried supersede: %v", err)
	}
	old, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Current || old.State != certificate.Superseded || old.Successor != next.ID || old.Rev != 2 {
		t.Fatalf("old version: %+v", old)
	}
	if n, err := s.Repair(ctx); err != nil || n != 0 {
		t.Fatalf("repair after the retry: %d, %v", n, err)
	}
}

// TestListCombinedTypeFilters checks TypeCode and TypeCodes together,
// and that an empty TypeCodes matches nothing.
func TestListCombinedTypeFilters(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	a := storetest.NewCert(issuerA, typeA, 1, holderA, base)
	b := storetest.NewCert(issuerA, "11100000000013338W032", 2, holderA, base)
	if _, err := s.Insert(ctx, []certificate.Certificate{a, b}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    certificate.Filter
		want int
	}{
		{certificate.Filter{IssuerCode: issuerA, TypeCode: typeA, TypeCodes: []string{typeA, b.TypeCode}}, 1},
		{certificate.Filter{IssuerCode: issuerA, TypeCode: typeA, TypeCodes: []string{b.TypeCode}}, 0},
		{certificate.Filter{IssuerCode: issuerA, TypeCodes: []string{}}, 0},
		{certificate.Filter{IssuerCode: issuerA, TypeCodes: []string{`{"$gt":""}`}}, 0},
	} {
		n, err := s.Count(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.List(ctx, c.f, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if n != c.want || len(l) != c.want {
			t.Errorf("%+v: count %d list %d, want %d", c.f, n, len(l), c.want)
		}
	}
}
