// Package policyadmin lets policy admins change certd's authorization
// policy at run time, two people to a change: one proposes a new version
// of the Rego bundle (publish) or the return to an earlier one (rollback),
// and another approves it, which makes it active, or rejects it. A bundle
// is refused unless it compiles, has tests, every test passes and it
// passes the invariants that policy admins cannot edit (built in, plus an
// operator's directory); it is checked when proposed and again when
// approved. The package also lists the versions and explains a decision.
//
// Every version ever proposed is kept in the store with its state, and a
// pointer names the active one. Every certd instance sharing the store
// watches that pointer (Watch) and loads the version it names, so an
// approval on one instance reaches all of them within seconds.
package policyadmin

import (
	"context"
	"time"

	"certd/internal/apperr"
	"certd/internal/authz"
)

// State is where a version is in its life: proposed, then active (once
// approved) and superseded (once another is approved), or rejected.
type State string

// The states of a version. Proposed is the only one that changes by a
// person's decision: to Active (approve) or Rejected (reject). Active
// becomes Superseded when another version is approved. Superseded and
// Rejected are final: a rollback proposes a new version with the old
// modules rather than reviving an old one.
const (
	Proposed   State = "PROPOSED"
	Active     State = "ACTIVE"
	Superseded State = "SUPERSEDED"
	Rejected   State = "REJECTED"
)

// Version is one version of the policy bundle, proposed by its author.
type Version struct {
	Version     int // 1, 2, ... in proposing order
	Modules     []authz.Module
	Message     string // what changed, by the author
	Author      string // the proposer's subject; "system" for the embedded default
	PublishedAt time.Time
	TestsPassed int // how many of the bundle's tests passed when it was proposed
	State       State
	// BasedOn is the version that was active when this one was proposed
	// (0 for the first). It may be approved only while BasedOn is still
	// active, so an approval never silently undoes a change approved
	// after the proposal was made.
	BasedOn int
	// RollbackOf is, for a proposal made by rollbackPolicy, the earlier
	// version whose modules it restores (0 otherwise).
	RollbackOf int
	// ApprovedBy and ApprovedAt say who made the version active, and
	// when ("system" for the embedded default of a fresh store).
	ApprovedBy string
	ApprovedAt *time.Time
	// RejectedBy, RejectedAt and RejectReason say who rejected a proposal,
	// when and why.
	RejectedBy   string
	RejectedAt   *time.Time
	RejectReason string
}

// Verdict is an approval or rejection of a proposal, as the store
// records it.
type Verdict struct {
	Version int
	By      string
	At      time.Time
	Reason  string // for a rejection
}

// Repository stores policy versions and the active-version pointer.
//
// The pointer decides which version is active; the states of the versions
// follow it. Stores without transactions (MongoDB) make each change one
// atomic step plus repairable follow-ups, so a crash between them leaves
// nothing that a read does not finish (see internal/store/mongo).
type Repository interface {
	// InsertPolicy stores a new version as given (normally PROPOSED);
	// CONFLICT if its number exists.
	InsertPolicy(ctx context.Context, v Version) error
	// PolicyVersions returns every version, ascending by number.
	PolicyVersions(ctx context.Context) ([]Version, error)
	// PolicyVersion returns one version; NOT_FOUND if there is none.
	PolicyVersion(ctx context.Context, version int) (Version, error)
	// ActivePolicy returns the active version and the pointer's revision
	// (1 when created, +1 on every move); NOT_FOUND before the first
	// ActivatePolicy.
	ActivePolicy(ctx context.Context) (version, rev int, err error)
	// ActivatePolicy approves a PROPOSED version: it points the active
	// pointer at it if the pointer's revision is still prevRev (prevRev 0
	// creates the pointer), records the verdict's approver and time, and
	// marks the version that was active SUPERSEDED. CONFLICT if the
	// pointer moved on meanwhile (or exists already, for prevRev 0) or the
	// version is no longer PROPOSED; NOT_FOUND if it is not stored. Of
	// concurrent approvals from one revision, and of concurrent approvals
	// and rejections of one version, exactly one succeeds.
	ActivatePolicy(ctx context.Context, v Verdict, prevRev int) error
	// RejectPolicy marks a PROPOSED version REJECTED with the verdict's
	// rejecter, time and reason. CONFLICT if it is no longer PROPOSED;
	// NOT_FOUND if it is not stored.
	RejectPolicy(ctx context.Context, v Verdict) error
}

// NotProposed is the CONFLICT a store returns when asked to approve or
// reject a version that is no longer a proposal.
func NotProposed(v Version) error {
	return apperr.Conflictf("policy version %d is %s, no longer a proposal", v.Version, v.State)
}

// PointerMoved is the CONFLICT a store returns when the active pointer is
// not at the revision an approval started from.
func PointerMoved(prevRev int) error {
	if prevRev == 0 {
		return apperr.Conflictf("the active policy pointer exists already")
	}
	return apperr.Conflictf("the active policy was changed by someone else meanwhile; read it again")
}

// Authorizer answers whether the caller in ctx may do action on resource;
// it returns UNAUTHENTICATED or FORBIDDEN errors when not.
type Authorizer interface {
	Authorize(ctx context.Context, action string, resource map[string]any) error
}

// Loader is the running policy engine: Load compiles and activates a
// bundle (keeping the running one on error), Version reports which is
// running. *authz.Engine implements it.
type Loader interface {
	Load(ctx context.Context, mods []authz.Module, version int) error
	Version() int
}

var _ Loader = (*authz.Engine)(nil)

// Decision is the outcome of Explain.
type Decision struct {
	// Allowed is whether the result is the boolean true.
	Allowed bool
	// Result is the query's value as JSON-like Go data (nil when
	// undefined).
	Result any
	// Explanation says, in a few lines, which rules were evaluated and
	// which of their expressions failed, and the policy's reasons for a
	// denial.
	Explanation []string
}

// The actions a policy admin is authorized for.
const (
	ActionPublish  = "policy.publish"
	ActionRollback = "policy.rollback"
	ActionApprove  = "policy.approve"
	ActionReject   = "policy.reject"
	ActionRead     = "policy.read"
	ActionExplain  = "policy.explain"
)
