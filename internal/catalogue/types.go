package catalogue

import (
	"context"
	"fmt"
	"strings"

	"certd/internal/apperr"
	"certd/internal/codes"
	"certd/internal/identity"
)

func (s *Service) checkType(in TypeInput) (TypeInput, error) {
	if len(in.Code) != 21 || CheckCreditCode("defining unit", in.Code[:min(18, len(in.Code))]) != nil || !typeSuffixRE.MatchString(in.Code[18:]) {
		return in, apperr.Invalid("certificate type code %q must be the defining unit's credit code followed by three digits", in.Code)
	}
	if err := checkName("type name", in.Name); err != nil {
		return in, err
	}
	if err := checkName("category", in.Category); err != nil {
		return in, err
	}
	if len(in.Fields) == 0 || len(in.Fields) > maxFields {
		return in, apperr.Invalid("a template has 1 to %d fields", maxFields)
	}
	seen := map[string]bool{}
	for i, f := range in.Fields {
		if !codes.ValidFieldName(f.Name) {
			return in, apperr.Invalid("field %d: name %q must start with a letter and hold only letters, digits and _ (64 at most)", i+1, f.Name)
		}
		if seen[f.Name] {
			return in, apperr.Invalid("field %q appears twice", f.Name)
		}
		seen[f.Name] = true
		if err := checkName(fmt.Sprintf("label of field %q", f.Name), f.Label); err != nil {
			return in, err
		}
		if !f.Type.Valid() {
			return in, apperr.Invalid("field %q: unknown type %q", f.Name, f.Type)
		}
		in.Fields[i].Label = strings.TrimSpace(f.Label)
	}
	if in.ValidityMonths != nil && (*in.ValidityMonths < 1 || *in.ValidityMonths > maxValidity) {
		return in, apperr.Invalid("validityMonths must be between 1 and %d", maxValidity)
	}
	in.Name, in.Category = strings.TrimSpace(in.Name), strings.TrimSpace(in.Category)
	return in, nil
}

// issuingUnit returns the caller's unit, which must be a registered issuing
// unit.
func (s *Service) issuingUnit(ctx context.Context) (Unit, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Unit{}, err
	}
	u, err := s.repo.GetUnit(ctx, p.Org)
	if apperr.CodeIs(err, apperr.NotFound) {
		return Unit{}, apperr.Forbiddenf("the caller's unit %q is not registered", p.Org)
	}
	if err != nil {
		return Unit{}, err
	}
	if !u.Issuing {
		return Unit{}, apperr.Forbiddenf("unit %s is not an issuing unit", u.Code)
	}
	return u, nil
}

// RegisterCertificateType adds a type to the catalogue, issued by the
// caller's own unit.
func (s *Service) RegisterCertificateType(ctx context.Context, in TypeInput) (CertificateType, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return CertificateType{}, err
	}
	if err := s.authz.Authorize(ctx, "type.register", map[string]any{"issuer": p.Org, "code": in.Code}); err != nil {
		return CertificateType{}, err
	}
	if in, err = s.checkType(in); err != nil {
		return CertificateType{}, err
	}
	u, err := s.issuingUnit(ctx)
	if err != nil {
		return CertificateType{}, err
	}
	// GB/T 36904: a type code is the credit code of the unit that defines
	// the type and three digits. A unit defines types only in its own
	// code space, never in another unit's.
	if in.Code[:18] != u.Code {
		return CertificateType{}, apperr.Forbiddenf("certificate type code %s lies in the code space of unit %s: unit %s registers types as its own credit code followed by three digits",
			in.Code, in.Code[:18], u.Code)
	}
	st := s.stamp(ctx)
	t := CertificateType{Code: in.Code, Name: in.Name, IssuerCode: u.Code, Category: in.Category,
		Fields: in.Fields, ValidityMonths: in.ValidityMonths, Version: 1, Stamp: st}
	if err := s.repo.CreateType(ctx, t); err != nil {
		return CertificateType{}, fmt.Errorf("register certificate type: %w", err)
	}
	return t, s.record(ctx, KindType, t.Code, t.Version, "create", st, t)
}

// UpdateCertificateType changes a type of the caller's unit (第十条); its
// version grows by one. expectVersion, when not zero, must be the version
// the caller read.
func (s *Service) UpdateCertificateType(ctx context.Context, in TypeInput, expectVersion int) (CertificateType, error) {
	cur, err := s.repo.GetType(ctx, in.Code)
	if err != nil {
		return CertificateType{}, err
	}
	if err := s.authz.Authorize(ctx, "type.update", map[string]any{"issuer": cur.IssuerCode, "code": cur.Code}); err != nil {
		return CertificateType{}, err
	}
	if expectVersion != 0 && expectVersion != cur.Version {
		return CertificateType{}, apperr.Conflictf("certificate type %s is at version %d, not %d", cur.Code, cur.Version, expectVersion)
	}
	if in, err = s.checkType(in); err != nil {
		return CertificateType{}, err
	}
	st := s.stamp(ctx)
	t := cur
	t.Name, t.Category, t.Fields, t.ValidityMonths = in.Name, in.Category, in.Fields, in.ValidityMonths
	t.Version, t.UpdatedBy, t.UpdatedAt = cur.Version+1, st.UpdatedBy, st.UpdatedAt
	if err := s.repo.UpdateType(ctx, t, cur.Version); err != nil {
		return CertificateType{}, fmt.Errorf("update certificate type: %w", err)
	}
	return t, s.record(ctx, KindType, t.Code, t.Version, "update", st, t)
}

// CertificateTypes lists the catalogue of types.
func (s *Service) CertificateTypes(ctx context.Context) ([]CertificateType, error) {
	if err := s.authz.Authorize(ctx, "catalogue.read", nil); err != nil {
		return nil, err
	}
	return s.repo.ListTypes(ctx)
}

// CertificateType returns one type.
func (s *Service) CertificateType(ctx context.Context, code string) (CertificateType, error) {
	if err := s.authz.Authorize(ctx, "catalogue.read", nil); err != nil {
		return CertificateType{}, err
	}
	return s.repo.GetType(ctx, code)
}
