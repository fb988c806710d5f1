package catalogue

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/codes"
	"certd/internal/identity"
)

// Authorizer answers whether the caller in ctx may do action on resource;
// it returns UNAUTHENTICATED or FORBIDDEN errors when not.
type Authorizer interface {
	Authorize(ctx context.Context, action string, resource map[string]any) error
}

// SealKeys creates a seal key pair for an issuing unit and returns its
// public key as PEM.
type SealKeys interface {
	NewUnitKey(ctx context.Context, unitCode string) (string, error)
}

// Service is the catalogue's use cases: every change is authorized by
// policy, validated, stored and recorded in the change history.
type Service struct {
	repo  Repository
	authz Authorizer
	keys  SealKeys
	now   func() time.Time
	cache lookups
}

// NewService returns a catalogue service.
func NewService(repo Repository, authz Authorizer, keys SealKeys) *Service {
	return &Service{repo: repo, authz: authz, keys: keys, now: time.Now}
}

// UnitInput registers a unit.
type UnitInput struct {
	Code    string
	Name    string
	Issuing bool
}

// TypeInput registers or updates a certificate type.
type TypeInput struct {
	Code           string
	Name           string
	Category       string
	Fields         []TemplateField
	ValidityMonths *int
}

// MatterInput registers or updates a matter.
type MatterInput struct {
	Code            string
	Name            string
	RequiredTypes   []string
	HandlingUnits   []string
	DisclosedFields []string
}

// Limits on catalogue input.
const (
	maxName      = 200
	maxFields    = 100
	maxMatterRef = 100
	maxValidity  = 1200 // months
)

var typeSuffixRE = regexp.MustCompile(`^[0-9]{3}$`)

func (s *Service) stamp(ctx context.Context) Stamp {
	by := ""
	if p, ok := identity.FromContext(ctx); ok {
		by = p.Subject
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	return Stamp{CreatedBy: by, CreatedAt: now, UpdatedBy: by, UpdatedAt: now}
}

func (s *Service) record(ctx context.Context, kind EntityKind, code string, version int, action string, st Stamp, entry any) error {
	snap, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	c := Change{Kind: kind, Code: code, Version: version, Action: action, By: st.UpdatedBy, At: st.UpdatedAt, Snapshot: snap}
	s.cache.clear()
	if err := s.repo.AppendChange(ctx, c); err != nil {
		return fmt.Errorf("record %s %s change: %w", kind, code, err)
	}
	audit.Wrote(ctx, string(kind)+"."+action, audit.Ref{Target: string(kind) + " " + code}, fmt.Sprintf("version %d", version))
	return nil
}

func checkName(what, name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return apperr.Invalid("%s must not be empty", what)
	}
	if utf8.RuneCountInString(name) > maxName {
		return apperr.Invalid("%s is longer than %d characters", what, maxName)
	}
	return nil
}

// CheckCreditCode returns INVALID_INPUT unless code is a valid unified
// social credit code.
func CheckCreditCode(what, code string) error {
	if !codes.ValidCreditCode(code) {
		return apperr.Invalid("%s %q is not a valid unified social credit code (GB 32100)", what, code)
	}
	return nil
}

// RegisterUnit adds an issuing or using unit.
func (s *Service) RegisterUnit(ctx context.Context, in UnitInput) (Unit, error) {
	if err := s.authz.Authorize(ctx, "unit.register", map[string]any{"code": in.Code}); err != nil {
		return Unit{}, err
	}
	if err := CheckCreditCode("unit code", in.Code); err != nil {
		return Unit{}, err
	}
	if err := checkName("unit name", in.Name); err != nil {
		return Unit{}, err
	}
	if _, err := s.repo.GetUnit(ctx, in.Code); err == nil {
		return Unit{}, apperr.Conflictf("unit %s already exists", in.Code)
	}
	st := s.stamp(ctx)
	u := Unit{Code: in.Code, Name: strings.TrimSpace(in.Name), Issuing: in.Issuing, Version: 1, Stamp: st}
	if u.Issuing {
		// The key is stored first: a unit is never without the key its
		// sealPublicKey names.
		pub, err := s.keys.NewUnitKey(ctx, u.Code)
		if err != nil {
			return Unit{}, fmt.Errorf("seal key for %s: %w", u.Code, err)
		}
		u.SealPublicKey = pub
	}
	if err := s.repo.CreateUnit(ctx, u); err != nil {
		return Unit{}, fmt.Errorf("register unit: %w", err)
	}
	return u, s.record(ctx, KindUnit, u.Code, u.Version, "create", st, u)
}

// Units lists every unit.
func (s *Service) Units(ctx context.Context) ([]Unit, error) {
	if err := s.authz.Authorize(ctx, "catalogue.read", nil); err != nil {
		return nil, err
	}
	return s.repo.ListUnits(ctx)
}

// Unit returns one unit.
func (s *Service) Unit(ctx context.Context, code string) (Unit, error) {
	if err := s.authz.Authorize(ctx, "catalogue.read", nil); err != nil {
		return Unit{}, err
	}
	return s.repo.GetUnit(ctx, code)
}

// LookupUnit returns a unit without asking for authorization, for other
// services that have authorized their own request (public verification
// names the issuer of a licence).
func (s *Service) LookupUnit(ctx context.Context, code string) (Unit, error) {
	return cachedLookup(s, ctx, "unit\x00"+code, s.repo.GetUnit, code)
}

// LookupType returns a certificate type without asking for authorization.
func (s *Service) LookupType(ctx context.Context, code string) (CertificateType, error) {
	return cachedLookup(s, ctx, "type\x00"+code, s.repo.GetType, code)
}

// SealingUnit returns an issuing unit with its seal key, creating the key
// first for a unit registered without one.
func (s *Service) SealingUnit(ctx context.Context, code string) (Unit, error) {
	u, err := s.repo.GetUnit(ctx, code)
	if err != nil {
		return u, err
	}
	if !u.Issuing {
		return u, apperr.Forbiddenf("unit %s is not an issuing unit", code)
	}
	if u.SealPublicKey != "" {
		return u, nil
	}
	pub, err := s.keys.NewUnitKey(ctx, code)
	if err != nil {
		return u, fmt.Errorf("seal key for %s: %w", code, err)
	}
	prev := u.Version
	u.SealPublicKey, u.Version = pub, u.Version+1
	u.UpdatedBy, u.UpdatedAt = "system", s.now().UTC().Truncate(time.Millisecond)
	if err := s.repo.UpdateUnit(ctx, u, prev); apperr.CodeIs(err, apperr.Conflict) {
		return s.repo.GetUnit(ctx, code) // another request gave it a key
	} else if err != nil {
		return u, err
	}
	return u, s.record(ctx, KindUnit, u.Code, u.Version, "seal-key", u.Stamp, u)
}
