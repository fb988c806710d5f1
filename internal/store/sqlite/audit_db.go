package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The audit log has its own database file, AuditPath(certd.db), with its
// own migrations (audit_migrations). certd.db held the audit tables up to
// its migration 0008; moveAuditOut moves them out before migration 0009
// drops them.

const auditCheckpointCols = "chain, seq, at, key_id, signature, hash, final"

// moveAuditOut makes sure the audit database at auditPath holds every
// audit record and checkpoint of the database at mainPath. If it does not
// exist, it is built under a temporary name from certd.db's tables and
// renamed into place once complete and synced to disk: a crash leaves
// either no audit database, built again on the next open from the
// untouched tables of certd.db, or a complete one. Either way the
// tables of certd.db are only dropped (migration 0009) once every row of
// them is found in the audit database.
func moveAuditOut(ctx context.Context, mainPath, auditPath string) error {
	switch _, err := os.Stat(auditPath); {
	case errors.Is(err, fs.ErrNotExist):
		if err := buildAuditDB(ctx, mainPath, auditPath); err != nil {
			return fmt.Errorf("move the audit log into %s: %w", auditPath, err)
		}
	case err != nil:
		return err
	}
	return checkAuditMoved(ctx, mainPath, auditPath)
}

// buildAuditDB creates the audit database at auditPath with a copy of the
// audit tables of the database at mainPath.
func buildAuditDB(ctx context.Context, mainPath, auditPath string) error {
	tmp := auditPath + ".tmp"
	for _, f := range []string{tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := createPrivate(tmp); err != nil {
		return err
	}
	// A rollback journal rather than WAL while building: once committed,
	// everything is in the one file that is renamed.
	db, err := sql.Open("sqlite", "file:"+tmp+"?_pragma=journal_mode(DELETE)&_pragma=synchronous(FULL)"+
		"&_pragma=busy_timeout(10000)&_pragma=cache_size(-65536)")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	p := newPool(db)
	err = copyAuditTables(ctx, p, mainPath)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := syncPath(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, auditPath); err != nil {
		return err
	}
	return syncPath(filepath.Dir(auditPath))
}

// copyAuditTables creates the audit schema in p's database and copies the
// audit tables of the database at mainPath into it, in one transaction.
func copyAuditTables(ctx context.Context, p *pool, mainPath string) error {
	ms, err := auditMigrations()
	if err != nil {
		return err
	}
	if err := applyMigrations(ctx, p, ms, nil); err != nil {
		return err
	}
	c, err := p.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "ATTACH DATABASE ? AS legacy", mainPath); err != nil {
		return err
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{
		"INSERT INTO main.audit_records (" + auditColsV1 + ") SELECT " + auditColsV1 + " FROM legacy.audit_records ORDER BY rowid",
		"INSERT INTO main.audit_checkpoints (" + auditCheckpointCols + ") SELECT " + auditCheckpointCols + " FROM legacy.audit_checkpoints",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = c.ExecContext(ctx, "DETACH DATABASE legacy")
	return err
}

// checkAuditMoved fails unless every audit record and checkpoint of the
// database at mainPath is in the audit database at auditPath.
func checkAuditMoved(ctx context.Context, mainPath, auditPath string) error {
	db, err := sql.Open("sqlite", "file:"+auditPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "ATTACH DATABASE ? AS legacy", mainPath); err != nil {
		return err
	}
	defer func() { _, _ = c.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE legacy") }()
	var missing int
	err = c.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM legacy.audit_records AS l WHERE NOT EXISTS (SELECT 1 FROM main.audit_records AS a
			WHERE a.chain = l.chain AND a.seq = l.seq AND a.hash = l.hash)) +
		(SELECT count(*) FROM legacy.audit_checkpoints AS l WHERE NOT EXISTS (SELECT 1 FROM main.audit_checkpoints AS a
			WHERE a.chain = l.chain AND a.seq = l.seq AND a.final = l.final AND a.signature = l.signature))`).Scan(&missing)
	if err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("%d audit records and checkpoints of %s are missing from %s: not dropping them", missing, mainPath, auditPath)
	}
	return nil
}

// syncPath fsyncs a file or directory.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
