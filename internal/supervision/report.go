// Package supervision is the supervision report of 第十九条 and 第二十条:
// per unit, the licences it generated and how many late (第七条), its
// staff's reads of licence data and the denied ones, paper it asked for
// although a citable e-licence existed (第二十条(一)), and the objections to
// its licences still open and overdue (第十七条).
package supervision

import (
	"context"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
)

// UnitRow is one unit's line of the report.
type UnitRow struct {
	Unit                  catalogue.Unit
	Issued, IssuedLate    int
	Accesses, Denials     int
	PaperDespiteAvailable int
	ObjectionsOpen        int
	ObjectionsOverdue     int
}

// Report covers the dates From to To, both included, in the city.
type Report struct {
	From, To time.Time
	Units    []UnitRow
}

// Sources are where the figures come from.
type Sources struct {
	Units interface {
		ListUnits(context.Context) ([]catalogue.Unit, error)
	}
	Licences interface {
		IssueStats(ctx context.Context, from, to time.Time) (map[string]certificate.IssueStat, error)
	}
	Audit interface {
		AccessStats(ctx context.Context, from, to time.Time) (map[string]audit.AccessStat, error)
	}
	Paper interface {
		UnitPaperSubmissions(ctx context.Context, unit string, from, to time.Time) ([]cases.PaperSubmission, error)
	}
	Objections interface {
		Stats(ctx context.Context, issuer string, now time.Time) (int, int, error)
	}
	Authz interface {
		Authorize(ctx context.Context, action string, resource map[string]any) error
	}
	Loc *time.Location
	Now func() time.Time
}

// Service makes supervision reports.
type Service struct{ src Sources }

// NewService returns the report service.
func NewService(src Sources) *Service {
	if src.Now == nil {
		src.Now = time.Now
	}
	return &Service{src: src}
}

// MaxDays bounds a report's period.
const MaxDays = 366

// Report builds the report for the dates from..to (YYYY-MM-DD dates, both
// included, in the city's time zone), for the digital office and
// supervisors.
func (s *Service) Report(ctx context.Context, from, to time.Time) (Report, error) {
	if err := s.src.Authz.Authorize(ctx, "supervision.report", map[string]any{
		"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly)}); err != nil {
		return Report{}, audit.Refused(ctx, "supervision.report", audit.Ref{Target: "supervision report"}, err)
	}
	if to.Before(from) {
		return Report{}, apperr.Invalid("to must not be before from")
	}
	if to.Sub(from) > MaxDays*24*time.Hour {
		return Report{}, apperr.Invalid("a report covers at most %d days", MaxDays)
	}
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, s.src.Loc)
	end := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, s.src.Loc).AddDate(0, 0, 1)
	units, err := s.src.Units.ListUnits(ctx)
	if err != nil {
		return Report{}, err
	}
	issued, err := s.src.Licences.IssueStats(ctx, start, end)
	if err != nil {
		return Report{}, err
	}
	access, err := s.src.Audit.AccessStats(ctx, start, end)
	if err != nil {
		return Report{}, err
	}
	now := s.src.Now()
	rep := Report{From: from, To: to}
	for _, u := range units {
		row := UnitRow{Unit: u, Issued: issued[u.Code].Issued, IssuedLate: issued[u.Code].Late,
			Accesses: access[u.Code].Allowed, Denials: access[u.Code].Denied}
		papers, err := s.src.Paper.UnitPaperSubmissions(ctx, u.Code, start, end)
		if err != nil {
			return Report{}, err
		}
		for _, p := range papers {
			if p.DespiteAvailable {
				row.PaperDespiteAvailable++
			}
		}
		if u.Issuing {
			if row.ObjectionsOpen, row.ObjectionsOverdue, err = s.src.Objections.Stats(ctx, u.Code, now); err != nil {
				return Report{}, err
			}
		}
		rep.Units = append(rep.Units, row)
	}
	audit.Wrote(ctx, "supervision.report", audit.Ref{Target: "supervision report"}, start.Format(time.DateOnly)+" to "+to.Format(time.DateOnly))
	return rep, nil
}
