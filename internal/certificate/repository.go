package certificate

import (
	"context"
	"time"
)

// Filter selects licence versions. Empty fields match everything.
type Filter struct {
	IssuerCode  string
	TypeCode    string
	HolderCode  string
	State       State
	TypeCodes   []string // any of these types
	CurrentOnly bool
	// Policy is the data filter the policy allows; nil adds nothing.
	Policy *Cond
	// Summary lets the store leave out what a summary of a licence does
	// not show (see Certificate.Summary): a listing whose reader asks
	// for none of it reads less.
	Summary bool
}

// Cursor is a position in a listing ordered by IssuedAt, then ID, both
// descending (newest first).
type Cursor struct {
	IssuedAt time.Time
	ID       string
}

// IssueStat counts the licence versions an issuer generated in a period.
type IssueStat struct{ Issued, Late int }

// InsertResult tells, for one certificate of a batch, whether it was
// stored or an earlier one with the same idempotency key was found.
type InsertResult struct {
	// Existing is the earlier certificate with the same issuer and
	// idempotency key; nil when the new one was stored.
	Existing *Certificate
}

// Repository stores licence versions. Every write is durable when it
// returns. Conditional writes fail with CONFLICT when the record's Rev is
// no longer the one the caller read; reads of unknown ids fail with
// NOT_FOUND.
type Repository interface {
	// NextSerials reserves n consecutive serial numbers of an issuer for a
	// year and returns the first; serials are never handed out twice.
	NextSerials(ctx context.Context, issuer string, year int, n int) (int64, error)
	// Insert stores new licences (version 1). A certificate whose
	// (IssuerCode, IdempotencyKey) is taken is not stored; its result
	// names the stored one instead. Results are in input order.
	Insert(ctx context.Context, cs []Certificate) ([]InsertResult, error)
	Get(ctx context.Context, id string) (Certificate, error)
	// ByIdempotencyKey finds the licence an issuer stored with key.
	ByIdempotencyKey(ctx context.Context, issuer, key string) (Certificate, error)
	// StoredKeys tells which of an issuer's idempotency keys name a stored
	// licence, mapping each such key to the licence's id.
	StoredKeys(ctx context.Context, issuer string, keys []string) (map[string]string, error)
	// Versions lists every version of a licence, oldest first.
	Versions(ctx context.Context, lineage string) ([]Certificate, error)
	// List returns up to limit versions matching f after the cursor (nil
	// for the first page), newest first.
	List(ctx context.Context, f Filter, after *Cursor, limit int) ([]Certificate, error)
	Count(ctx context.Context, f Filter) (int, error)
	// Update stores c's state, current flag, successor, history and
	// inspections, and sets Rev to prevRev+1, if the stored Rev is still
	// prevRev.
	Update(ctx context.Context, c Certificate, prevRev int) error
	// Supersede stores next, the new version of old's licence, and marks
	// old as no longer current (state SUPERSEDED unless final already),
	// if old's Rev is still prevRev; of concurrent supersessions of one
	// version exactly one succeeds and the others get CONFLICT.
	Supersede(ctx context.Context, old Certificate, prevRev int, next Certificate) error
	// DueForExpiry lists up to limit current versions whose ValidUntil is
	// before today and whose state is not final.
	DueForExpiry(ctx context.Context, today time.Time, limit int) ([]Certificate, error)
	// IssueStats counts, per issuing unit, the licence versions generated
	// in [from, to) and how many of them were late (第七条).
	IssueStats(ctx context.Context, from, to time.Time) (map[string]IssueStat, error)
	// Repair finishes writes a crash interrupted (for stores without
	// transactions) and returns how many records it fixed. It visits only
	// the writes left pending (the MongoDB store's supersession intents),
	// never every licence; it runs under the sweep's lease, once per
	// cluster.
	Repair(ctx context.Context) (int, error)
}
