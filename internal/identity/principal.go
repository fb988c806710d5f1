// Package identity authenticates certd's callers: it verifies JWT bearer
// tokens (EdDSA, RSA or ECDSA signed), turns their claims into a Principal
// and carries that Principal in the request context. In embedded mode certd
// signs its own tokens with an Ed25519 key kept in the data directory.
//
// Every authentication failure is an *apperr.Error with code
// UNAUTHENTICATED and a client-safe message; the underlying cause is
// wrapped for the logs.
package identity

import (
	"context"
	"slices"
	"strconv"
	"time"

	"certd/internal/apperr"
)

// The roles certd knows. A token that carries any other role is refused.
const (
	RoleIssuer        = "issuer"
	RoleStaff         = "staff"
	RoleHolder        = "holder"
	RoleAnalyst       = "analyst"
	RoleDigitalOffice = "digital_office"
	RolePolicyAdmin   = "policy_admin"
	RoleSupervisor    = "supervisor"
	// RoleServiceHall is the online service hall's system client: it
	// submits applications for holders it has authenticated.
	RoleServiceHall = "service_hall"
	// RoleImporter, beside issuer, marks the accounts of the stock import
	// (第十一条, certd import): only they may declare licences STOCK, which
	// have no 第七条 deadline.
	RoleImporter = "importer"
)

// KnownRoles lists every role certd knows, in a stable order. Treat it as
// read-only.
var KnownRoles = []string{
	RoleIssuer, RoleStaff, RoleHolder, RoleAnalyst,
	RoleDigitalOffice, RolePolicyAdmin, RoleSupervisor, RoleServiceHall, RoleImporter,
}

// ValidRole reports whether r is one of KnownRoles (exact match).
func ValidRole(r string) bool { return slices.Contains(KnownRoles, r) }

// Principal is the authenticated caller of a request. A Principal returned
// by a Verifier may be shared between requests (it is cached), so it must
// be treated as read-only.
type Principal struct {
	Subject   string    // sub: the user id
	Name      string    // name: display name
	Org       string    // org: the unit's unified social credit code
	Roles     []string  // roles: every entry is a known role
	Holder    string    // holder: ID number or credit code (holder role)
	AMR       []string  // amr: authentication methods, e.g. pwd, cert, bio
	ExpiresAt time.Time // exp
	TokenID   string    // jti
}

// HasRole reports whether the principal holds role r.
func (p *Principal) HasRole(r string) bool {
	return p != nil && slices.Contains(p.Roles, r)
}

// checkPrincipalClaims enforces the claim rules shared by Issue and Verify:
// a subject, at least one role, only known roles, and a holder claim for
// the holder role. It returns a client-safe message, or "" when valid.
func checkPrincipalClaims(sub string, roles []string, holder string) string {
	if sub == "" {
		return "token has no subject"
	}
	if len(roles) == 0 {
		return "token has no roles"
	}
	for _, r := range roles {
		if !ValidRole(r) {
			return "unknown role " + quote(r)
		}
	}
	if holder == "" && slices.Contains(roles, RoleHolder) {
		return "holder role requires a holder claim"
	}
	return ""
}

// quote quotes s for a message, shortening very long values so that a
// hostile token cannot blow up log lines and responses.
func quote(s string) string {
	const maxLen = 64
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	return strconv.Quote(s)
}

type ctxKey struct{}

// WithPrincipal returns a copy of ctx that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal carried by ctx, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
}

// Require returns the principal carried by ctx, or an UNAUTHENTICATED
// "authentication required" error when the request is anonymous. Resolvers
// of operations that need a caller use it.
func Require(ctx context.Context) (*Principal, error) {
	if p, ok := FromContext(ctx); ok {
		return p, nil
	}
	return nil, apperr.New(apperr.Unauthenticated, "authentication required")
}
