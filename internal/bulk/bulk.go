// Package bulk is the approval workflow for analysing licences in bulk
// (第十三条): an analyst submits a request stating a purpose, the
// dimensions to count by and a filter; the digital office approves or
// rejects it (never the requester themself); the requester then runs it
// a limited number of times before it expires. A run returns aggregated
// counts only — no personal data, no licence ids — and suppresses every
// group smaller than k (the policy's data.certd.authz.bulk_k).
//
// Only current licence versions count (one per licence), so a licence
// that was amended or renewed is counted once, in its newest state.
package bulk

import (
	"context"
	"time"
)

// State is where a request is in its life.
type State string

// Request states. PENDING → APPROVED | REJECTED; APPROVED → EXPIRED (its
// validity passed, noticed at read time and stored) | EXHAUSTED (no runs
// left). REJECTED, EXPIRED and EXHAUSTED are final.
const (
	Pending   State = "PENDING"
	Approved  State = "APPROVED"
	Rejected  State = "REJECTED"
	Expired   State = "EXPIRED"
	Exhausted State = "EXHAUSTED"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case Pending, Approved, Rejected, Expired, Exhausted:
		return true
	}
	return false
}

// Dimension is what results are grouped by.
type Dimension string

// Dimensions. ISSUE_MONTH is "YYYY-MM" of the issue time in city time
// (Asia/Shanghai, UTC+8, no daylight saving time).
const (
	Type       Dimension = "TYPE"
	Issuer     Dimension = "ISSUER"
	StateDim   Dimension = "STATE"
	IssueMonth Dimension = "ISSUE_MONTH"
	HolderKind Dimension = "HOLDER_KIND"
)

// Dimensions lists every dimension.
var Dimensions = []Dimension{Type, Issuer, StateDim, IssueMonth, HolderKind}

// Valid reports whether d is a known dimension.
func (d Dimension) Valid() bool {
	switch d {
	case Type, Issuer, StateDim, IssueMonth, HolderKind:
		return true
	}
	return false
}

// CityOffset is the city's offset from UTC (Asia/Shanghai has no DST).
const CityOffset = 8 * time.Hour

// City is the city's time zone, for issue months and filter dates.
var City = time.FixedZone("CST", int(CityOffset/time.Second))

// Filter selects the licences a request counts. Empty lists select
// everything. IssuedFrom and IssuedTo are calendar dates (their year,
// month and day in UTC are taken, as a GraphQL Date parses) and are both
// inclusive, in city time.
type Filter struct {
	Types      []string
	Issuers    []string
	States     []string
	IssuedFrom *time.Time
	IssuedTo   *time.Time
}

// Bounds returns the filter's issue-time range as instants: from is
// inclusive, to exclusive (midnight after IssuedTo, city time); nil when
// unbounded.
func (f Filter) Bounds() (from, to *time.Time) {
	if f.IssuedFrom != nil {
		t := cityMidnight(*f.IssuedFrom)
		from = &t
	}
	if f.IssuedTo != nil {
		t := cityMidnight(*f.IssuedTo).AddDate(0, 0, 1)
		to = &t
	}
	return from, to
}

func cityMidnight(d time.Time) time.Time {
	d = d.UTC()
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, City).UTC()
}

// Month is the ISSUE_MONTH key of an issue time.
func Month(issuedAt time.Time) string { return issuedAt.In(City).Format("2006-01") }

// Request is one application for a bulk analysis.
type Request struct {
	ID           string
	State        State
	Purpose      string
	GroupBy      []Dimension
	Filter       Filter
	RequestedBy  string // the analyst's subject
	RequesterOrg string // the using unit
	DecidedBy    string
	Comment      string     // the approver's comment or the rejection reason
	ValidUntil   *time.Time // set on approval: decision time + ValidDays
	RunsLeft     int
	MaxRuns      int
	ValidDays    int
	CreatedAt    time.Time
	DecidedAt    *time.Time
	// Rev grows by one with every stored change; updates are conditioned
	// on it.
	Rev int
}

// Row is one group of a result: its key (dimension name → value, a
// string) and how many licences it counts.
type Row struct {
	Key   map[string]any
	Count int
}

// Result is what a run returns: groups of at least K licences, and how
// many smaller groups were left out. Their counts are not reported
// anywhere, not even as a total.
type Result struct {
	RequestID        string
	Rows             []Row
	SuppressedGroups int
	K                int
}

// MaxList is how many requests a listing holds at most: the newest. Every
// request needs the digital office's decision, so a few a week arrive;
// the list stops growing with the years rather than with the requests.
const MaxList = 1000

// Repository stores requests and counts licences.
type Repository interface {
	// CreateBulkRequest stores a new request (Rev 1); CONFLICT if its id
	// is taken.
	CreateBulkRequest(ctx context.Context, r Request) error
	// GetBulkRequest returns a request, NOT_FOUND if there is none.
	GetBulkRequest(ctx context.Context, id string) (Request, error)
	// ListBulkRequests lists the requests in state (all when state is
	// ""), newest first: the newest MaxList of them.
	ListBulkRequests(ctx context.Context, state State) ([]Request, error)
	// UpdateBulkRequest stores r's State, DecidedBy, Comment, ValidUntil,
	// RunsLeft and DecidedAt and sets Rev to prevRev+1, if the stored Rev
	// is still prevRev: of concurrent updates from one revision exactly
	// one succeeds, the others get CONFLICT. NOT_FOUND if there is no
	// such request.
	UpdateBulkRequest(ctx context.Context, r Request, prevRev int) error
	// Aggregate counts the current licence versions matching f, grouped
	// by groupBy; each row's Key has one entry per dimension. Rows come
	// in no particular order and are not suppressed.
	Aggregate(ctx context.Context, groupBy []Dimension, f Filter) ([]Row, error)
}
