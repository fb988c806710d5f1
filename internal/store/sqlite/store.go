// Package sqlite is the embedded store: one SQLite file in the data
// directory (modernc.org/sqlite, pure Go), in WAL mode with full sync, so a
// fresh machine runs certd with no setup. It implements the same repository
// interfaces as the MongoDB store and passes the same conformance suite.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database file's name inside the data directory.
const FileName = "certd.db"

// Store is the SQLite store. Writes go through one connection so that
// writers queue in Go rather than spin on SQLITE_BUSY; reads use a pool
// that WAL lets run beside the writer.
type Store struct {
	write *pool
	read  *pool
	path  string
}

// Open opens (creating if needed) the database in dataDir and applies any
// pending migrations.
func Open(ctx context.Context, dataDir string) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dataDir, FileName))
}

// OpenFile opens the database at path.
func OpenFile(ctx context.Context, path string) (*Store, error) {
	// Licences and audit records are personal data: the file is the
	// service's alone, and SQLite gives the WAL and shared-memory files
	// the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("restrict %s: %w", path, err)
	}
	w, err := openDB(path, 1, "immediate", 64<<10)
	if err != nil {
		return nil, err
	}
	r, err := openDB(path, 8, "deferred", 16<<10)
	if err != nil {
		w.Close()
		return nil, err
	}
	s := &Store{write: newPool(w), read: newPool(r), path: path}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens a pool of conns connections with a page cache of cacheKiB
// each.
func openDB(path string, conns int, txlock string, cacheKiB int) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"busy_timeout(10000)",
		"foreign_keys(ON)",
		"temp_store(MEMORY)",
		"recursive_triggers(ON)",
		fmt.Sprintf("cache_size(-%d)", cacheKiB),
	} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", txlock)
	q.Set("_time_format", "sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.write.Close(), s.read.Close())
}

// Ping checks that the database answers a read and that the writer
// connection is usable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return err
	}
	var n int
	return s.read.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
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
