package cases

import (
	"context"
	"slices"
	"strings"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/certificate"
	"certd/internal/codes"
	"certd/internal/identity"
	"certd/internal/text"
)

// ApplicationState is where an application stands.
type ApplicationState string

// Application states. Expired is never stored: a pending application past
// its ExpiresAt reads as expired.
const (
	Pending   ApplicationState = "PENDING"
	Opened    ApplicationState = "OPENED"
	Withdrawn ApplicationState = "WITHDRAWN"
	Expired   ApplicationState = "EXPIRED"
)

// Application is what a holder submitted to a unit for a matter, online or
// through the online service hall; staff of that unit open a case from it.
type Application struct {
	ID          string
	Holder      certificate.Holder
	MatterCode  string
	UnitCode    string
	Note        string
	SubmittedAt time.Time
	// SubmittedBy is the token subject that submitted it: the holder, or
	// the online service hall's client.
	SubmittedBy string
	// ExpiresAt is when a pending application stops waiting (policy:
	// data.certd.cases.application_working_days).
	ExpiresAt time.Time
	State     ApplicationState
	// CaseID is the case opened from it, once OPENED.
	CaseID string
	// UpdatedAt is when it was opened or withdrawn.
	UpdatedAt *time.Time
	// Rev guards updates: UpdateApplication applies only to the revision
	// the caller read.
	Rev int
}

// at reads a's state at now: a pending application past its expiry is
// expired.
func (a Application) at(now time.Time) Application {
	if a.State == Pending && !now.Before(a.ExpiresAt) {
		a.State = Expired
	}
	return a
}

// ApplicationInput submits an application. HolderCode is only for the
// online service hall, which names the holder it authenticated; a holder
// applies for themselves.
type ApplicationInput struct {
	MatterCode string
	UnitCode   string
	HolderCode string
	Note       string
}

// Limits of an application.
const (
	MaxNote             = 500 // characters
	MaxMyApplications   = 100 // me.applications lists the newest
	applicationIDLength = 32
)

// Submit stores a pending application of the caller (a holder) or of the
// holder the online service hall names, to a unit that handles the matter.
func (s *Service) Submit(ctx context.Context, in ApplicationInput) (Application, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Application{}, err
	}
	holder := strings.TrimSpace(in.HolderCode)
	if holder == "" {
		holder = p.Holder
	}
	m, err := s.cat.LookupMatter(ctx, in.MatterCode)
	if apperr.CodeIs(err, apperr.NotFound) {
		return Application{}, apperr.Invalid("matter %q is not in the catalogue", apperr.Truncate(in.MatterCode, 64))
	} else if err != nil {
		return Application{}, err
	}
	if err := audit.Refused(ctx, "application.submit", audit.Ref{HolderCode: holder, MatterCode: m.Code, Target: "application"},
		s.policy.Authorize(ctx, "application.submit", map[string]any{"holder": holder, "unit": in.UnitCode, "matter": m.Code})); err != nil {
		return Application{}, err
	}
	kind, err := holderKind(holder)
	if err != nil {
		return Application{}, err
	}
	u, err := s.cat.LookupUnit(ctx, in.UnitCode)
	if apperr.CodeIs(err, apperr.NotFound) {
		return Application{}, apperr.Invalid("unit %q is not in the catalogue", apperr.Truncate(in.UnitCode, 64))
	} else if err != nil {
		return Application{}, err
	}
	if !slices.Contains(m.HandlingUnits, u.Code) {
		return Application{}, apperr.Invalid("unit %s does not handle matter %s", u.Code, m.Code)
	}
	note, err := text.Check("the note", in.Note, 0, MaxNote)
	if err != nil {
		return Application{}, err
	}
	// The applicant's name: the base registry's, else the holder's own
	// token's. The unit handling the application may know it.
	name := ""
	if e, err := s.registry.RegistryEntry(ctx, holder); err == nil {
		name = e.Name
	} else if !apperr.CodeIs(err, apperr.NotFound) {
		return Application{}, err
	} else if p.Holder == holder {
		name = p.Name
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	a := Application{ID: newID(), Holder: certificate.Holder{Code: holder, Name: name, Kind: kind}, MatterCode: m.Code,
		UnitCode: u.Code, Note: note, SubmittedAt: now, SubmittedBy: p.Subject, State: Pending,
		ExpiresAt: s.cal.AfterWorkingDays(now, s.policy.CaseLimits().ApplicationWorkingDays).UTC().Truncate(time.Millisecond)}
	if err := s.repo.CreateApplication(ctx, a); err != nil {
		return Application{}, err
	}
	audit.Wrote(ctx, "application.submit", applicationRef(&a), "to unit "+a.UnitCode)
	return a, nil
}

// applicationRef names an application in the audit log.
func applicationRef(a *Application) audit.Ref {
	return audit.Ref{HolderCode: a.Holder.Code, MatterCode: a.MatterCode, Target: "application " + a.ID}
}

// holderKind tells a holder code's kind from its check character, or
// INVALID_INPUT.
func holderKind(code string) (certificate.HolderKind, error) {
	switch {
	case codes.ValidResidentID(code):
		return certificate.Person, nil
	case codes.ValidCreditCode(code):
		return certificate.Organization, nil
	}
	return "", apperr.Invalid("holder %q is neither a valid resident ID number nor a valid credit code", apperr.Truncate(code, 64))
}

// Withdraw withdraws a pending application; the holder, or the online
// service hall for them.
func (s *Service) Withdraw(ctx context.Context, id string) (Application, error) {
	if _, err := identity.Require(ctx); err != nil {
		return Application{}, err
	}
	a, err := s.application(ctx, id)
	if err != nil {
		return Application{}, err
	}
	if err := audit.Refused(ctx, "application.withdraw", applicationRef(&a), s.policy.Authorize(ctx, "application.withdraw",
		map[string]any{"application": map[string]any{"holder": a.Holder.Code, "unit": a.UnitCode}})); err != nil {
		// Another holder's application is as unknown as a missing one.
		return Application{}, apperr.NotFoundf("application %s not found", id)
	}
	if a.State != Pending {
		return Application{}, apperr.Conflictf("application %s is %s, not pending", a.ID, a.State)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	prev := a.Rev
	a.State, a.UpdatedAt = Withdrawn, &now
	if err := s.repo.UpdateApplication(ctx, a, prev); err != nil {
		return Application{}, err
	}
	a.Rev = prev + 1
	audit.Wrote(ctx, "application.withdraw", applicationRef(&a), "")
	return a, nil
}

// application reads an application by id as it stands now.
func (s *Service) application(ctx context.Context, id string) (Application, error) {
	if len(id) != applicationIDLength {
		return Application{}, apperr.NotFoundf("application %s not found", apperr.Truncate(id, 64))
	}
	a, err := s.repo.GetApplication(ctx, id)
	if err != nil {
		return Application{}, err
	}
	return a.at(s.now()), nil
}

// Applications lists the caller's own applications (holders), newest
// first.
func (s *Service) Applications(ctx context.Context) ([]Application, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.policy.Authorize(ctx, "application.mine", map[string]any{"holder": p.Holder}); err != nil {
		return nil, audit.Refused(ctx, "application.mine", audit.Ref{HolderCode: p.Holder, Target: "applications"}, err)
	}
	as, err := s.repo.HolderApplications(ctx, p.Holder, MaxMyApplications)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for i := range as {
		as[i] = as[i].at(now)
	}
	return as, nil
}
