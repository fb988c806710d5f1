package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"certd/internal/apperr"
	"certd/internal/cases"
	"certd/internal/certificate"
)

var _ cases.Repository = (*Store)(nil)

const caseCols = "id, case_no, unit_code, matter_code, holder_code, holder_name, holder_kind, opened_by, opened_at, closed_at, closed_by, " +
	"application_id, walk_in_reason, closes_at, holder_name_matches"

// CreateCase implements cases.Repository.
func (s *Store) CreateCase(ctx context.Context, c cases.Case) error {
	var matches any
	if c.HolderNameMatches != nil {
		matches = *c.HolderNameMatches
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO cases (`+caseCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?, ?, ?, ?)`,
		c.ID, c.CaseNo, c.UnitCode, c.MatterCode, c.Holder.Code, c.Holder.Name, string(c.Holder.Kind), c.OpenedBy, millis(c.OpenedAt),
		c.ApplicationID, c.WalkInReason, nullMillis(c.ClosesAt), matches)
	if isUniqueViolation(err) {
		return apperr.Conflictf("case %s already exists in unit %s", c.CaseNo, c.UnitCode)
	}
	if err != nil {
		return fmt.Errorf("insert case: %w", err)
	}
	return nil
}

// timePtr is a nullable millisecond column as a time.
func timePtr(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMillis(ms.Int64)
	return &t
}

func scanCase(sc interface{ Scan(...any) error }) (cases.Case, error) {
	var c cases.Case
	var kind string
	var opened int64
	var closed, closes sql.NullInt64
	var matches sql.NullBool
	err := sc.Scan(&c.ID, &c.CaseNo, &c.UnitCode, &c.MatterCode, &c.Holder.Code, &c.Holder.Name, &kind, &c.OpenedBy, &opened, &closed, &c.ClosedBy,
		&c.ApplicationID, &c.WalkInReason, &closes, &matches)
	c.Holder.Kind, c.OpenedAt = certificate.HolderKind(kind), fromMillis(opened)
	c.ClosedAt, c.ClosesAt = timePtr(closed), timePtr(closes)
	if matches.Valid {
		c.HolderNameMatches = &matches.Bool
	}
	return c, err
}

// GetCase implements cases.Repository.
func (s *Store) GetCase(ctx context.Context, id string) (cases.Case, error) {
	c, err := scanCase(s.read.QueryRowContext(ctx, "SELECT "+caseCols+" FROM cases WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, apperr.NotFoundf("case %s not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("get case: %w", err)
	}
	return c, nil
}

// CloseCase implements cases.Repository.
func (s *Store) CloseCase(ctx context.Context, id string, at time.Time, by string) error {
	res, err := s.write.ExecContext(ctx, "UPDATE cases SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL", millis(at), by, id)
	if err != nil {
		return fmt.Errorf("close case: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.GetCase(ctx, id); err != nil {
		return err
	}
	return apperr.Conflictf("case %s is closed already", id)
}

// ListCases implements cases.Repository.
func (s *Store) ListCases(ctx context.Context, unit string, openOnly bool, now time.Time, after *cases.Cursor, limit int) ([]cases.Case, error) {
	q := "SELECT " + caseCols + " FROM cases WHERE unit_code = ?"
	args := []any{unit}
	if openOnly {
		q += " AND closed_at IS NULL AND (closes_at IS NULL OR closes_at > ?)"
		args = append(args, millis(now))
	}
	if after != nil {
		q += " AND (opened_at < ? OR (opened_at = ? AND id < ?))"
		args = append(args, millis(after.OpenedAt), millis(after.OpenedAt), after.ID)
	}
	args = append(args, limit)
	return list(ctx, s.read, q+" ORDER BY opened_at DESC, id DESC LIMIT ?", scanCase, args...)
}

// AddPaperSubmission implements cases.Repository.
func (s *Store) AddPaperSubmission(ctx context.Context, p cases.PaperSubmission) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO paper_submissions
		(case_id, seq, unit_code, holder_code, type_code, reason, at, by, despite_available)
		VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM paper_submissions WHERE case_id = ?), ?, ?, ?, ?, ?, ?, ?)`,
		p.CaseID, p.CaseID, p.UnitCode, p.HolderCode, p.TypeCode, p.Reason, millis(p.At), p.By, p.DespiteAvailable)
	if err != nil {
		return fmt.Errorf("record paper submission: %w", err)
	}
	return nil
}

const paperCols = "case_id, unit_code, holder_code, type_code, reason, at, by, despite_available"

func scanPaper(sc interface{ Scan(...any) error }) (cases.PaperSubmission, error) {
	var p cases.PaperSubmission
	var at int64
	err := sc.Scan(&p.CaseID, &p.UnitCode, &p.HolderCode, &p.TypeCode, &p.Reason, &at, &p.By, &p.DespiteAvailable)
	p.At = fromMillis(at)
	return p, err
}

// PaperSubmissions implements cases.Repository.
func (s *Store) PaperSubmissions(ctx context.Context, caseID string) ([]cases.PaperSubmission, error) {
	return list(ctx, s.read, "SELECT "+paperCols+" FROM paper_submissions WHERE case_id = ? ORDER BY seq", scanPaper, caseID)
}

// UnitPaperSubmissions implements cases.Repository.
func (s *Store) UnitPaperSubmissions(ctx context.Context, unit string, from, to time.Time) ([]cases.PaperSubmission, error) {
	return list(ctx, s.read, "SELECT "+paperCols+" FROM paper_submissions WHERE unit_code = ? AND at >= ? AND at < ? ORDER BY at",
		scanPaper, unit, millis(from), millis(to))
}
