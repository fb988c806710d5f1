package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"certd/internal/demo"
)

// serveAt starts `certd serve` on addr and waits until /readyz answers.
func serveAt(t *testing.T, dataDir, addr string, args ...string) *exec.Cmd {
	t.Helper()
	if !slices.Contains(args, "--metrics-addr") {
		// Tests run several servers at once: none takes the default port.
		args = append(args, "--metrics-addr", "127.0.0.1:0")
	}
	cmd := exec.Command(bin, append([]string{"serve", "--data-dir", dataDir, "--addr", addr}, args...)...)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("certd did not become ready on %s; logs:\n%s", addr, logs.String())
	return nil
}

// openRO opens one of the data directory's SQLite files read-only.
func openRO(t *testing.T, dir, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, file)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// verifyAll checks through verifyCertificate, as the issuing unit (tok),
// which verifies its licences by id alone, that every id is stored,
// citable and carries a valid seal.
func verifyAll(t *testing.T, url, tok string, ids []string) {
	t.Helper()
	for start := 0; start < len(ids); start += 50 {
		end := min(start+50, len(ids))
		var q strings.Builder
		q.WriteString("{")
		for i, id := range ids[start:end] {
			fmt.Fprintf(&q, " v%d: verifyCertificate(id: %q) { id found citable sealValid }", i, id)
		}
		q.WriteString(" }")
		out := gql(t, url, tok, q.String())
		if out["errors"] != nil {
			t.Fatalf("verify: %v", out["errors"])
		}
		for k, v := range out["data"].(map[string]any) {
			m := v.(map[string]any)
			if m["found"] != true || m["citable"] != true || m["sealValid"] != true {
				t.Fatalf("%s after the crash: %v", k, m)
			}
		}
	}
}

// checkStoreConsistency reads the SQLite file directly: every licence row
// is whole (sealed document, history), one current version per lineage,
// no serial number used twice.
func checkStoreConsistency(t *testing.T, dir string) {
	t.Helper()
	db := openRO(t, dir, "certd.db")
	checks := map[string]string{
		"a licence without seal, document or history": `SELECT count(*) FROM certificates WHERE seal = '' OR document = '' OR history IN ('', '[]', 'null')`,
		"a lineage with two current versions":         `SELECT count(*) FROM (SELECT lineage FROM certificates WHERE current = 1 GROUP BY lineage HAVING count(*) > 1)`,
		"a serial number used twice":                  `SELECT count(*) FROM (SELECT issuer_code, serial FROM certificates WHERE version = 1 GROUP BY issuer_code, serial HAVING count(*) > 1)`,
		"an idempotency key used twice":               `SELECT count(*) FROM (SELECT issuer_code, idempotency_key FROM certificates WHERE idempotency_key IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1)`,
	}
	for what, q := range checks {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d", what, n)
		}
	}
}

// importedIDs are the licences the importer's token issued.
func importedIDs(t *testing.T, dir string) []string {
	t.Helper()
	return queryIDs(t, dir, `SELECT id FROM certificates WHERE issued_by = 'importer'`)
}

func licenceIDs(t *testing.T, dir, typeCode string) []string {
	t.Helper()
	return queryIDs(t, dir, `SELECT id FROM certificates WHERE type_code = ? AND current = 1`, typeCode)
}

func queryIDs(t *testing.T, dir, q string, args ...any) []string {
	t.Helper()
	db := openRO(t, dir, "certd.db")
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestServerKill9DuringImport kills the server (not the importer) in the
// middle of an import and restarts it on the same address: the importer
// retries through the outage and finishes, every row is issued exactly
// once, no licence is half-written, and the audit log verifies.
func TestServerKill9DuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("sealed licences in -short mode")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	srv := serveAt(t, dir, addr, "--demo")
	tok := token(t, dir, "--sub", "importer", "--org", "11350100MB00000025", "--role", "issuer", "--role", "importer", "--amr", "cert")
	file := filepath.Join(t.TempDir(), "stock.csv")
	const rows = 4000
	writeStock(t, file, rows, 0)
	before := countLicences(t, url, tok)

	imp := exec.Command(bin, "import", "--server", url, "--type", "11350100MB00000025002", "--batch-size", "200", file)
	imp.Env = append(os.Environ(), "CERTD_TOKEN="+tok)
	var impErr bytes.Buffer
	imp.Stderr = &impErr
	if err := imp.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for countLicences(t, url, tok)-before < 800 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	kill9(t, srv)
	mid := countLicencesDirect(t, dir) - before
	serveAt(t, dir, addr)
	if err := imp.Wait(); err != nil {
		t.Fatalf("the import did not ride out the restart: %v\n%s", err, impErr.String())
	}
	if mid <= 0 || mid >= rows {
		t.Skipf("the server was not killed in the middle of the import (%d of %d stored)", mid, rows)
	}
	if got := countLicences(t, url, tok) - before; got != rows {
		t.Fatalf("after the server's kill -9 at %d and restart: %d licences, want %d\n%s", mid, got, rows, impErr.String())
	}
	checkStoreConsistency(t, dir)
	ids := licenceIDs(t, dir, "11350100MB00000025002")
	verifyAll(t, url, tok, ids)
	// Every stored licence's issuance is in the log, including those whose
	// first request died with the server after the licence was stored: the
	// importer's retry found them and recorded the replay.
	adb := openRO(t, dir, "certd-audit.db")
	logged := map[string]bool{}
	rs, err := adb.Query(`SELECT DISTINCT certificate_id FROM audit_records WHERE action = 'certificate.issue'`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		logged[id] = true
	}
	rs.Close()
	unlogged := 0
	imported := importedIDs(t, dir)
	if len(imported) != rows {
		t.Fatalf("%d licences carry an import's idempotency key, want %d", len(imported), rows)
	}
	for _, id := range imported {
		if !logged[id] {
			unlogged++
		}
	}
	if unlogged > 0 {
		t.Fatalf("%d of %d imported licences have no certificate.issue audit record", unlogged, rows)
	}
	if out, err := auditVerify(t, dir); err != nil {
		t.Fatalf("audit verify after kill -9: %v\n%s", err, out)
	}
	t.Logf("server killed with %d of %d rows stored; the importer finished: %s", mid, rows, strings.TrimSpace(lastLine(impErr.String())))
}

func countLicencesDirect(t *testing.T, dir string) int {
	t.Helper()
	db := openRO(t, dir, "certd.db")
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM certificates WHERE type_code = '11350100MB00000025002' AND current = 1`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestServerKill9DuringIssuanceLoad issues and reads licences with many
// clients, kills the server without warning, and restarts it: every
// licence whose id a client received is stored whole and verifies, every
// acknowledged request has its audit records, and the log verifies.
func TestServerKill9DuringIssuanceLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("sealed licences under load in -short mode")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	srv := serveAt(t, dir, addr, "--demo")
	issuer := token(t, dir, "--sub", "i1", "--org", "11350100MB00000025", "--role", "issuer", "--amr", "cert")

	const issueQ = `mutation($in: IssueInput!) { issueCertificate(input: $in) { id } }`
	acked := map[string]string{} // request id → licence id
	stop := untilKilled(url, issuer, 8, func(rng *rand.Rand) []byte {
		body, _ := json.Marshal(map[string]any{"query": issueQ, "variables": map[string]any{"in": demo.FoodLicenceRequest(rng.IntN(20_000_000))}})
		return body
	}, func(id string, raw []byte) {
		var out struct {
			Data struct{ IssueCertificate *struct{ ID string } }
		}
		if json.Unmarshal(raw, &out) == nil && out.Data.IssueCertificate != nil {
			acked[id] = out.Data.IssueCertificate.ID
		}
	})
	time.Sleep(1500 * time.Millisecond)
	kill9(t, srv)
	stop()
	if len(acked) < 20 {
		t.Fatalf("only %d licences issued before the kill", len(acked))
	}

	db := openRO(t, dir, "certd-audit.db")
	var ids []string
	for reqID, id := range acked {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM audit_records WHERE request_id = ? AND action = 'certificate.issue' AND certificate_id = ?`, reqID, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("issuance %s (request %s) has %d audit records, want 1", id, reqID, n)
		}
		ids = append(ids, id)
	}
	serveAt(t, dir, addr)
	checkStoreConsistency(t, dir)
	verifyAll(t, url, issuer, ids)
	if out, err := auditVerify(t, dir); err != nil {
		t.Fatalf("audit verify after kill -9: %v\n%s", err, out)
	}
	t.Logf("%d issuances acknowledged before kill -9: all stored whole, sealed and audited", len(acked))
}
