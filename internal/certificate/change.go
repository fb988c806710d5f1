package certificate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/identity"
	"certd/internal/text"
)

// maxReason bounds reasons and notes.
const maxReason = 500

func checkReason(what, s string, required bool) (string, error) {
	min := 0
	if required {
		min = 1
	}
	return text.Check("the "+what, s, min, maxReason)
}

// current loads the version id names, authorizes action on it and
// requires it to be the current version.
func (s *Service) current(ctx context.Context, id, action string) (Certificate, *identity.Principal, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Certificate{}, nil, err
	}
	if _, err := ParseID(id); err != nil {
		return Certificate{}, nil, err
	}
	c, err := s.repo.Get(ctx, id)
	if err != nil {
		return c, nil, err
	}
	if err := s.authz.Authorize(ctx, action, resource(&c)); err != nil {
		return c, nil, audit.Refused(ctx, action, auditRef(&c), err)
	}
	if !c.Current {
		return c, nil, apperr.Conflictf("licence %s was superseded by %s; act on the current version", c.ID, c.Successor)
	}
	return c, p, nil
}

// Change issues a new version of a licence with corrected data (变更);
// the previous version becomes SUPERSEDED.
func (s *Service) Change(ctx context.Context, id string, data map[string]any, reason string) (Certificate, error) {
	c, p, err := s.current(ctx, id, "certificate.change")
	if err != nil {
		return Certificate{}, err
	}
	if reason, err = checkReason("reason", reason, true); err != nil {
		return Certificate{}, err
	}
	if c.State != Valid {
		return Certificate{}, apperr.Conflictf("a %s licence cannot be changed", c.State)
	}
	t, err := s.cat.LookupType(ctx, c.TypeCode)
	if err != nil {
		return Certificate{}, err
	}
	norm, err := ValidateData(t, data)
	if err != nil {
		return Certificate{}, err
	}
	next := s.successor(c, p.Subject, "CHANGE", reason)
	next.Data, next.TypeVersion = norm, t.Version
	return s.publish(ctx, c, next, t.Name)
}

// Renew issues a new version valid until validUntil (延续); the previous
// version becomes SUPERSEDED. An expired licence can be renewed too.
func (s *Service) Renew(ctx context.Context, id string, validUntil time.Time) (Certificate, error) {
	c, p, err := s.current(ctx, id, "certificate.renew")
	if err != nil {
		return Certificate{}, err
	}
	if c.State != Valid && c.State != Expired {
		return Certificate{}, apperr.Conflictf("a %s licence cannot be renewed", c.State)
	}
	today := s.Today()
	if validUntil.Before(today) {
		return Certificate{}, apperr.Invalid("validUntil %s has passed", validUntil.Format(time.DateOnly))
	}
	if c.ValidUntil != nil && !validUntil.After(*c.ValidUntil) {
		return Certificate{}, apperr.Invalid("validUntil must be after the current %s", c.ValidUntil.Format(time.DateOnly))
	}
	t, err := s.cat.LookupType(ctx, c.TypeCode)
	if err != nil {
		return Certificate{}, err
	}
	next := s.successor(c, p.Subject, "RENEW", "valid until "+validUntil.Format(time.DateOnly))
	next.ValidUntil = &validUntil
	if c.State == Expired || c.ValidFrom.After(today) {
		next.ValidFrom = today
	}
	next.State = Valid
	return s.publish(ctx, c, next, t.Name)
}

// successor starts the next version of c.
func (s *Service) successor(c Certificate, by, action, reason string) Certificate {
	now := s.stamp()
	id := ID{TypeCode: c.TypeCode, IssuerCode: c.IssuerCode, Serial: c.Serial, Version: c.Version + 1}
	n := c
	n.ID, n.Version, n.Rev, n.IdempotencyKey, n.Successor = id.String(), c.Version+1, 1, "", ""
	n.State, n.Current, n.IssuedAt, n.IssuedBy = Valid, true, now, by
	n.History = []StateChange{{At: now, Action: action, By: by, Reason: reason}}
	n.Inspections = nil
	n.Timeliness = Timeliness{Mode: Online, CompletedAt: now, BatchSize: 1, Deadline: s.cal.Deadline(Online, now, 1)}
	return n
}

// publish seals next and stores it in place of c.
func (s *Service) publish(ctx context.Context, c, next Certificate, typeName string) (Certificate, error) {
	unit, err := s.cat.SealingUnit(ctx, c.IssuerCode)
	if err != nil {
		return Certificate{}, err
	}
	signer, err := s.keys.Signer(ctx, unit.Code, unit.SealPublicKey)
	if err != nil {
		return Certificate{}, err
	}
	if err := SealDocument(signer, &next, typeName, unit.Name); err != nil {
		return Certificate{}, err
	}
	if err := s.repo.Supersede(ctx, c, c.Rev, next); err != nil {
		return Certificate{}, err
	}
	audit.Wrote(ctx, "certificate."+strings.ToLower(next.History[0].Action), auditRef(&next), "supersedes "+c.ID)
	return next, nil
}

// SetState moves the current version of a licence to another state
// (第九条). Illegal moves and moves out of final states are CONFLICT.
func (s *Service) SetState(ctx context.Context, id string, action Action, reason string) (Certificate, error) {
	c, p, err := s.current(ctx, id, "certificate.state")
	if err != nil {
		return Certificate{}, err
	}
	if reason, err = checkReason("reason", reason, true); err != nil {
		return Certificate{}, err
	}
	to, err := Next(c.State, action)
	if err != nil {
		return Certificate{}, err
	}
	if to == Valid && c.ValidUntil != nil && c.ValidUntil.Before(s.Today()) {
		to = Expired // nothing lifts a licence past its validity
	}
	prev := c.Rev
	c.State = to
	c.History = append(c.History, StateChange{At: s.stamp(), Action: string(action), By: p.Subject, Reason: reason})
	if err := s.repo.Update(ctx, c, prev); err != nil {
		return Certificate{}, err
	}
	audit.Wrote(ctx, "certificate.state", auditRef(&c), string(action)+" → "+string(to))
	c.Rev = prev + 1
	return c, nil
}

// RecordInspection records an annual inspection (年检) of the current
// version.
func (s *Service) RecordInspection(ctx context.Context, id string, passed bool, note string) (Certificate, error) {
	c, p, err := s.current(ctx, id, "certificate.inspect")
	if err != nil {
		return Certificate{}, err
	}
	if note, err = checkReason("note", note, false); err != nil {
		return Certificate{}, err
	}
	if c.State.Final() {
		return Certificate{}, apperr.Conflictf("a %s licence is not inspected", c.State)
	}
	prev := c.Rev
	c.Inspections = append(c.Inspections, Inspection{At: s.stamp(), Passed: passed, Note: note, By: p.Subject})
	if err := s.repo.Update(ctx, c, prev); err != nil {
		return Certificate{}, err
	}
	audit.Wrote(ctx, "certificate.inspect", auditRef(&c), fmt.Sprintf("passed=%t", passed))
	c.Rev = prev + 1
	return c, nil
}
