package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"certd/internal/apperr"
	"certd/internal/catalogue"
)

var _ catalogue.Repository = (*Store)(nil)

// CreateUnit implements catalogue.Repository.
func (s *Store) CreateUnit(ctx context.Context, u catalogue.Unit) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO units
		(code, name, issuing, seal_public_key, version, created_by, created_at, updated_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Code, u.Name, u.Issuing, u.SealPublicKey, u.Version,
		u.CreatedBy, millis(u.CreatedAt), u.UpdatedBy, millis(u.UpdatedAt))
	if isUniqueViolation(err) {
		return apperr.Conflictf("unit %s already exists", u.Code)
	}
	if err != nil {
		return fmt.Errorf("insert unit: %w", err)
	}
	return nil
}

// UpdateUnit implements catalogue.Repository.
func (s *Store) UpdateUnit(ctx context.Context, u catalogue.Unit, prev int) error {
	res, err := s.write.ExecContext(ctx, `UPDATE units SET name = ?, issuing = ?, seal_public_key = ?, version = ?,
		updated_by = ?, updated_at = ? WHERE code = ? AND version = ?`,
		u.Name, u.Issuing, u.SealPublicKey, u.Version, u.UpdatedBy, millis(u.UpdatedAt), u.Code, prev)
	return s.checkUpdated(ctx, res, err, "units", "unit", u.Code)
}

// checkUpdated turns an update that touched no row into NOT_FOUND or
// CONFLICT.
func (s *Store) checkUpdated(ctx context.Context, res sql.Result, err error, table, what, code string) error {
	if err != nil {
		return fmt.Errorf("update %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update %s: %w", what, err)
	}
	if n == 1 {
		return nil
	}
	var one int
	err = s.read.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE code = ?", code).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.NotFoundf("%s %s not found", what, code)
	}
	if err != nil {
		return fmt.Errorf("update %s: %w", what, err)
	}
	return apperr.Conflictf("%s %s was changed by someone else; read it again", what, code)
}

const unitCols = "code, name, issuing, seal_public_key, version, created_by, created_at, updated_by, updated_at"

func scanUnit(sc interface{ Scan(...any) error }) (catalogue.Unit, error) {
	var u catalogue.Unit
	var ca, ua int64
	err := sc.Scan(&u.Code, &u.Name, &u.Issuing, &u.SealPublicKey, &u.Version, &u.CreatedBy, &ca, &u.UpdatedBy, &ua)
	u.CreatedAt, u.UpdatedAt = fromMillis(ca), fromMillis(ua)
	return u, err
}

// GetUnit implements catalogue.Repository.
func (s *Store) GetUnit(ctx context.Context, code string) (catalogue.Unit, error) {
	u, err := scanUnit(s.read.QueryRowContext(ctx, "SELECT "+unitCols+" FROM units WHERE code = ?", code))
	if errors.Is(err, sql.ErrNoRows) {
		return u, apperr.NotFoundf("unit %s not found", code)
	}
	if err != nil {
		return u, fmt.Errorf("get unit: %w", err)
	}
	return u, nil
}

// ListUnits implements catalogue.Repository.
func (s *Store) ListUnits(ctx context.Context) ([]catalogue.Unit, error) {
	return list(ctx, s.read, "SELECT "+unitCols+" FROM units ORDER BY code", scanUnit)
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, db *pool, query string, scan func(interface{ Scan(...any) error }) (T, error), args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreateType implements catalogue.Repository.
func (s *Store) CreateType(ctx context.Context, t catalogue.CertificateType) error {
	fields, err := json.Marshal(t.Fields)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO certificate_types
		(code, name, issuer_code, category, fields, validity_months, version, created_by, created_at, updated_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Code, t.Name, t.IssuerCode, t.Category, string(fields), t.ValidityMonths, t.Version,
		t.CreatedBy, millis(t.CreatedAt), t.UpdatedBy, millis(t.UpdatedAt))
	if isUniqueViolation(err) {
		return apperr.Conflictf("certificate type %s already exists", t.Code)
	}
	if err != nil {
		return fmt.Errorf("insert certificate type: %w", err)
	}
	return nil
}

// UpdateType implements catalogue.Repository.
func (s *Store) UpdateType(ctx context.Context, t catalogue.CertificateType, prev int) error {
	fields, err := json.Marshal(t.Fields)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE certificate_types SET name = ?, issuer_code = ?, category = ?, fields = ?,
		validity_months = ?, version = ?, updated_by = ?, updated_at = ? WHERE code = ? AND version = ?`,
		t.Name, t.IssuerCode, t.Category, string(fields), t.ValidityMonths, t.Version, t.UpdatedBy, millis(t.UpdatedAt), t.Code, prev)
	return s.checkUpdated(ctx, res, err, "certificate_types", "certificate type", t.Code)
}

const typeCols = "code, name, issuer_code, category, fields, validity_months, version, created_by, created_at, updated_by, updated_at"

func scanType(sc interface{ Scan(...any) error }) (catalogue.CertificateType, error) {
	var t catalogue.CertificateType
	var fields string
	var vm sql.NullInt64
	var ca, ua int64
	if err := sc.Scan(&t.Code, &t.Name, &t.IssuerCode, &t.Category, &fields, &vm, &t.Version, &t.CreatedBy, &ca, &t.UpdatedBy, &ua); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = fromMillis(ca), fromMillis(ua)
	if vm.Valid {
		m := int(vm.Int64)
		t.ValidityMonths = &m
	}
	return t, json.Unmarshal([]byte(fields), &t.Fields)
}

// GetType implements catalogue.Repository.
func (s *Store) GetType(ctx context.Context, code string) (catalogue.CertificateType, error) {
	t, err := scanType(s.read.QueryRowContext(ctx, "SELECT "+typeCols+" FROM certificate_types WHERE code = ?", code))
	if errors.Is(err, sql.ErrNoRows) {
		return t, apperr.NotFoundf("certificate type %s not found", code)
	}
	if err != nil {
		return t, fmt.Errorf("get certificate type: %w", err)
	}
	return t, nil
}

// ListTypes implements catalogue.Repository.
func (s *Store) ListTypes(ctx context.Context) ([]catalogue.CertificateType, error) {
	return list(ctx, s.read, "SELECT "+typeCols+" FROM certificate_types ORDER BY code", scanType)
}

// CreateMatter implements catalogue.Repository.
func (s *Store) CreateMatter(ctx context.Context, m catalogue.Matter) error {
	rt, hu, err := matterLists(m)
	if err != nil {
		return err
	}
	df, err := json.Marshal(nonNil(m.DisclosedFields))
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO matters
		(code, name, required_types, handling_units, disclosed_fields, version, created_by, created_at, updated_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Code, m.Name, rt, hu, string(df), m.Version, m.CreatedBy, millis(m.CreatedAt), m.UpdatedBy, millis(m.UpdatedAt))
	if isUniqueViolation(err) {
		return apperr.Conflictf("matter %s already exists", m.Code)
	}
	if err != nil {
		return fmt.Errorf("insert matter: %w", err)
	}
	return nil
}

func matterLists(m catalogue.Matter) (string, string, error) {
	rt, err := json.Marshal(nonNil(m.RequiredTypes))
	if err != nil {
		return "", "", err
	}
	hu, err := json.Marshal(nonNil(m.HandlingUnits))
	return string(rt), string(hu), err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// UpdateMatter implements catalogue.Repository.
func (s *Store) UpdateMatter(ctx context.Context, m catalogue.Matter, prev int) error {
	rt, hu, err := matterLists(m)
	if err != nil {
		return err
	}
	df, err := json.Marshal(nonNil(m.DisclosedFields))
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE matters SET name = ?, required_types = ?, handling_units = ?, disclosed_fields = ?,
		version = ?, updated_by = ?, updated_at = ? WHERE code = ? AND version = ?`,
		m.Name, rt, hu, string(df), m.Version, m.UpdatedBy, millis(m.UpdatedAt), m.Code, prev)
	return s.checkUpdated(ctx, res, err, "matters", "matter", m.Code)
}

const matterCols = "code, name, required_types, handling_units, disclosed_fields, version, created_by, created_at, updated_by, updated_at"

func scanMatter(sc interface{ Scan(...any) error }) (catalogue.Matter, error) {
	var m catalogue.Matter
	var rt, hu, df string
	var ca, ua int64
	if err := sc.Scan(&m.Code, &m.Name, &rt, &hu, &df, &m.Version, &m.CreatedBy, &ca, &m.UpdatedBy, &ua); err != nil {
		return m, err
	}
	m.CreatedAt, m.UpdatedAt = fromMillis(ca), fromMillis(ua)
	for _, f := range []struct {
		src string
		dst *[]string
	}{{rt, &m.RequiredTypes}, {hu, &m.HandlingUnits}, {df, &m.DisclosedFields}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return m, err
		}
	}
	return m, nil
}

// GetMatter implements catalogue.Repository.
func (s *Store) GetMatter(ctx context.Context, code string) (catalogue.Matter, error) {
	m, err := scanMatter(s.read.QueryRowContext(ctx, "SELECT "+matterCols+" FROM matters WHERE code = ?", code))
	if errors.Is(err, sql.ErrNoRows) {
		return m, apperr.NotFoundf("matter %s not found", code)
	}
	if err != nil {
		return m, fmt.Errorf("get matter: %w", err)
	}
	return m, nil
}

// ListMatters implements catalogue.Repository.
func (s *Store) ListMatters(ctx context.Context) ([]catalogue.Matter, error) {
	return list(ctx, s.read, "SELECT "+matterCols+" FROM matters ORDER BY code", scanMatter)
}

// AppendChange implements catalogue.Repository.
func (s *Store) AppendChange(ctx context.Context, c catalogue.Change) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO catalogue_changes (kind, code, version, action, by, at, snapshot)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, code, version) DO NOTHING`,
		string(c.Kind), c.Code, c.Version, c.Action, c.By, millis(c.At), c.Snapshot)
	if err != nil {
		return fmt.Errorf("append catalogue change: %w", err)
	}
	return nil
}

// Changes implements catalogue.Repository.
func (s *Store) Changes(ctx context.Context, kind catalogue.EntityKind, code string) ([]catalogue.Change, error) {
	q := "SELECT seq, kind, code, version, action, by, at, snapshot FROM catalogue_changes WHERE kind = ?"
	args := []any{string(kind)}
	if code != "" {
		q += " AND code = ?"
		args = append(args, code)
	}
	return list(ctx, s.read, q+" ORDER BY seq", func(sc interface{ Scan(...any) error }) (catalogue.Change, error) {
		var c catalogue.Change
		var at int64
		err := sc.Scan(&c.Seq, &c.Kind, &c.Code, &c.Version, &c.Action, &c.By, &at, &c.Snapshot)
		c.At = fromMillis(at)
		return c, err
	}, args...)
}
