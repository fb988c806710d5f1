// Package lease runs background work once per cluster. Every instance of
// certd that shares a store runs the same background jobs (the licence
// sweep, repairs); a lease makes one instance at a time do each job. A
// lease is a record in the store with an owner, an expiry and a fencing
// token: the owner renews it well before it expires, and when the owner
// stops renewing it (it stopped, crashed or lost the store), another
// instance acquires it once it has lapsed, with the token grown by one.
//
// The token fences a stale holder: one that paused past the expiry, was
// replaced, and wakes up still believing it holds the lease. A write made
// under a lease that such a holder could spoil carries the token, and the
// store refuses it when the lease has moved on (NoteLease here; licence
// writes are conditioned on the licence's own revision, which refuses a
// stale write the same way).
package lease

import (
	"context"
	"errors"
	"time"
)

// Lease is one named lease as stored.
type Lease struct {
	Name  string
	Owner string // "" when free (released)
	// Token grows by one with every acquisition: a takeover, or a new
	// acquisition after a release. Renewals keep it.
	Token   int64
	Expires time.Time // millisecond precision, UTC
	// Note is what the holder last recorded about its work (NoteLease),
	// NotedAt when; for operators.
	Note    string
	NotedAt time.Time
}

// Held reports whether the lease is held by someone at now.
func (l Lease) Held(now time.Time) bool { return l.Owner != "" && now.Before(l.Expires) }

// ErrLost is returned by RenewLease and NoteLease to a holder whose lease
// was acquired by another owner meanwhile (or released).
var ErrLost = errors.New("lease lost: another instance holds it")

// Repository stores leases. Times come from the caller, so that every
// implementation compares them the same way; instances sharing a store
// need clocks kept in step (NTP) to well within the lease's time to live.
type Repository interface {
	// AcquireLease gives owner the lease until now+ttl when it is free,
	// released or lapsed (Expires not after now): Token grows by one. If
	// owner holds it already it is renewed (the same Token). ok is false
	// when another owner holds it; the lease returned is then theirs.
	AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (l Lease, ok bool, err error)
	// RenewLease extends l until now+ttl if l.Owner still holds it with
	// l.Token, even past its expiry as long as nobody acquired it;
	// otherwise ErrLost.
	RenewLease(ctx context.Context, l Lease, now time.Time, ttl time.Duration) (Lease, error)
	// ReleaseLease frees l so that another owner may acquire it at once;
	// releasing a lease no longer held is not an error.
	ReleaseLease(ctx context.Context, l Lease) error
	// NoteLease is a fenced write: it records note (at at) on the lease
	// only if l.Owner still holds it with l.Token, else ErrLost.
	NoteLease(ctx context.Context, l Lease, note string, at time.Time) error
	// GetLease reads a lease; a lease never acquired is the zero Lease
	// with its Name.
	GetLease(ctx context.Context, name string) (Lease, error)
}
