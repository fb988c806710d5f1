package cases

import (
	"context"
	"errors"
	"fmt"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/identity"
)

// WalkIn is what supervisors review (casesForReview): a walk-in case, in
// the slot of its opener's daily quota it took, or an alert, a burst of
// walk-ins past that quota, all refused.
type WalkIn struct {
	// ID is the walk-in case's id; an alert's own id.
	ID string
	// Slot is unique: "case/<day>/<n>/<subject>", the n-th walk-in of the
	// person that day (n up to the quota), or "alert/<day>/<subject>", the
	// one alert of a person's day.
	Slot     string
	Alert    bool
	Day      string    // the city's date, YYYY-MM-DD
	At       time.Time // when the case was opened; an alert's first refusal
	Subject  string    // who opened it, or tried to
	UnitCode string
	// CaseNo, HolderCode, HolderName, MatterCode and Reason are what the
	// caller brought: of the case, or of an alert's first refused try.
	CaseNo     string
	HolderCode string
	HolderName string
	MatterCode string
	Reason     string
	// Refusals counts an alert's refused tries (at least this many: on a
	// store without atomic updates concurrent ones may count as one).
	Refusals int
}

// slot names the n-th walk-in of subject's day, or (n 0) the day's alert.
func slot(day string, n int, subject string) string {
	if n == 0 {
		return "alert/" + day + "/" + subject
	}
	return fmt.Sprintf("case/%s/%d/%s", day, n, subject)
}

// takeWalkIn takes the next free slot of the caller's daily quota for the
// walk-in case c (which has its id): after those the store counts, one by
// one, since another request may take a slot meanwhile. Past the quota
// the attempt is refused (RATE_LIMITED) and raised as an alert.
func (s *Service) takeWalkIn(ctx context.Context, p *identity.Principal, c *Case) error {
	quota := s.policy.CaseLimits().WalkInDailyQuota
	local := c.OpenedAt.In(s.cal.Loc)
	day := local.Format(time.DateOnly)
	w := WalkIn{ID: c.ID, Day: day, At: c.OpenedAt, Subject: p.Subject, UnitCode: c.UnitCode, CaseNo: c.CaseNo,
		HolderCode: c.Holder.Code, HolderName: c.Holder.Name, MatterCode: c.MatterCode, Reason: c.WalkInReason}
	n, err := s.repo.CountWalkIns(ctx, p.Subject, day)
	if err != nil {
		return err
	}
	for n++; n <= quota; n++ {
		w.Slot = slot(day, n, p.Subject)
		err := s.repo.AddWalkIn(ctx, w)
		if err == nil {
			return nil
		}
		if !errors.Is(err, apperr.ErrConflict) {
			return err
		}
	}
	// Past the quota: refused, and an alert for supervisors.
	w.ID, w.Slot, w.Alert, w.Refusals = newID(), slot(day, 0, p.Subject), true, 1
	if err := s.repo.RecordWalkInAlert(ctx, w); err != nil {
		return err
	}
	msg := fmt.Sprintf("walk-in daily quota of %d cases reached: open cases from the holders' applications, or ask again tomorrow; supervisors review walk-ins", quota)
	audit.TrailFrom(ctx).Deny("case.open", caseRef(c), msg)
	midnight := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, s.cal.Loc)
	return apperr.RateLimitedAfter(midnight.Sub(local), "%s", msg)
}

// Review lists what supervisors review, newest first: walk-in cases as
// they stand, and alerts of bursts past the daily quota as cases that
// were never opened (Case.Alert).
func (s *Service) Review(ctx context.Context, first *int, after *Cursor) ([]Case, error) {
	if _, err := identity.Require(ctx); err != nil {
		return nil, err
	}
	if err := s.policy.Authorize(ctx, "case.review", nil); err != nil {
		return nil, audit.Refused(ctx, "case.review", audit.Ref{Target: "cases for review"}, err)
	}
	n := DefaultPage
	if first != nil {
		if *first < 0 {
			return nil, apperr.Invalid("first must not be negative")
		}
		n = min(*first, MaxPage)
	}
	ws, err := s.repo.WalkIns(ctx, after, n)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Case, 0, len(ws))
	for _, w := range ws {
		c, err := s.repo.GetCase(ctx, w.ID)
		switch {
		case err == nil && !w.Alert:
			out = append(out, s.asOf(c, now))
			continue
		case err != nil && !errors.Is(err, apperr.ErrNotFound):
			return nil, err
		}
		// An alert, or a slot whose case a crash kept from being stored:
		// never opened.
		at := w.At
		out = append(out, Case{ID: w.ID, CaseNo: w.CaseNo, UnitCode: w.UnitCode, MatterCode: w.MatterCode,
			Holder: walkInHolderOf(w), OpenedBy: w.Subject, OpenedAt: w.At, ClosedAt: &at, ClosesAt: &at,
			WalkInReason: w.Reason, Alert: w.Alert, RefusedAttempts: w.Refusals})
	}
	audit.Wrote(ctx, "case.review", audit.Ref{Target: "cases for review"}, fmt.Sprintf("%d listed", len(out)))
	return out, nil
}
