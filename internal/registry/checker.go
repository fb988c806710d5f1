package registry

import (
	"context"
	"strings"
	"unicode/utf8"

	"certd/internal/apperr"
	"certd/internal/codes"
)

// Holder kinds as the registries name them.
const (
	Person       = "PERSON"
	Organization = "ORGANIZATION"
)

// Checker verifies holders before a licence is generated (第八条).
type Checker struct{ repo Repository }

// NewChecker returns a checker over the embedded registry.
func NewChecker(repo Repository) *Checker { return &Checker{repo: repo} }

// Check validates the holder's code by its check character — a resident
// ID number (GB 11643) for persons, a unified social credit code (GB 32100)
// for organisations — and, when the registry knows the code, requires the
// same kind and name.
func (c *Checker) Check(ctx context.Context, code, name, kind string) error {
	if err := checkCode(code, name, kind); err != nil {
		return err
	}
	e, err := c.repo.RegistryEntry(ctx, code)
	if apperr.CodeIs(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return match(e, code, strings.TrimSpace(name), kind)
}

// Holder is one holder to check.
type Holder struct{ Code, Name, Kind string }

// CheckAll checks many holders with one registry look-up. It returns an
// error per holder (nil when fine), or an error when the registry cannot
// be read.
func (c *Checker) CheckAll(ctx context.Context, hs []Holder) ([]error, error) {
	errs := make([]error, len(hs))
	var codes []string
	for i, h := range hs {
		if errs[i] = checkCode(h.Code, h.Name, h.Kind); errs[i] == nil {
			codes = append(codes, h.Code)
		}
	}
	known, err := c.repo.RegistryEntries(ctx, codes)
	if err != nil {
		return nil, err
	}
	for i, h := range hs {
		if e, ok := known[h.Code]; ok && errs[i] == nil {
			errs[i] = match(e, h.Code, strings.TrimSpace(h.Name), h.Kind)
		}
	}
	return errs, nil
}

func match(e Entry, code, name, kind string) error {
	if e.Kind != kind {
		return apperr.Invalid("holder %s is registered as %s, not %s", code, e.Kind, kind)
	}
	if e.Name != name {
		return apperr.Invalid("holder name does not match the %s registry for %s", registryName(kind), code)
	}
	return nil
}

// checkCode validates a holder's code by its check character and the name.
func checkCode(code, name, kind string) error {
	switch kind {
	case Person:
		if !codes.ValidResidentID(code) {
			return apperr.Invalid("holder %q is not a valid resident ID number (GB 11643)", code)
		}
	case Organization:
		if !codes.ValidCreditCode(code) {
			return apperr.Invalid("holder %q is not a valid unified social credit code (GB 32100)", code)
		}
	default:
		return apperr.Invalid("holder kind must be PERSON or ORGANIZATION")
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return apperr.Invalid("holder name must be 1 to 200 characters")
	}
	return nil
}

func registryName(kind string) string {
	if kind == Person {
		return "population"
	}
	return "legal-entity"
}
