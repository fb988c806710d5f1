package catalogue

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"certd/internal/apperr"
	"certd/internal/codes"
)

func (s *Service) checkMatter(ctx context.Context, in MatterInput) (MatterInput, error) {
	if !codes.ValidMatterCode(in.Code) {
		return in, apperr.Invalid("matter code %q must be 1 to 64 letters, digits, '.', '_' or '-'", in.Code)
	}
	if err := checkName("matter name", in.Name); err != nil {
		return in, err
	}
	if len(in.RequiredTypes) > maxMatterRef || len(in.HandlingUnits) > maxMatterRef {
		return in, apperr.Invalid("a matter names at most %d types and %d units", maxMatterRef, maxMatterRef)
	}
	if len(in.HandlingUnits) == 0 {
		return in, apperr.Invalid("a matter needs at least one handling unit")
	}
	var err error
	if in.RequiredTypes, err = dedupe("required type", in.RequiredTypes, func(c string) error {
		_, err := s.repo.GetType(ctx, c)
		return err
	}); err != nil {
		return in, err
	}
	if in.HandlingUnits, err = dedupe("handling unit", in.HandlingUnits, func(c string) error {
		_, err := s.repo.GetUnit(ctx, c)
		return err
	}); err != nil {
		return in, err
	}
	if in.DisclosedFields, err = s.checkDisclosed(ctx, in); err != nil {
		return in, err
	}
	in.Name = strings.TrimSpace(in.Name)
	return in, nil
}

// checkDisclosed requires every disclosed field to be a sensitive field of
// a type the matter requires.
func (s *Service) checkDisclosed(ctx context.Context, in MatterInput) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, d := range in.DisclosedFields {
		if seen[d] {
			continue
		}
		seen[d] = true
		code, field, ok := strings.Cut(d, ".")
		if !ok || !slices.Contains(in.RequiredTypes, code) {
			return nil, apperr.Invalid("disclosed field %q must be <type code>.<field> of a type the matter requires", d)
		}
		t, err := s.repo.GetType(ctx, code)
		if err != nil {
			return nil, err
		}
		f, ok := t.Field(field)
		if !ok || !f.Sensitive {
			return nil, apperr.Invalid("disclosed field %q is not a sensitive field of %s", d, code)
		}
		out = append(out, d)
	}
	return out, nil
}

// dedupe checks that each code exists and drops repeats, keeping order.
func dedupe(what string, codes []string, exists func(string) error) ([]string, error) {
	out := make([]string, 0, len(codes))
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c] {
			continue
		}
		seen[c] = true
		if err := exists(c); apperr.CodeIs(err, apperr.NotFound) {
			return nil, apperr.Invalid("%s %q is not in the catalogue", what, c)
		} else if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// RegisterMatter adds a matter with the types its guide requires and the
// units that handle it.
func (s *Service) RegisterMatter(ctx context.Context, in MatterInput) (Matter, error) {
	if err := s.authz.Authorize(ctx, "matter.register", map[string]any{"code": in.Code}); err != nil {
		return Matter{}, err
	}
	in, err := s.checkMatter(ctx, in)
	if err != nil {
		return Matter{}, err
	}
	st := s.stamp(ctx)
	m := Matter{Code: in.Code, Name: in.Name, RequiredTypes: in.RequiredTypes, HandlingUnits: in.HandlingUnits,
		DisclosedFields: in.DisclosedFields, Version: 1, Stamp: st}
	if err := s.repo.CreateMatter(ctx, m); err != nil {
		return Matter{}, fmt.Errorf("register matter: %w", err)
	}
	return m, s.record(ctx, KindMatter, m.Code, m.Version, "create", st, m)
}

// UpdateMatter changes a matter's name, required types or handling units.
func (s *Service) UpdateMatter(ctx context.Context, in MatterInput, expectVersion int) (Matter, error) {
	if err := s.authz.Authorize(ctx, "matter.update", map[string]any{"code": in.Code}); err != nil {
		return Matter{}, err
	}
	cur, err := s.repo.GetMatter(ctx, in.Code)
	if err != nil {
		return Matter{}, err
	}
	if expectVersion != 0 && expectVersion != cur.Version {
		return Matter{}, apperr.Conflictf("matter %s is at version %d, not %d", cur.Code, cur.Version, expectVersion)
	}
	if in, err = s.checkMatter(ctx, in); err != nil {
		return Matter{}, err
	}
	st := s.stamp(ctx)
	m := cur
	m.Name, m.RequiredTypes, m.HandlingUnits, m.DisclosedFields = in.Name, in.RequiredTypes, in.HandlingUnits, in.DisclosedFields
	m.Version, m.UpdatedBy, m.UpdatedAt = cur.Version+1, st.UpdatedBy, st.UpdatedAt
	if err := s.repo.UpdateMatter(ctx, m, cur.Version); err != nil {
		return Matter{}, fmt.Errorf("update matter: %w", err)
	}
	return m, s.record(ctx, KindMatter, m.Code, m.Version, "update", st, m)
}

// Matters lists every matter.
func (s *Service) Matters(ctx context.Context) ([]Matter, error) {
	if err := s.authz.Authorize(ctx, "catalogue.read", nil); err != nil {
		return nil, err
	}
	return s.repo.ListMatters(ctx)
}

// Matter returns one matter.
func (s *Service) Matter(ctx context.Context, code string) (Matter, error) {
	if err := s.authz.Authorize(ctx, "catalogue.read", nil); err != nil {
		return Matter{}, err
	}
	return s.repo.GetMatter(ctx, code)
}

// Changes lists the change history of one catalogue entry (or of all
// entries of a kind when code is empty): who changed what, and when.
func (s *Service) Changes(ctx context.Context, kind EntityKind, code string) ([]Change, error) {
	if err := s.authz.Authorize(ctx, "catalogue.read", nil); err != nil {
		return nil, err
	}
	return s.repo.Changes(ctx, kind, code)
}

// LookupMatter returns a matter without asking for authorization, for
// services that authorized their own request.
func (s *Service) LookupMatter(ctx context.Context, code string) (Matter, error) {
	return cachedLookup(s, ctx, "matter\x00"+code, s.repo.GetMatter, code)
}
