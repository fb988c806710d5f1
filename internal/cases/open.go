package cases

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/text"
)

// OpenInput opens a case: from an application (ApplicationID), or as a
// walk-in (HolderCode, MatterCode and WalkInReason).
type OpenInput struct {
	CaseNo        string
	HolderCode    string
	MatterCode    string
	ApplicationID string
	WalkInReason  string
	// HolderName is the name a walk-in's applicant gave; the case says
	// only whether the base registry confirms it.
	HolderName string
}

// Limits of a walk-in reason: at least 6 letters or digits, or 3 Chinese
// characters (text.Weight), at most 200 characters.
const (
	MinWalkInReason = 6
	MaxWalkInReason = 200
	maxHolderName   = 200
)

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Open opens a case in the caller's unit: from a pending application
// addressed to that unit, whose holder and matter the case takes, or as a
// walk-in with a reason. Either way the unit must handle the matter.
func (s *Service) Open(ctx context.Context, in OpenInput) (Case, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Case{}, err
	}
	in.CaseNo = strings.TrimSpace(in.CaseNo)
	if in.CaseNo == "" || utf8.RuneCountInString(in.CaseNo) > 64 {
		return Case{}, apperr.Invalid("caseNo must be 1 to 64 characters")
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	c := Case{CaseNo: in.CaseNo, UnitCode: p.Org, OpenedBy: p.Subject, OpenedAt: now}
	closes := s.cal.AfterWorkingDays(now, s.policy.CaseLimits().CaseWorkingDays).UTC().Truncate(time.Millisecond)
	c.ClosesAt = &closes
	if in.ApplicationID != "" {
		return s.openFromApplication(ctx, in, c)
	}
	return s.openWalkIn(ctx, p, in, c)
}

// openFromApplication opens c from the application in.ApplicationID.
//
// Without transactions the application is claimed first (PENDING →
// OPENED, naming the new case's id, on its revision: of two staff opening
// one application only one wins), then the case is stored. When storing
// fails the claim is undone. A crash between the two leaves an OPENED
// application whose case does not exist: opening it again finishes the
// job, under the case id it names.
func (s *Service) openFromApplication(ctx context.Context, in OpenInput, c Case) (Case, error) {
	if in.WalkInReason != "" {
		return Case{}, apperr.Invalid("a case opened from an application is no walk-in: leave walkInReason out")
	}
	a, err := s.application(ctx, in.ApplicationID)
	if err != nil {
		return Case{}, err
	}
	if (in.HolderCode != "" && in.HolderCode != a.Holder.Code) || (in.MatterCode != "" && in.MatterCode != a.MatterCode) {
		return Case{}, apperr.Invalid("holderCode and matterCode come from the application; leave them out or give the application's")
	}
	m, err := s.cat.LookupMatter(ctx, a.MatterCode)
	if err != nil {
		return Case{}, err
	}
	ref := audit.Ref{HolderCode: a.Holder.Code, MatterCode: a.MatterCode, Target: "application " + a.ID}
	if err := audit.Refused(ctx, "case.open", ref, s.policy.Authorize(ctx, "case.open", map[string]any{
		"matter": matterResource(&m), "holder": a.Holder.Code,
		"application": map[string]any{"unit": a.UnitCode, "state": string(a.State)},
	})); err != nil {
		return Case{}, err
	}
	c.MatterCode, c.Holder, c.ApplicationID = a.MatterCode, a.Holder, a.ID
	switch {
	case a.State == Pending:
		claimed := a
		claimed.State, claimed.CaseID, claimed.UpdatedAt = Opened, newID(), &c.OpenedAt
		if err := s.repo.UpdateApplication(ctx, claimed, a.Rev); err != nil {
			return Case{}, err
		}
		c.ID = claimed.CaseID
		if err := s.repo.CreateCase(ctx, c); err != nil {
			s.unclaim(ctx, claimed, a.Rev+1)
			return Case{}, err
		}
	case a.State == Opened && s.caseMissing(ctx, a.CaseID):
		c.ID = a.CaseID // a crash left the claim without its case
		if err := s.repo.CreateCase(ctx, c); err != nil {
			return Case{}, err
		}
	default:
		return Case{}, apperr.Conflictf("application %s is %s, not pending", a.ID, a.State)
	}
	audit.Wrote(ctx, audit.ActionCaseOpen, caseRef(&c), "from application "+a.ID)
	return c, nil
}

// unclaim returns a claimed application to PENDING when its case could
// not be stored; should this fail too, opening the application again
// finishes the job (see openFromApplication).
func (s *Service) unclaim(ctx context.Context, claimed Application, rev int) {
	claimed.State, claimed.CaseID, claimed.UpdatedAt = Pending, "", nil
	_ = s.repo.UpdateApplication(context.WithoutCancel(ctx), claimed, rev)
}

// caseMissing reports whether no case has the id (an OPENED application's
// case whose creation a crash interrupted).
func (s *Service) caseMissing(ctx context.Context, id string) bool {
	_, err := s.repo.GetCase(ctx, id)
	return errors.Is(err, apperr.ErrNotFound)
}

// openWalkIn opens c for a holder who came without an application.
func (s *Service) openWalkIn(ctx context.Context, p *identity.Principal, in OpenInput, c Case) (Case, error) {
	if in.HolderCode == "" || in.MatterCode == "" || strings.TrimSpace(in.WalkInReason) == "" {
		return Case{}, apperr.Invalid("open a case from an application (applicationId), or as a walk-in with holderCode, matterCode and walkInReason")
	}
	reason, err := text.Check("the walk-in reason", in.WalkInReason, MinWalkInReason, MaxWalkInReason)
	if err != nil {
		return Case{}, err
	}
	m, err := s.cat.LookupMatter(ctx, in.MatterCode)
	if apperr.CodeIs(err, apperr.NotFound) {
		return Case{}, apperr.Invalid("matter %q is not in the catalogue", apperr.Truncate(in.MatterCode, 64))
	} else if err != nil {
		return Case{}, err
	}
	if err := audit.Refused(ctx, "case.open", audit.Ref{HolderCode: in.HolderCode, MatterCode: m.Code}, s.policy.Authorize(ctx, "case.open", map[string]any{
		"matter": matterResource(&m), "holder": in.HolderCode, "walk_in": map[string]any{"reason": reason},
	})); err != nil {
		return Case{}, err
	}
	if c.Holder, c.HolderNameMatches, err = s.walkInHolder(ctx, in.HolderCode, in.HolderName); err != nil {
		return Case{}, err
	}
	c.ID, c.MatterCode, c.WalkInReason = newID(), m.Code, reason
	if err := s.takeWalkIn(ctx, p, &c); err != nil {
		return Case{}, err
	}
	if err := s.repo.CreateCase(ctx, c); err != nil {
		// Nothing was opened: the slot goes back to the quota. (Should a
		// crash come first, the slot stays taken and supervisors see a
		// walk-in that was never opened.)
		_ = s.repo.RemoveWalkIn(context.WithoutCancel(ctx), c.ID)
		return Case{}, err
	}
	// The reason is the clerk's text: it stays with the case, which
	// supervisors review (casesForReview).
	audit.Wrote(ctx, audit.ActionCaseOpen, caseRef(&c), "walk-in")
	return c, nil
}

// walkInHolderOf is the holder a walk-in's caller brought.
func walkInHolderOf(w WalkIn) certificate.Holder {
	kind, _ := holderKind(w.HolderCode)
	return certificate.Holder{Code: w.HolderCode, Name: w.HolderName, Kind: kind}
}

func matterResource(m *catalogue.Matter) map[string]any {
	return map[string]any{"code": m.Code, "handling_units": strs(m.HandlingUnits), "required_types": strs(m.RequiredTypes)}
}

// caseRef names a case in the audit log; the holder's code makes the
// opening part of the holder's own access log.
func caseRef(c *Case) audit.Ref {
	return audit.Ref{CaseID: c.ID, HolderCode: c.Holder.Code, MatterCode: c.MatterCode}
}

// walkInHolder checks a walk-in's holder code and takes the name the
// caller gave, never the base registry's: the registry only confirms it
// or not. An unknown code and a known one under another name answer
// alike (false); without a name there is no answer (nil).
func (s *Service) walkInHolder(ctx context.Context, code, name string) (certificate.Holder, *bool, error) {
	kind, err := holderKind(code)
	if err != nil {
		return certificate.Holder{}, nil, err
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxHolderName || !utf8.ValidString(name) {
		return certificate.Holder{}, nil, apperr.Invalid("holder name must be valid text of at most %d characters", maxHolderName)
	}
	h := certificate.Holder{Code: code, Name: name, Kind: kind}
	if name == "" {
		return h, nil, nil
	}
	e, err := s.registry.RegistryEntry(ctx, code)
	if err != nil && !apperr.CodeIs(err, apperr.NotFound) {
		return certificate.Holder{}, nil, err
	}
	matches := err == nil && e.Name == name
	return h, &matches, nil
}
