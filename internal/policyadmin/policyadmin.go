// Package policyadmin lets policy admins change certd's authorization
// policy at run time: publish a new version of the Rego bundle (refused
// unless it compiles, has tests and every test passes), roll back to an
// earlier version, list the versions and explain a decision.
//
// Every version ever published is kept in the store, and a pointer names
// the active one. Every certd instance sharing the store watches that
// pointer (Watch) and loads the version it names, so a publish or rollback
// on one instance reaches all of them within seconds.
package policyadmin

import (
	"context"
	"time"

	"certd/internal/authz"
)

// Version is one published version of the policy bundle.
type Version struct {
	Version     int // 1, 2, ... in publishing order
	Modules     []authz.Module
	Message     string // what changed, by the author
	Author      string // the publisher's subject; "system" for the embedded default
	PublishedAt time.Time
	TestsPassed int // how many of the bundle's tests passed when it was published
}

// Repository stores policy versions and the active-version pointer.
type Repository interface {
	// InsertPolicy stores a new version; CONFLICT if its number exists.
	InsertPolicy(ctx context.Context, v Version) error
	// PolicyVersions returns every version, ascending by number.
	PolicyVersions(ctx context.Context) ([]Version, error)
	// PolicyVersion returns one version; NOT_FOUND if there is none.
	PolicyVersion(ctx context.Context, version int) (Version, error)
	// ActivePolicy returns the active version and the pointer's revision
	// (1 when created, +1 on every move); NOT_FOUND before the first
	// SetActivePolicy.
	ActivePolicy(ctx context.Context) (version, rev int, err error)
	// SetActivePolicy points the active pointer at version if its revision
	// is still prevRev; prevRev 0 creates the pointer. CONFLICT if the
	// pointer moved on meanwhile (or exists already, for prevRev 0);
	// NOT_FOUND if the version is not stored. Of concurrent moves from one
	// revision exactly one succeeds.
	SetActivePolicy(ctx context.Context, version, prevRev int) error
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
	ActionRead     = "policy.read"
	ActionExplain  = "policy.explain"
)
