package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/policyadmin"
)

var _ policyadmin.Repository = (*Store)(nil)

// moduleJSON is one module in policy_versions.modules.
type moduleJSON struct {
	Path string `json:"path"`
	Rego string `json:"rego"`
}

// InsertPolicy implements policyadmin.Repository.
func (s *Store) InsertPolicy(ctx context.Context, v policyadmin.Version) error {
	mods := make([]moduleJSON, len(v.Modules))
	for i, m := range v.Modules {
		mods[i] = moduleJSON{Path: m.Path, Rego: m.Rego}
	}
	b, err := json.Marshal(mods)
	if err != nil {
		return fmt.Errorf("encode policy modules: %w", err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO policy_versions
		(version, modules, message, author, published_at, tests_passed, state, based_on, rollback_of,
		 approved_by, approved_at, rejected_by, rejected_at, reject_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Version, string(b), v.Message, v.Author, millis(v.PublishedAt), v.TestsPassed, string(v.State), v.BasedOn, v.RollbackOf,
		nullString(v.ApprovedBy), nullMillis(v.ApprovedAt), nullString(v.RejectedBy), nullMillis(v.RejectedAt), nullString(v.RejectReason))
	if isUniqueViolation(err) {
		return apperr.Conflictf("policy version %d already exists", v.Version)
	}
	if err != nil {
		return fmt.Errorf("insert policy version: %w", err)
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const policyColumns = `version, modules, message, author, published_at, tests_passed, state, based_on, rollback_of,
	approved_by, approved_at, rejected_by, rejected_at, reject_reason`

// PolicyVersions implements policyadmin.Repository.
func (s *Store) PolicyVersions(ctx context.Context) ([]policyadmin.Version, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+policyColumns+` FROM policy_versions ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("list policy versions: %w", err)
	}
	defer rows.Close()
	var out []policyadmin.Version
	for rows.Next() {
		v, err := scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list policy versions: %w", err)
	}
	return out, nil
}

// PolicyVersion implements policyadmin.Repository.
func (s *Store) PolicyVersion(ctx context.Context, version int) (policyadmin.Version, error) {
	return policyVersion(ctx, s.read, version)
}

// policyVersion reads one version through q (the reader, or a write
// transaction).
func policyVersion(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, version int) (policyadmin.Version, error) {
	v, err := scanPolicy(q.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policy_versions WHERE version = ?`, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, apperr.NotFoundf("policy version %d not found", version)
	}
	return v, err
}

func scanPolicy(row interface{ Scan(...any) error }) (policyadmin.Version, error) {
	var v policyadmin.Version
	var mods, state string
	var at int64
	var approvedBy, rejectedBy, reason sql.NullString
	var approvedAt, rejectedAt sql.NullInt64
	if err := row.Scan(&v.Version, &mods, &v.Message, &v.Author, &at, &v.TestsPassed, &state, &v.BasedOn, &v.RollbackOf,
		&approvedBy, &approvedAt, &rejectedBy, &rejectedAt, &reason); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return v, err
		}
		return v, fmt.Errorf("read policy version: %w", err)
	}
	var ms []moduleJSON
	if err := json.Unmarshal([]byte(mods), &ms); err != nil {
		return v, fmt.Errorf("decode modules of policy version %d: %w", v.Version, err)
	}
	v.Modules = make([]authz.Module, len(ms))
	for i, m := range ms {
		v.Modules[i] = authz.Module{Path: m.Path, Rego: m.Rego}
	}
	v.PublishedAt = fromMillis(at)
	v.State = policyadmin.State(state)
	v.ApprovedBy, v.RejectedBy, v.RejectReason = approvedBy.String, rejectedBy.String, reason.String
	v.ApprovedAt, v.RejectedAt = optMillis(approvedAt), optMillis(rejectedAt)
	return v, nil
}

func optMillis(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMillis(n.Int64)
	return &t
}

// ActivePolicy implements policyadmin.Repository.
func (s *Store) ActivePolicy(ctx context.Context) (version, rev int, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT version, rev FROM policy_active WHERE id = 1`).Scan(&version, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, apperr.NotFoundf("no active policy")
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read active policy: %w", err)
	}
	return version, rev, nil
}

// ActivatePolicy implements policyadmin.Repository. Writes go through the
// one writer connection in a BEGIN IMMEDIATE transaction, so the checks,
// the pointer's move and the states change together or not at all.
func (s *Store) ActivatePolicy(ctx context.Context, vd policyadmin.Verdict, prevRev int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := checkProposed(ctx, tx, vd.Version)
		if err != nil {
			return err
		}
		var prev, rev int
		err = tx.QueryRowContext(ctx, `SELECT version, rev FROM policy_active WHERE id = 1`).Scan(&prev, &rev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read active policy: %w", err)
		}
		if rev != prevRev {
			return policyadmin.PointerMoved(prevRev)
		}
		if prevRev == 0 {
			_, err = tx.ExecContext(ctx, `INSERT INTO policy_active (id, version, rev) VALUES (1, ?, 1)`, vd.Version)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE policy_active SET version = ?, rev = rev + 1 WHERE id = 1`, vd.Version)
		}
		if err != nil {
			return fmt.Errorf("move active policy pointer: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE policy_versions SET state = 'ACTIVE', approved_by = ?, approved_at = ? WHERE version = ?`,
			vd.By, millis(vd.At), vd.Version); err != nil {
			return fmt.Errorf("mark policy version %d active: %w", vd.Version, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE policy_versions SET state = 'SUPERSEDED' WHERE version = ? AND state = 'ACTIVE'`,
			prev); err != nil {
			return fmt.Errorf("mark policy version %d superseded: %w", prev, err)
		}
		return nil
	})
}

// RejectPolicy implements policyadmin.Repository.
func (s *Store) RejectPolicy(ctx context.Context, vd policyadmin.Verdict) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkProposed(ctx, tx, vd.Version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE policy_versions SET state = 'REJECTED', rejected_by = ?, rejected_at = ?, reject_reason = ?
			WHERE version = ? AND state = 'PROPOSED'`, vd.By, millis(vd.At), vd.Reason, vd.Version)
		if err != nil {
			return fmt.Errorf("reject policy version %d: %w", vd.Version, err)
		}
		return nil
	})
}

// checkProposed returns NOT_FOUND unless version is stored and CONFLICT
// unless it is PROPOSED.
func checkProposed(ctx context.Context, tx *sql.Tx, version int) error {
	v, err := policyVersion(ctx, tx, version)
	if err == nil && v.State != policyadmin.Proposed {
		err = policyadmin.NotProposed(v)
	}
	return err
}
