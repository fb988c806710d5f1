// Package cases is the case (办件) of 第十二条: one application of one
// holder for one matter, handled by one using unit. Staff read licences
// only through an open case of their own unit, only of that case's holder
// and only of the types its matter requires; the policy decides all of it.
package cases

import (
	"context"
	"time"

	"certd/internal/certificate"
)

// Case is one application being handled: opened from an Application
// (ApplicationID) or as a walk-in (WalkInReason).
type Case struct {
	ID         string
	CaseNo     string
	UnitCode   string
	MatterCode string
	// Holder is the application's holder; for a walk-in, the code and the
	// name the caller brought, never the base registry's name.
	Holder   certificate.Holder
	OpenedBy string
	OpenedAt time.Time
	// ClosedAt is when it was closed, by closeCase or, once ClosesAt has
	// passed, by itself (Service sets it on every read).
	ClosedAt *time.Time
	ClosedBy string

	ApplicationID string
	WalkInReason  string
	// ClosesAt is when the case closes by itself, set when it is opened
	// (data.certd.cases.close_after_working_days); nil for cases stored
	// before cases closed by themselves, whose deadline is reckoned from
	// OpenedAt when they are read.
	ClosesAt *time.Time
	// HolderNameMatches says whether the base registry confirms the name
	// a walk-in's caller gave; nil when none was given.
	HolderNameMatches *bool

	// Alert marks, in casesForReview, walk-ins past the daily quota that
	// were refused: never a case, only what the first refused try brought,
	// and how many tries were refused (RefusedAttempts).
	Alert           bool
	RefusedAttempts int
}

// Open reports whether the case is still being handled.
func (c *Case) Open() bool { return c.ClosedAt == nil }

// PaperSubmission records that an applicant brought paper for a required
// type (第十五条); DespiteAvailable is set when a citable e-licence of that
// type existed at that moment (第二十条(一)).
type PaperSubmission struct {
	CaseID           string
	UnitCode         string
	HolderCode       string
	TypeCode         string
	Reason           string
	At               time.Time
	By               string
	DespiteAvailable bool
}

// Cursor is a position in a unit's cases, newest first.
type Cursor struct {
	OpenedAt time.Time
	ID       string
}

// Repository stores cases. CreateCase fails with CONFLICT when the unit
// already has a case with that number; CloseCase with CONFLICT when the
// case is closed already; reads of unknown ids with NOT_FOUND.
type Repository interface {
	CreateCase(ctx context.Context, c Case) error
	GetCase(ctx context.Context, id string) (Case, error)
	CloseCase(ctx context.Context, id string, at time.Time, by string) error
	// ListCases lists a unit's cases newest first, after the cursor; with
	// openOnly, only those not closed and whose ClosesAt (when set) is
	// after now.
	ListCases(ctx context.Context, unit string, openOnly bool, now time.Time, after *Cursor, limit int) ([]Case, error)
	// AddPaperSubmission records paper brought in a case.
	AddPaperSubmission(ctx context.Context, p PaperSubmission) error
	// PaperSubmissions lists a case's paper submissions, oldest first.
	PaperSubmissions(ctx context.Context, caseID string) ([]PaperSubmission, error)
	// CountWalkIns counts the walk-in cases (not alerts) a person opened
	// on a day (WalkIn.Day).
	CountWalkIns(ctx context.Context, subject, day string) (int, error)
	// AddWalkIn stores a walk-in case's slot; CONFLICT when the slot is
	// taken.
	AddWalkIn(ctx context.Context, w WalkIn) error
	// RemoveWalkIn removes the walk-in of that id (a slot whose case could
	// not be stored).
	RemoveWalkIn(ctx context.Context, id string) error
	// RecordWalkInAlert stores an alert, or, when its slot has one, adds
	// one to that alert's Refusals.
	RecordWalkInAlert(ctx context.Context, w WalkIn) error
	// WalkIns lists walk-in cases and alerts newest first (At, then ID,
	// descending) after the cursor, at most limit.
	WalkIns(ctx context.Context, after *Cursor, limit int) ([]WalkIn, error)

	// UnitPaperSubmissions lists a unit's paper submissions in [from, to).
	UnitPaperSubmissions(ctx context.Context, unit string, from, to time.Time) ([]PaperSubmission, error)

	// CreateApplication stores a new application (Rev 0).
	CreateApplication(ctx context.Context, a Application) error
	// GetApplication reads an application as stored (NOT_FOUND when
	// unknown).
	GetApplication(ctx context.Context, id string) (Application, error)
	// UpdateApplication stores a's State, CaseID and UpdatedAt and sets
	// Rev to prevRev+1, if the stored Rev is still prevRev; CONFLICT
	// otherwise.
	UpdateApplication(ctx context.Context, a Application, prevRev int) error
	// HolderApplications lists a holder's applications newest first
	// (SubmittedAt, then ID, descending), at most limit.
	HolderApplications(ctx context.Context, holderCode string, limit int) ([]Application, error)
}
