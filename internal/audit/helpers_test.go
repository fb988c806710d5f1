package audit_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/audit"
	"certd/internal/store/sqlite"
)

// openStore opens the SQLite store in a temporary data directory.
func openStore(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// rawDB opens the store's database file directly, as someone with access
// to the file could, with the append-only triggers dropped.
func rawDB(t testing.TB, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.AuditFileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, tr := range []string{"audit_records_no_update", "audit_records_no_delete",
		"audit_checkpoints_no_update", "audit_checkpoints_no_delete"} {
		if _, err := db.Exec("DROP TRIGGER " + tr); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func exec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	res, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s: no row changed", q)
	}
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pub(k ed25519.PrivateKey) []ed25519.PublicKey {
	return []ed25519.PublicKey{k.Public().(ed25519.PublicKey)}
}

func newWriter(t testing.TB, repo audit.Repository, key ed25519.PrivateKey, opts audit.WriterOptions) *audit.Writer {
	t.Helper()
	w, err := audit.NewWriter(repo, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

// sample is a record of realistic size: a licence read listing ten
// fields, by one of 500 staff of one of 50 units, of one of 100,000
// licences held by one of 50,000 holders, spread as reads are.
func sample(i int) audit.Record {
	lic := i * 7919 % 100000
	return audit.Record{
		Kind: audit.KindAccess, Subject: fmt.Sprintf("staff-%04d", i%500), Org: fmt.Sprintf("111000000000%04d38W", i%50),
		Roles: []string{"staff"}, Operation: "query case", Action: "certificate.read",
		CaseID: fmt.Sprintf("case-%06d", i%9000), MatterCode: "M0042", HolderCode: fmt.Sprintf("3210831978%08d", lic%50000),
		CertificateID: fmt.Sprintf("11110000000021135M-11100000000013338W011-2026%06d-1", lic),
		IssuerCode:    fmt.Sprintf("1111000000002%04dM", lic%40),
		Fields: []string{"data.address", "data.capital", "data.legalPerson", "data.name", "data.scope",
			"holder.code", "holder.name", "state", "validFrom", "validUntil"},
		Decision: audit.Allow, PolicyVersion: 3, RequestID: fmt.Sprintf("req-%08d", i), Client: "10.1.2.3:51234",
	}
}

// appendN appends n records one Append at a time.
func appendN(t testing.TB, w *audit.Writer, n int) {
	t.Helper()
	for i := range n {
		if err := w.Append(context.Background(), []audit.Record{sample(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t testing.TB, repo audit.Repository, trusted []ed25519.PublicKey) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), repo, trusted)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func mustVerify(t testing.TB, repo audit.Repository, trusted []ed25519.PublicKey) audit.Report {
	t.Helper()
	rep := verify(t, repo, trusted)
	if len(rep.Problems) > 0 {
		t.Fatalf("Verify found problems in an untouched log: %v", rep.Problems)
	}
	return rep
}

// countingRepo counts AppendAudit calls and records passed to the store.
type countingRepo struct {
	audit.Repository
	calls, records atomic.Int64
	busy           atomic.Int64 // nanoseconds spent in AppendAudit
}

func (c *countingRepo) AppendAudit(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	if len(recs) > 0 {
		c.calls.Add(1)
		c.records.Add(int64(len(recs)))
	}
	start := time.Now()
	defer func() { c.busy.Add(int64(time.Since(start))) }()
	return c.Repository.AppendAudit(ctx, recs, cps)
}

// errStoreDown is what a failing store returns.
var errStoreDown = errors.New("disk I/O error")

// flakyRepo fails AppendAudit while down is set: before storing, or, with
// afterStore, after storing (an acknowledgement lost on the way).
type flakyRepo struct {
	audit.Repository
	down, afterStore atomic.Bool
	block            chan struct{} // if not nil, AppendAudit waits for it
}

func (f *flakyRepo) AppendAudit(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-time.After(10 * time.Second):
		}
	}
	if !f.down.Load() {
		return f.Repository.AppendAudit(ctx, recs, cps)
	}
	if f.afterStore.Load() {
		if err := f.Repository.AppendAudit(ctx, recs, cps); err != nil {
			return err
		}
	}
	return errStoreDown
}
