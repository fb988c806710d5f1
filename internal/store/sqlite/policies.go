package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

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
		(version, modules, message, author, published_at, tests_passed) VALUES (?, ?, ?, ?, ?, ?)`,
		v.Version, string(b), v.Message, v.Author, millis(v.PublishedAt), v.TestsPassed)
	if isUniqueViolation(err) {
		return apperr.Conflictf("policy version %d already exists", v.Version)
	}
	if err != nil {
		return fmt.Errorf("insert policy version: %w", err)
	}
	return nil
}

const policyColumns = `version, modules, message, author, published_at, tests_passed`

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
	v, err := scanPolicy(s.read.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policy_versions WHERE version = ?`, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, apperr.NotFoundf("policy version %d not found", version)
	}
	return v, err
}

func scanPolicy(row interface{ Scan(...any) error }) (policyadmin.Version, error) {
	var v policyadmin.Version
	var mods string
	var at int64
	if err := row.Scan(&v.Version, &mods, &v.Message, &v.Author, &at, &v.TestsPassed); err != nil {
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
	return v, nil
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

// SetActivePolicy implements policyadmin.Repository. Writes go through
// the one writer connection in a BEGIN IMMEDIATE transaction, so the
// revision check and the move are atomic.
func (s *Store) SetActivePolicy(ctx context.Context, version, prevRev int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM policy_versions WHERE version = ?`, version).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.NotFoundf("policy version %d not found", version)
		}
		if err != nil {
			return fmt.Errorf("set active policy: %w", err)
		}
		if prevRev == 0 {
			_, err := tx.ExecContext(ctx, `INSERT INTO policy_active (id, version, rev) VALUES (1, ?, 1)`, version)
			if isUniqueViolation(err) {
				return apperr.Conflictf("the active policy pointer exists already")
			}
			if err != nil {
				return fmt.Errorf("create active policy pointer: %w", err)
			}
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE policy_active SET version = ?, rev = rev + 1 WHERE id = 1 AND rev = ?`, version, prevRev)
		if err != nil {
			return fmt.Errorf("move active policy pointer: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("move active policy pointer: %w", err)
		} else if n != 1 {
			return apperr.Conflictf("the active policy was changed by someone else; read it again")
		}
		return nil
	})
}
