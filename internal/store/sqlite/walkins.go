package sqlite

import (
	"context"
	"fmt"

	"certd/internal/apperr"
	"certd/internal/cases"
)

const walkInCols = "id, slot, alert, day, at, subject, unit_code, case_no, holder_code, holder_name, matter_code, reason, refusals"

// CountWalkIns implements cases.Repository.
func (s *Store) CountWalkIns(ctx context.Context, subject, day string) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM walk_ins WHERE subject = ? AND day = ? AND alert = 0", subject, day).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count walk-ins: %w", err)
	}
	return n, nil
}

func walkInArgs(w cases.WalkIn) []any {
	return []any{w.ID, w.Slot, w.Alert, w.Day, millis(w.At), w.Subject, w.UnitCode, w.CaseNo, w.HolderCode, w.HolderName,
		w.MatterCode, w.Reason, w.Refusals}
}

// AddWalkIn implements cases.Repository.
func (s *Store) AddWalkIn(ctx context.Context, w cases.WalkIn) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO walk_ins ("+walkInCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", walkInArgs(w)...)
	if isUniqueViolation(err) {
		return apperr.Conflictf("walk-in slot %s is taken", w.Slot)
	}
	if err != nil {
		return fmt.Errorf("insert walk-in: %w", err)
	}
	return nil
}

// RemoveWalkIn implements cases.Repository.
func (s *Store) RemoveWalkIn(ctx context.Context, id string) error {
	if _, err := s.write.ExecContext(ctx, "DELETE FROM walk_ins WHERE id = ?", id); err != nil {
		return fmt.Errorf("remove walk-in: %w", err)
	}
	return nil
}

// RecordWalkInAlert implements cases.Repository: one statement inserts the
// alert or counts one more refusal on the one its slot has.
func (s *Store) RecordWalkInAlert(ctx context.Context, w cases.WalkIn) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO walk_ins ("+walkInCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (slot) DO UPDATE SET refusals = refusals + 1", walkInArgs(w)...)
	if err != nil {
		return fmt.Errorf("record walk-in alert: %w", err)
	}
	return nil
}

func scanWalkIn(sc interface{ Scan(...any) error }) (cases.WalkIn, error) {
	var w cases.WalkIn
	var at int64
	err := sc.Scan(&w.ID, &w.Slot, &w.Alert, &w.Day, &at, &w.Subject, &w.UnitCode, &w.CaseNo, &w.HolderCode, &w.HolderName,
		&w.MatterCode, &w.Reason, &w.Refusals)
	w.At = fromMillis(at)
	return w, err
}

// WalkIns implements cases.Repository.
func (s *Store) WalkIns(ctx context.Context, after *cases.Cursor, limit int) ([]cases.WalkIn, error) {
	q := "SELECT " + walkInCols + " FROM walk_ins"
	var args []any
	if after != nil {
		// The first term bounds the index range; the second is the keyset.
		at := millis(after.OpenedAt)
		q += " WHERE at <= ? AND (at < ? OR (at = ? AND id < ?))"
		args = append(args, at, at, at, after.ID)
	}
	args = append(args, limit)
	return list(ctx, s.read, q+" ORDER BY at DESC, id DESC LIMIT ?", scanWalkIn, args...)
}
