// Package sqlite is the embedded store: two SQLite files in the data
// directory (modernc.org/sqlite, pure Go), in WAL mode with full sync, so a
// fresh machine runs certd with no setup: certd.db holds everything but
// the audit log, which lives in certd-audit.db (audit_db.go). It
// implements the same repository interfaces as the MongoDB store and
// passes the same conformance suite.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database file's name inside the data directory.
const FileName = "certd.db"

// AuditFileName is the name of the audit log's database file inside the
// data directory (see AuditPath).
const AuditFileName = "certd-audit.db"

// AuditPath is the audit log's database file beside the database at path:
// "certd-audit.db" beside "certd.db".
func AuditPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-audit" + ext
}

// Store is the SQLite store. Writes go through one connection per file so
// that writers queue in Go rather than spin on SQLITE_BUSY; reads use a
// pool that WAL lets run beside the writer. The audit log has its own
// file, so its group commits neither wait for nor hold the write lock of
// licence writes, and do not empty the licence readers' page caches
// (SQLite drops a connection's cache whenever its file changed).
type Store struct {
	write      *pool
	read       *pool
	auditWrite *pool
	auditRead  *pool
	path       string
	auditPath  string
}

// Open opens (creating if needed) the database in dataDir and applies any
// pending migrations.
func Open(ctx context.Context, dataDir string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dataDir, FileName), opts...)
}

// OpenFile opens the database at path.
// The audit log's database is AuditPath(path); a database whose audit log
// is still inside it (schema before 0009) has it moved out first.
func OpenFile(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	w, r, err := o.openPools(path, 8)
	if err != nil {
		return nil, err
	}
	s := &Store{write: w, read: r, path: path, auditPath: AuditPath(path)}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// migrate created the audit database, or it existed before: a missing
	// one is a lost audit log, not a new one.
	if _, err := os.Stat(s.auditPath); err != nil {
		s.Close()
		return nil, fmt.Errorf("audit log database: %w", err)
	}
	if err := createPrivate(s.auditPath); err != nil {
		s.Close()
		return nil, err
	}
	// A checkpoint copies the WAL's newest version of each page into the
	// database file, and the group commits of the audit log rewrite the
	// same index pages again and again: checkpointing every 16,000 pages
	// (64 MiB) rather than SQLite's 1,000 cut the CPU time per record by a
	// fifth (BenchmarkAppendAudit, batches of 45 and 256); 64,000 did no
	// better.
	if s.auditWrite, s.auditRead, err = o.openPools(s.auditPath, 4, "wal_autocheckpoint(16000)"); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.migrateAudit(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// createPrivate creates the file at path if needed and makes it the
// service's alone: licences and audit records are personal data, and
// SQLite gives the WAL and shared-memory files the database file's mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	return nil
}

// openPools opens the writer connection and a pool of readers on path,
// with the given pragmas besides openDB's.
func (o *options) openPools(path string, readers int, pragmas ...string) (write, read *pool, err error) {
	w, err := o.openDB(path, 1, "immediate", 64<<10, pragmas...)
	if err != nil {
		return nil, nil, err
	}
	r, err := o.openDB(path, readers, "deferred", 16<<10, pragmas...)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return newPool(w), newPool(r), nil
}

// openDB opens a pool of conns connections with a page cache of cacheKiB
// each.
func (o *options) openDB(path string, conns int, txlock string, cacheKiB int, pragmas ...string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range append([]string{
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"busy_timeout(10000)",
		"foreign_keys(ON)",
		"temp_store(MEMORY)",
		"recursive_triggers(ON)",
		fmt.Sprintf("cache_size(-%d)", cacheKiB),
	}, pragmas...) {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", txlock)
	q.Set("_time_format", "sqlite")
	db, err := o.openSQL(filepath.Base(path), "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Close closes the pools.
func (s *Store) Close() error {
	var errs []error
	for _, p := range []*pool{s.write, s.read, s.auditWrite, s.auditRead} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers a read and that the writer
// connection is usable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return err
	}
	var n int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		return err
	}
	return s.auditRead.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// AuditPath is the audit log's database file's path.
func (s *Store) AuditPath() string { return s.auditPath }

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(ctx, s.write, fn)
}

// inTx runs fn in a write transaction of p's writer and commits it.
func inTx(ctx context.Context, p *pool, fn func(tx *sql.Tx) error) error {
	tx, err := p.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
