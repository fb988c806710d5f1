package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"certd/internal/apperr"
	"certd/internal/cases"
	"certd/internal/certificate"
)

const applicationCols = "id, holder_code, holder_name, holder_kind, matter_code, unit_code, note, submitted_at, submitted_by, expires_at, state, case_id, updated_at, rev"

// CreateApplication implements cases.Repository.
func (s *Store) CreateApplication(ctx context.Context, a cases.Application) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO applications (`+applicationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Holder.Code, a.Holder.Name, string(a.Holder.Kind), a.MatterCode, a.UnitCode, a.Note, millis(a.SubmittedAt),
		a.SubmittedBy, millis(a.ExpiresAt), string(a.State), a.CaseID, nullMillis(a.UpdatedAt), a.Rev)
	if isUniqueViolation(err) {
		return apperr.Conflictf("application %s exists already", a.ID)
	}
	if err != nil {
		return fmt.Errorf("insert application: %w", err)
	}
	return nil
}

func scanApplication(sc interface{ Scan(...any) error }) (cases.Application, error) {
	var a cases.Application
	var kind, state string
	var submitted, expires int64
	var updated sql.NullInt64
	err := sc.Scan(&a.ID, &a.Holder.Code, &a.Holder.Name, &kind, &a.MatterCode, &a.UnitCode, &a.Note, &submitted,
		&a.SubmittedBy, &expires, &state, &a.CaseID, &updated, &a.Rev)
	a.Holder.Kind, a.State = certificate.HolderKind(kind), cases.ApplicationState(state)
	a.SubmittedAt, a.ExpiresAt = fromMillis(submitted), fromMillis(expires)
	if updated.Valid {
		t := fromMillis(updated.Int64)
		a.UpdatedAt = &t
	}
	return a, err
}

// GetApplication implements cases.Repository.
func (s *Store) GetApplication(ctx context.Context, id string) (cases.Application, error) {
	a, err := scanApplication(s.read.QueryRowContext(ctx, "SELECT "+applicationCols+" FROM applications WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, apperr.NotFoundf("application %s not found", id)
	}
	if err != nil {
		return a, fmt.Errorf("get application: %w", err)
	}
	return a, nil
}

// UpdateApplication implements cases.Repository.
func (s *Store) UpdateApplication(ctx context.Context, a cases.Application, prevRev int) error {
	res, err := s.write.ExecContext(ctx, "UPDATE applications SET state = ?, case_id = ?, updated_at = ?, rev = ? WHERE id = ? AND rev = ?",
		string(a.State), a.CaseID, nullMillis(a.UpdatedAt), prevRev+1, a.ID, prevRev)
	if err != nil {
		return fmt.Errorf("update application: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.GetApplication(ctx, a.ID); err != nil {
		return err
	}
	return apperr.Conflictf("application %s was changed meanwhile", a.ID)
}

// HolderApplications implements cases.Repository.
func (s *Store) HolderApplications(ctx context.Context, holderCode string, limit int) ([]cases.Application, error) {
	return list(ctx, s.read, "SELECT "+applicationCols+" FROM applications WHERE holder_code = ? ORDER BY submitted_at DESC, id DESC LIMIT ?",
		scanApplication, holderCode, limit)
}
