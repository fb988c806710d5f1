// Package objection handles objections to licence data (第十七条): a
// holder, or a using unit's staff inside an open case, objects to fields of
// a licence; the issuing unit verifies and either corrects the licence — a
// new version through the licence service's Change, in the same operation —
// or rejects the objection with a note. An objection left OPEN past its
// deadline (a number of working days after filing) is overdue.
package objection

import (
	"context"
	"time"
)

// State is where an objection is in its life: OPEN → CORRECTED | REJECTED,
// both final.
type State string

// Objection states.
const (
	Open      State = "OPEN"
	Corrected State = "CORRECTED"
	Rejected  State = "REJECTED"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case Open, Corrected, Rejected:
		return true
	}
	return false
}

// Who filed an objection (Objection.FiledRole).
const (
	RoleHolder = "holder"
	RoleStaff  = "staff"
)

// Objection is one objection to a licence version's data.
type Objection struct {
	ID            string
	CertificateID string // the licence version objected to
	IssuerCode    string // its issuing unit, which resolves the objection
	HolderCode    string
	CaseID        string // the case staff filed through; empty for holders
	FiledBy       string // the filer's subject
	FiledByOrg    string // the filer's unit (empty for most holders)
	FiledRole     string // RoleHolder or RoleStaff
	Fields        []string
	Description   string
	State         State
	Resolution    string // the issuer's note
	CorrectedID   string // the corrected licence version (CORRECTED)
	FiledAt       time.Time
	ResolvedAt    *time.Time
	ResolvedBy    string
	DueAt         time.Time // FiledAt + the service's working days
	// Rev grows by one with every stored change; updates are conditioned
	// on it.
	Rev int
}

// Overdue reports whether the objection is still OPEN after its deadline.
func (o *Objection) Overdue(now time.Time) bool {
	return o.State == Open && now.After(o.DueAt)
}

// ObjectionQuery selects objections; empty fields select everything.
// FiledFrom is inclusive, FiledTo exclusive.
type ObjectionQuery struct {
	IssuerCode string
	HolderCode string
	State      State
	FiledFrom  *time.Time
	FiledTo    *time.Time
}

// Repository stores objections.
type Repository interface {
	// CreateObjection stores a new objection (Rev 1); CONFLICT if its id
	// is taken.
	CreateObjection(ctx context.Context, o Objection) error
	// GetObjection reads one; NOT_FOUND if there is none.
	GetObjection(ctx context.Context, id string) (Objection, error)
	// UpdateObjection stores o's state, resolution, corrected id,
	// resolution time and resolver if it is still at prevRev (and makes
	// it prevRev+1); CONFLICT if it has changed meanwhile, NOT_FOUND if
	// there is none.
	UpdateObjection(ctx context.Context, o Objection, prevRev int) error
	// ListObjections lists matching objections, newest filed first.
	ListObjections(ctx context.Context, q ObjectionQuery) ([]Objection, error)
}
