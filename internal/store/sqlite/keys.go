package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"certd/internal/apperr"
	"certd/internal/keyring"
	"certd/internal/registry"
)

var (
	_ keyring.Repository  = (*Store)(nil)
	_ registry.Repository = (*Store)(nil)
)

// PutSealKey implements keyring.Repository.
func (s *Store) PutSealKey(ctx context.Context, k keyring.Key) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO seal_keys (key_id, unit_code, public_key_pem, encrypted_private_key, created_at)
		VALUES (?, ?, ?, ?, ?)`, k.KeyID, k.UnitCode, k.PublicKeyPEM, k.EncryptedPrivateKey, millis(k.CreatedAt))
	if isUniqueViolation(err) {
		return apperr.Conflictf("seal key %s already exists", k.KeyID)
	}
	if err != nil {
		return fmt.Errorf("insert seal key: %w", err)
	}
	return nil
}

// SealKey implements keyring.Repository.
func (s *Store) SealKey(ctx context.Context, keyID string) (keyring.Key, error) {
	var k keyring.Key
	var at int64
	err := s.read.QueryRowContext(ctx, `SELECT key_id, unit_code, public_key_pem, encrypted_private_key, created_at
		FROM seal_keys WHERE key_id = ?`, keyID).Scan(&k.KeyID, &k.UnitCode, &k.PublicKeyPEM, &k.EncryptedPrivateKey, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return k, apperr.NotFoundf("seal key %s not found", keyID)
	}
	if err != nil {
		return k, fmt.Errorf("get seal key: %w", err)
	}
	k.CreatedAt = fromMillis(at)
	return k, nil
}

// PutRegistryEntries implements registry.Repository.
func (s *Store) PutRegistryEntries(ctx context.Context, es []registry.Entry) error {
	if len(es) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO base_registry (code, kind, name, source, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, name = excluded.name, source = excluded.source, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range es {
			if _, err := stmt.ExecContext(ctx, e.Code, e.Kind, e.Name, e.Source, millis(e.UpdatedAt)); err != nil {
				return fmt.Errorf("registry entry %s: %w", e.Code, err)
			}
		}
		return nil
	})
}

// RegistryEntry implements registry.Repository.
func (s *Store) RegistryEntry(ctx context.Context, code string) (registry.Entry, error) {
	var e registry.Entry
	var at int64
	err := s.read.QueryRowContext(ctx, `SELECT code, kind, name, source, updated_at FROM base_registry WHERE code = ?`, code).
		Scan(&e.Code, &e.Kind, &e.Name, &e.Source, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return e, apperr.NotFoundf("%s is not in the base registry", code)
	}
	if err != nil {
		return e, fmt.Errorf("registry lookup: %w", err)
	}
	e.UpdatedAt = fromMillis(at)
	return e, nil
}

// RegistryEntries implements registry.Repository.
func (s *Store) RegistryEntries(ctx context.Context, codes []string) (map[string]registry.Entry, error) {
	out := map[string]registry.Entry{}
	for start := 0; start < len(codes); start += 500 {
		chunk := codes[start:min(start+500, len(codes))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		es, err := list(ctx, s.read, `SELECT code, kind, name, source, updated_at FROM base_registry WHERE code IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`, scanEntry, args...)
		if err != nil {
			return nil, fmt.Errorf("registry lookup: %w", err)
		}
		for _, e := range es {
			out[e.Code] = e
		}
	}
	return out, nil
}

func scanEntry(sc interface{ Scan(...any) error }) (registry.Entry, error) {
	var e registry.Entry
	var at int64
	err := sc.Scan(&e.Code, &e.Kind, &e.Name, &e.Source, &at)
	e.UpdatedAt = fromMillis(at)
	return e, err
}
