package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql audit_migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema step; files are named NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations are those of certd.db.
func migrations() ([]migration, error) { return loadMigrations("migrations") }

// auditMigrations are those of the audit log's database.
func auditMigrations() ([]migration, error) { return loadMigrations("audit_migrations") }

func loadMigrations(dir string) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations must be numbered 1..n without gaps; found %d at position %d", m.version, i+1)
		}
	}
	return ms, nil
}

// auditMovedOut is the migration of certd.db that drops its audit tables:
// before it, the audit log is copied into its own database.
const auditMovedOut = 9

// migrate applies, each in its own transaction, every migration of
// certd.db newer than its version; before the one that drops the audit
// tables, it moves the audit log into its own database (moveAuditOut). A
// database newer than this binary is refused.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return applyMigrations(ctx, s.write, ms, map[int]func() error{
		auditMovedOut: func() error { return moveAuditOut(ctx, s.path, s.auditPath) },
	})
}

// migrateAudit brings the audit log's database up to date.
func (s *Store) migrateAudit(ctx context.Context) error {
	ms, err := auditMigrations()
	if err != nil {
		return err
	}
	if err := applyMigrations(ctx, s.auditWrite, ms, nil); err != nil {
		return fmt.Errorf("audit database: %w", err)
	}
	return nil
}

// applyMigrations applies the migrations of ms newer than the version of
// p's database, each in its own transaction, running before[v] first if
// there is one for migration v.
func applyMigrations(ctx context.Context, p *pool, ms []migration, before map[int]func() error) error {
	if _, err := p.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	var current int
	if err := p.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this certd (%d): upgrade certd", current, len(ms))
	}
	for _, m := range ms[current:] {
		if hook := before[m.version]; hook != nil {
			if err := hook(); err != nil {
				return fmt.Errorf("before migration %04d_%s: %w", m.version, m.name, err)
			}
		}
		err := inTx(ctx, p, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

// SchemaVersion returns the applied schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.read.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}
