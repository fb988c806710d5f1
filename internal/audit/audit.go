// Package audit is the tamper-evident access log of 第十八条: one record
// per licence per request listing the fields read (never their values),
// every denied attempt, and every write, kept for at least ten years.
// Records are durably stored before the data they describe leaves the
// server (fail closed), in group commits, hash-chained per writer with
// signed checkpoints so that an edited, deleted or inserted record is
// found by Verify.
package audit

import (
	"context"
	"time"
)

// Kinds of records.
const (
	KindAccess = "access" // licence data read, or a read denied
	KindWrite  = "write"  // a change: issuance, state move, catalogue, policy
)

// Decisions.
const (
	Allow = "ALLOW"
	Deny  = "DENY"
	// NotDelivered: the policy allowed the read, but an error kept the
	// data from the client (gqlgen nulled it, or the response failed).
	NotDelivered = "NOT_DELIVERED"
)

// Bases of a read: why the reader may see the licence.
const (
	BasisCase    = "case"     // through an open case of the reader's unit
	BasisUseCode = "use_code" // shown by the holder with a use code
	BasisHolder  = "holder"   // the holder's own licence
	BasisIssuer  = "issuer"   // a licence of the reader's own issuing unit
	BasisPolicy  = "policy"   // another rule of the active policy
)

// Record is one audit record. The writer fills Chain, Seq, PrevHash and
// Hash; everything else is the caller's.
type Record struct {
	Chain    string // the writer's chain
	Seq      int64  // 1, 2, ... within the chain
	PrevHash string // hex SHA-256 of the previous record of the chain
	Hash     string // hex SHA-256 over PrevHash and the canonical record

	At            time.Time // millisecond precision, UTC
	Kind          string
	Subject       string
	Org           string
	Roles         []string
	Operation     string // the GraphQL operation, e.g. "query case"
	Action        string // what was done, e.g. "certificate.read", "certificate.issue"
	CaseID        string
	MatterCode    string
	HolderCode    string
	CertificateID string
	IssuerCode    string // the licence's issuer, so issuers can read access to their licences
	Fields        []string
	Decision      string
	Reason        string
	PolicyVersion int
	RequestID     string
	Client        string // the client's address
	// Basis names why a read was allowed (BasisCase, …); "" for records
	// that are not reads.
	Basis string
	// Count is how many refusals a summary record stands for (see
	// Refusals); 0 for every other record.
	Count int
	// V is the canonical form the record's Hash covers (chain.go): 0
	// until the writer seals it, then CanonicalVersion; 1 for records
	// written before version 2.
	V int
}

// ID is the record's stable identifier, "<chain>.<seq>".
func (r *Record) ID() string { return r.Chain + "." + itoa(r.Seq) }

// Checkpoint is a writer's signed statement of its chain's head: every
// record up to Seq, ending in Hash. Verify trusts only checkpoints signed
// by the audit key.
type Checkpoint struct {
	Chain     string
	Seq       int64
	Hash      string
	At        time.Time
	KeyID     string
	Signature string // base64 Ed25519 over the checkpoint's canonical bytes
	Final     bool   // written when the writer shut down cleanly
}

// Cursor is a position in a listing, newest first.
type Cursor struct {
	At    time.Time
	Chain string
	Seq   int64
}

// Query selects records for reading. Empty fields match everything;
// Scope* fields are the reader's scope from the policy and always apply.
type Query struct {
	CertificateID string
	HolderCode    string
	Org           string
	From, To      time.Time // zero: unbounded; To is exclusive

	ScopeIssuer    string // only records about licences of this issuer
	ScopeHolder    string // only records about this holder's licences
	KindAccessOnly bool
	// AlsoActions widens KindAccessOnly: records of these actions are
	// selected whatever their kind (a holder sees the cases opened about
	// them, which are writes).
	AlsoActions []string

	After *Cursor
	Limit int
}

// Repository stores the log. AppendAudit stores records and checkpoints
// in one durable write (committed in SQLite; write concern majority on
// MongoDB) and never overwrites: a (chain, seq) that exists is an error.
// Nothing is ever updated or deleted through it.
type Repository interface {
	AppendAudit(ctx context.Context, recs []Record, cps []Checkpoint) error
	// QueryAudit lists records newest first (At, then Chain, then Seq
	// descending) after the cursor.
	QueryAudit(ctx context.Context, q Query) ([]Record, error)
	// AuditChains lists every chain id.
	AuditChains(ctx context.Context) ([]string, error)
	// AuditChain lists a chain's records with Seq > after, ascending, at
	// most limit.
	AuditChain(ctx context.Context, chain string, after int64, limit int) ([]Record, error)
	// AuditCheckpoints lists a chain's checkpoints with Seq > after,
	// ascending by Seq (0 for all of them).
	AuditCheckpoints(ctx context.Context, chain string, after int64) ([]Checkpoint, error)
	// AuditHead returns the highest seq of a chain's records (0 if none).
	AuditHead(ctx context.Context, chain string) (int64, error)
	// AccessStats counts, per unit (Org) of the reader, the access
	// records allowed and denied in [from, to).
	AccessStats(ctx context.Context, from, to time.Time) (map[string]AccessStat, error)
}

// AccessStat counts a unit's reads of licence data in a period.
type AccessStat struct{ Allowed, Denied int }

// Add counts n records of decision, each standing for count refusals
// when it is a summary (count > 1). Reads not delivered are neither.
func (st *AccessStat) Add(decision string, n, count int) {
	switch decision {
	case Allow:
		st.Allowed += n
	case Deny:
		st.Denied += n * max(count, 1)
	}
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
