package sqlite

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
)

// TestAuditConflictInALaterChunk: a batch of several INSERT statements
// whose last one meets an existing record fails with CONFLICT, stores none
// of its records, and leaves the store usable.
func TestAuditConflictInALaterChunk(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	rec := func(seq int64) audit.Record {
		return audit.Record{Chain: "c", Seq: seq, At: time.Now(), Kind: audit.KindAccess, PrevHash: "p", Hash: "h"}
	}
	if err := s.AppendAudit(ctx, []audit.Record{rec(2*auditChunk + 5)}, nil); err != nil {
		t.Fatal(err)
	}
	var batch []audit.Record
	for seq := int64(1); seq <= 3*auditChunk; seq++ {
		batch = append(batch, rec(seq))
	}
	if err := s.AppendAudit(ctx, batch, []audit.Checkpoint{{Chain: "c", Seq: 1, At: time.Now(), KeyID: "k", Signature: "s", Hash: "h"}}); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("a batch meeting an existing record: %v, want CONFLICT", err)
	}
	if got, err := s.AuditChain(ctx, "c", 0, 10*auditChunk); err != nil || len(got) != 1 {
		t.Fatalf("after the refused batch: %d records (%v), want 1", len(got), err)
	}
	if cps, err := s.AuditCheckpoints(ctx, "c", 0); err != nil || len(cps) != 0 {
		t.Fatalf("after the refused batch: %d checkpoints (%v), want 0", len(cps), err)
	}
	if err := s.AppendAudit(ctx, batch[:2*auditChunk], nil); err != nil {
		t.Fatalf("the store after a refused batch: %v", err)
	}
}

// openV8 creates a data directory as certd did before the audit log had
// its own file: certd.db at schema version 8, its audit tables holding a
// real log of n records written by a Writer. It returns the audit key.
func openV8(t *testing.T, dir string, n int) ed25519.PrivateKey {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, FileName)
	if err := createPrivate(path); err != nil {
		t.Fatal(err)
	}
	w, r, err := (&options{}).openPools(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigrations(ctx, w, ms[:auditMovedOut-1], nil); err != nil {
		t.Fatal(err)
	}
	// Today's store writes the columns of audit migration 0002, which
	// schema 8 did not have: add them for the writing, and write version 1
	// records, as certd did then. The move copies the columns of 0001.
	for _, q := range []string{"ALTER TABLE audit_records ADD COLUMN v INTEGER NOT NULL DEFAULT 1",
		"ALTER TABLE audit_records ADD COLUMN basis TEXT NOT NULL DEFAULT ''",
		"ALTER TABLE audit_records ADD COLUMN count INTEGER NOT NULL DEFAULT 0"} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	old := &Store{write: w, read: r, auditWrite: w, auditRead: r, path: path}
	defer old.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	aw, err := audit.NewWriter(old, key, audit.WriterOptions{CheckpointEvery: 7})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := aw.Append(ctx, []audit.Record{{V: 1, Kind: audit.KindAccess, Subject: "s", CertificateID: "lic-" + string(rune('a'+i%26)), Decision: audit.Allow}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := aw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return key
}

func tableExists(t *testing.T, db interface {
	QueryRow(string, ...any) *sql.Row
}, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func mustVerifyLog(t *testing.T, s *Store, key ed25519.PrivateKey, records int) {
	t.Helper()
	rep, err := audit.Verify(context.Background(), s, []ed25519.PublicKey{key.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 || rep.Records != records || rep.UnsignedTail != 0 {
		t.Fatalf("the moved log: %+v, want %d records, no problems", rep, records)
	}
}

// TestAuditMovedOutOfAnOldDatabase: opening a data directory of schema 8
// moves its audit log into certd-audit.db, whole and still verifiable,
// and drops the tables from certd.db.
func TestAuditMovedOutOfAnOldDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := openV8(t, dir, 40)
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v < auditMovedOut {
		t.Fatalf("schema version %d", v)
	}
	if tableExists(t, s.read, "audit_records") || tableExists(t, s.read, "audit_checkpoints") {
		t.Fatal("certd.db still has audit tables")
	}
	if _, err := os.Stat(filepath.Join(dir, AuditFileName+".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	mustVerifyLog(t, s, key, 40)
	st, err := os.Stat(filepath.Join(dir, AuditFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("audit database: %v, %v", st, err)
	}
	var mode string
	if err := s.auditRead.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("audit database journal mode %q (%v), want wal", mode, err)
	}
	var ckpt int
	if err := s.auditWrite.QueryRow("PRAGMA wal_autocheckpoint").Scan(&ckpt); err != nil || ckpt != 16000 {
		t.Fatalf("audit database wal_autocheckpoint %d (%v), want 16000", ckpt, err)
	}
	// The writer goes on in the new file.
	if err := s.AppendAudit(ctx, []audit.Record{{Chain: "new", Seq: 1, At: time.Now(), Kind: audit.KindAccess}}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestAuditMoveSurvivesCrashes: a crash while the audit database is being
// built leaves a temporary file that the next open discards; a crash after
// it was renamed into place but before certd.db dropped its tables leaves
// both, and the next open drops them after checking the copy.
func TestAuditMoveSurvivesCrashes(t *testing.T) {
	ctx := context.Background()
	t.Run("WhileBuilding", func(t *testing.T) {
		dir := t.TempDir()
		key := openV8(t, dir, 20)
		tmp := filepath.Join(dir, AuditFileName+".tmp")
		for _, f := range []string{tmp, tmp + "-journal"} {
			if err := os.WriteFile(f, []byte("half-written garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mustVerifyLog(t, s, key, 20)
		for _, f := range []string{tmp, tmp + "-journal"} {
			if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s left behind: %v", f, err)
			}
		}
	})
	t.Run("BeforeDropping", func(t *testing.T) {
		dir := t.TempDir()
		key := openV8(t, dir, 20)
		path := filepath.Join(dir, FileName)
		if err := moveAuditOut(ctx, path, AuditPath(path)); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mustVerifyLog(t, s, key, 20)
		if tableExists(t, s.read, "audit_records") {
			t.Fatal("certd.db still has audit tables")
		}
	})
}

// TestAuditNotDroppedUnlessMoved: an audit database that lacks records of
// certd.db's tables (say, certd.db restored from an older backup beside a
// newer audit database) stops the open, and certd.db keeps its tables.
func TestAuditNotDroppedUnlessMoved(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	openV8(t, dir, 10)
	other, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	otherAudit := other.AuditPath()
	other.Close()
	b, err := os.ReadFile(otherAudit)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, AuditFileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "missing from") {
		t.Fatalf("open with an audit database lacking certd.db's records: %v", err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM audit_records").Scan(&n); err != nil || n != 10 {
		t.Fatalf("certd.db audit records: %d, %v", n, err)
	}
}

// TestAuditDatabaseMissing: a data directory whose audit database went
// missing is refused rather than given a new, empty log.
func TestAuditDatabaseMissing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(filepath.Join(dir, AuditFileName+f))
	}
	if _, err := Open(ctx, dir); err == nil {
		t.Fatal("opened a data directory without its audit database")
	}
}
