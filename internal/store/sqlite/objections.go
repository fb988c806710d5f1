package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"certd/internal/apperr"
	"certd/internal/objection"
)

var _ objection.Repository = (*Store)(nil)

const objectionCols = `id, certificate_id, issuer_code, holder_code, case_id, filed_by, filed_by_org, filed_role,
	fields, description, state, resolution, corrected_id, filed_at, resolved_at, resolved_by, due_at, rev`

func scanObjection(sc interface{ Scan(...any) error }) (objection.Objection, error) {
	var o objection.Objection
	var fields, state string
	var filed, due int64
	var resolved sql.NullInt64
	err := sc.Scan(&o.ID, &o.CertificateID, &o.IssuerCode, &o.HolderCode, &o.CaseID, &o.FiledBy, &o.FiledByOrg, &o.FiledRole,
		&fields, &o.Description, &state, &o.Resolution, &o.CorrectedID, &filed, &resolved, &o.ResolvedBy, &due, &o.Rev)
	if err != nil {
		return o, err
	}
	o.State, o.FiledAt, o.DueAt = objection.State(state), fromMillis(filed), fromMillis(due)
	if resolved.Valid {
		t := fromMillis(resolved.Int64)
		o.ResolvedAt = &t
	}
	if err := json.Unmarshal([]byte(fields), &o.Fields); err != nil {
		return o, fmt.Errorf("objection %s: fields: %w", o.ID, err)
	}
	return o, nil
}

// CreateObjection implements objection.Repository.
func (s *Store) CreateObjection(ctx context.Context, o objection.Objection) error {
	if o.Fields == nil {
		o.Fields = []string{}
	}
	fields, err := json.Marshal(o.Fields)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO objections (`+objectionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		o.ID, o.CertificateID, o.IssuerCode, o.HolderCode, o.CaseID, o.FiledBy, o.FiledByOrg, o.FiledRole,
		string(fields), o.Description, string(o.State), o.Resolution, o.CorrectedID, millis(o.FiledAt),
		nullMillis(o.ResolvedAt), o.ResolvedBy, millis(o.DueAt))
	if isUniqueViolation(err) {
		return apperr.Conflictf("objection %s exists already", o.ID)
	}
	if err != nil {
		return fmt.Errorf("insert objection: %w", err)
	}
	return nil
}

// GetObjection implements objection.Repository.
func (s *Store) GetObjection(ctx context.Context, id string) (objection.Objection, error) {
	o, err := scanObjection(s.read.QueryRowContext(ctx, "SELECT "+objectionCols+" FROM objections WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, apperr.NotFoundf("objection %s not found", id)
	}
	if err != nil {
		return o, fmt.Errorf("get objection: %w", err)
	}
	return o, nil
}

// UpdateObjection implements objection.Repository.
func (s *Store) UpdateObjection(ctx context.Context, o objection.Objection, prevRev int) error {
	res, err := s.write.ExecContext(ctx, `UPDATE objections SET state = ?, resolution = ?, corrected_id = ?, resolved_at = ?,
		resolved_by = ?, rev = ? WHERE id = ? AND rev = ?`,
		string(o.State), o.Resolution, o.CorrectedID, nullMillis(o.ResolvedAt), o.ResolvedBy, prevRev+1, o.ID, prevRev)
	if err != nil {
		return fmt.Errorf("update objection: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.GetObjection(ctx, o.ID); err != nil {
		return err
	}
	return apperr.Conflictf("objection %s was changed meanwhile", o.ID)
}

// ListObjections implements objection.Repository.
func (s *Store) ListObjections(ctx context.Context, q objection.ObjectionQuery) ([]objection.Objection, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{
		{"issuer_code", q.IssuerCode}, {"holder_code", q.HolderCode}, {"state", string(q.State)},
	} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if q.FiledFrom != nil {
		where, args = append(where, "filed_at >= ?"), append(args, millis(*q.FiledFrom))
	}
	if q.FiledTo != nil {
		where, args = append(where, "filed_at < ?"), append(args, millis(*q.FiledTo))
	}
	query := "SELECT " + objectionCols + " FROM objections"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.read.QueryContext(ctx, query+" ORDER BY filed_at DESC, id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("list objections: %w", err)
	}
	defer rows.Close()
	out := []objection.Objection{}
	for rows.Next() {
		o, err := scanObjection(rows)
		if err != nil {
			return nil, fmt.Errorf("list objections: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
