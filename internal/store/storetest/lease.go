package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"certd/internal/lease"
)

// RunLeases runs the lease repository conformance suite.
func RunLeases(t *testing.T, open func(t *testing.T) lease.Repository) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	const ttl = 30 * time.Second

	t.Run("AcquireRenewLapseTakeover", func(t *testing.T) {
		r := open(t)
		none, err := r.GetLease(ctx, "sweep")
		must(t, err)
		if none.Name != "sweep" || none.Owner != "" || none.Token != 0 {
			t.Fatalf("a lease never acquired: %+v", none)
		}
		a, ok, err := r.AcquireLease(ctx, "sweep", "A", t0, ttl)
		must(t, err)
		if !ok || a.Owner != "A" || a.Token != 1 || !a.Expires.Equal(t0.Add(ttl)) || a.Name != "sweep" {
			t.Fatalf("first acquisition: %+v %v", a, ok)
		}
		// Held: B cannot have it, and learns who holds it.
		b, ok, err := r.AcquireLease(ctx, "sweep", "B", t0.Add(ttl-time.Millisecond), ttl)
		must(t, err)
		if ok || b.Owner != "A" || b.Token != 1 {
			t.Fatalf("B acquired a held lease: %+v %v", b, ok)
		}
		// Another lease is independent.
		if o, ok, err := r.AcquireLease(ctx, "other", "B", t0, ttl); err != nil || !ok || o.Token != 1 {
			t.Fatalf("another lease: %+v %v %v", o, ok, err)
		}
		// A renews: same token, later expiry; B still cannot have it.
		a, err = r.RenewLease(ctx, a, t0.Add(20*time.Second), ttl)
		must(t, err)
		if a.Token != 1 || !a.Expires.Equal(t0.Add(50*time.Second)) || a.Owner != "A" {
			t.Fatalf("renewed: %+v", a)
		}
		if _, ok, err := r.AcquireLease(ctx, "sweep", "B", t0.Add(40*time.Second), ttl); err != nil || ok {
			t.Fatalf("B acquired a renewed lease: %v %v", ok, err)
		}
		// Acquiring again as the holder renews, keeping the token.
		again, ok, err := r.AcquireLease(ctx, "sweep", "A", t0.Add(45*time.Second), ttl)
		must(t, err)
		if !ok || again.Token != 1 || !again.Expires.Equal(t0.Add(75*time.Second)) {
			t.Fatalf("the holder acquiring again: %+v %v", again, ok)
		}
		a = again
		// A stops renewing: once lapsed, B takes over with a new token.
		b, ok, err = r.AcquireLease(ctx, "sweep", "B", t0.Add(75*time.Second), ttl)
		must(t, err)
		if !ok || b.Owner != "B" || b.Token != 2 || !b.Expires.Equal(t0.Add(105*time.Second)) {
			t.Fatalf("takeover: %+v %v", b, ok)
		}
		got, err := r.GetLease(ctx, "sweep")
		must(t, err)
		if got.Owner != "B" || got.Token != 2 {
			t.Fatalf("stored after takeover: %+v", got)
		}
		// A wakes up: it can neither renew nor write under its old token.
		if _, err := r.RenewLease(ctx, a, t0.Add(76*time.Second), ttl); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("stale renewal: %v", err)
		}
		if err := r.NoteLease(ctx, a, "stale", t0.Add(76*time.Second)); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("stale holder's fenced write: %v", err)
		}
		// ... nor does a stale release free B's lease.
		must(t, r.ReleaseLease(ctx, a))
		got, err = r.GetLease(ctx, "sweep")
		must(t, err)
		if got.Owner != "B" || got.Token != 2 || got.Note == "stale" {
			t.Fatalf("after the stale holder's writes: %+v", got)
		}
		// B's fenced write goes through.
		must(t, r.NoteLease(ctx, b, "expired 3", t0.Add(80*time.Second)))
		got, err = r.GetLease(ctx, "sweep")
		must(t, err)
		if got.Note != "expired 3" || !got.NotedAt.Equal(t0.Add(80*time.Second)) || got.Token != 2 || !got.Expires.Equal(b.Expires) {
			t.Fatalf("noted: %+v", got)
		}
	})

	t.Run("RenewAfterLapseWhileNobodyTookIt", func(t *testing.T) {
		r := open(t)
		a, _, err := r.AcquireLease(ctx, "sweep", "A", t0, ttl)
		must(t, err)
		a, err = r.RenewLease(ctx, a, t0.Add(time.Hour), ttl)
		must(t, err)
		if a.Token != 1 || !a.Expires.Equal(t0.Add(time.Hour+ttl)) {
			t.Fatalf("late renewal: %+v", a)
		}
	})

	t.Run("ReleaseLetsAnotherAcquireAtOnce", func(t *testing.T) {
		r := open(t)
		a, _, err := r.AcquireLease(ctx, "sweep", "A", t0, ttl)
		must(t, err)
		must(t, r.NoteLease(ctx, a, "expired 1", t0))
		must(t, r.ReleaseLease(ctx, a))
		got, err := r.GetLease(ctx, "sweep")
		must(t, err)
		if got.Owner != "" || got.Held(t0) || got.Note != "expired 1" {
			t.Fatalf("released: %+v", got)
		}
		if _, err := r.RenewLease(ctx, a, t0, ttl); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("renewing a released lease: %v", err)
		}
		b, ok, err := r.AcquireLease(ctx, "sweep", "B", t0.Add(time.Second), ttl)
		must(t, err)
		if !ok || b.Token != 2 || b.Owner != "B" {
			t.Fatalf("acquired after release: %+v %v", b, ok)
		}
		// A released lease acquired again by its old owner is a new
		// acquisition too.
		must(t, r.ReleaseLease(ctx, b))
		a2, ok, err := r.AcquireLease(ctx, "sweep", "A", t0.Add(2*time.Second), ttl)
		must(t, err)
		if !ok || a2.Token != 3 {
			t.Fatalf("acquired again after release: %+v %v", a2, ok)
		}
	})

	t.Run("ConcurrentAcquireOneWins", func(t *testing.T) {
		r := open(t)
		var mu sync.Mutex
		winners := map[string]int64{}
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				owner := fmt.Sprint("owner-", i)
				l, ok, err := r.AcquireLease(ctx, "sweep", owner, t0, ttl)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					winners[owner] = l.Token
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("winners %v", winners)
		}
		got, err := r.GetLease(ctx, "sweep")
		must(t, err)
		if winners[got.Owner] != got.Token || got.Token != 1 {
			t.Fatalf("stored %+v, winners %v", got, winners)
		}
		// Concurrent takeovers of the lapsed lease: again one wins, with
		// the next token.
		winners = map[string]int64{}
		later := t0.Add(2 * ttl)
		for i := range 6 {
			wg.Go(func() {
				owner := fmt.Sprint("late-", i)
				l, ok, err := r.AcquireLease(ctx, "sweep", owner, later, ttl)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					winners[owner] = l.Token
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("takeover winners %v", winners)
		}
		for _, tok := range winners {
			if tok != 2 {
				t.Fatalf("takeover token %d", tok)
			}
		}
	})

	t.Run("RenewRacingTakeover", func(t *testing.T) {
		// The holder renews just as another instance takes the lapsed
		// lease over: exactly one of them holds it afterwards.
		r := open(t)
		for round := range 5 {
			name := fmt.Sprint("race-", round)
			a, _, err := r.AcquireLease(ctx, name, "A", t0, ttl)
			must(t, err)
			var renewErr, takeErr error
			var took bool
			var wg sync.WaitGroup
			wg.Go(func() { _, renewErr = r.RenewLease(ctx, a, t0.Add(ttl), ttl) })
			wg.Go(func() { _, took, takeErr = r.AcquireLease(ctx, name, "B", t0.Add(ttl), ttl) })
			wg.Wait()
			if takeErr != nil || (renewErr != nil && !errors.Is(renewErr, lease.ErrLost)) {
				t.Fatalf("round %d: renew %v, takeover %v", round, renewErr, takeErr)
			}
			got, err := r.GetLease(ctx, name)
			must(t, err)
			switch {
			case took && renewErr == nil:
				// Renewed first, then taken over? Then the renewal must
				// have been before the takeover read it: the holder is B
				// and A's next write is refused.
				if got.Owner != "B" {
					t.Fatalf("round %d: both succeeded, stored %+v", round, got)
				}
				if err := r.NoteLease(ctx, a, "x", t0.Add(ttl)); !errors.Is(err, lease.ErrLost) {
					t.Fatalf("round %d: A still writes after B took over: %v", round, err)
				}
			case took:
				if got.Owner != "B" || got.Token != 2 {
					t.Fatalf("round %d: taken over, stored %+v", round, got)
				}
			case renewErr == nil:
				if got.Owner != "A" || got.Token != 1 {
					t.Fatalf("round %d: renewed, stored %+v", round, got)
				}
			default:
				t.Fatalf("round %d: neither holds the lease: %+v", round, got)
			}
		}
	})
}
