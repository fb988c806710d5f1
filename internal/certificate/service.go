package certificate

import (
	"context"
	"time"

	"certd/internal/authz"
	"certd/internal/catalogue"
	"certd/internal/registry"
	"certd/internal/seal"
)

// Catalogue is what the service reads of the catalogue. Lookups are not
// authorized again: the service has authorized its own request.
type Catalogue interface {
	LookupType(ctx context.Context, code string) (catalogue.CertificateType, error)
	LookupUnit(ctx context.Context, code string) (catalogue.Unit, error)
	// SealingUnit returns an issuing unit with its seal key.
	SealingUnit(ctx context.Context, code string) (catalogue.Unit, error)
}

// Keys unlocks seal keys and finds the public key of a seal.
type Keys interface {
	Signer(ctx context.Context, unitCode, pubPEM string) (*seal.Signer, error)
	PublicKey(ctx context.Context, keyID string) (unitCode, pubPEM string, err error)
}

// HolderCheck verifies holders against the base registries (第八条): an
// error per holder, or an error when the registries cannot be read.
type HolderCheck interface {
	CheckAll(ctx context.Context, hs []registry.Holder) ([]error, error)
}

// Authorizer answers whether the caller may do action on resource.
type Authorizer interface {
	Authorize(ctx context.Context, action string, resource map[string]any) error
}

// Policy gives the data filters of list reads.
type Policy interface {
	Filter(ctx context.Context, action string, known map[string]any) (authz.FilterDecision, error)
}

// Codes computes and checks the licences' verification codes (vcode).
type Codes interface {
	For(id string) string
	Match(id, code string) bool
}

// Throttle limits public verifications per client address
// (ratelimit.Limiter; a nil *Limiter limits nothing).
type Throttle interface {
	Allow(client string) (bool, time.Duration)
}

type noThrottle struct{}

func (noThrottle) Allow(string) (bool, time.Duration) { return true, 0 }

// Service issues, changes, reads and verifies licences.
type Service struct {
	repo     Repository
	cat      Catalogue
	keys     Keys
	holders  HolderCheck
	authz    Authorizer
	policy   Policy
	platform PlatformSealer
	cal      *Calendar
	now      func() time.Time
	codes    Codes
	throttle Throttle

	verified sealCache
}

// Deps are the service's collaborators.
type Deps struct {
	Repo     Repository
	Catalog  Catalogue
	Keys     Keys
	Holders  HolderCheck
	Authz    Authorizer
	Policy   Policy
	Platform PlatformSealer // seals annotated copies; nil: none are made
	Calendar *Calendar
	Now      func() time.Time // nil means time.Now
	// Codes makes verification codes; nil: no licence has one, and
	// public verification shows nothing.
	Codes Codes
	// Throttle limits public verifications; nil limits nothing.
	Throttle Throttle
}

// NewService returns a licence service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Throttle == nil {
		d.Throttle = noThrottle{}
	}
	return &Service{repo: d.Repo, cat: d.Catalog, keys: d.Keys, holders: d.Holders, authz: d.Authz, policy: d.Policy,
		platform: d.Platform, cal: d.Calendar, now: d.Now, codes: d.Codes, throttle: d.Throttle}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Today is the current date in the city.
func (s *Service) Today() time.Time {
	return Clock{Now: s.now, Loc: s.cal.Loc}.Today()
}

// stamp is the time of a write, at the precision every store keeps.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// resource describes a licence to the policy.
func resource(c *Certificate) map[string]any {
	return map[string]any{"id": c.ID, "issuer": c.IssuerCode, "type": c.TypeCode, "holder": c.Holder.Code, "state": string(c.State)}
}
