package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func auditVerify(t *testing.T, dir string) (string, error) {
	t.Helper()
	out, err := exec.Command(bin, "audit", "verify", "--data-dir", dir).CombinedOutput()
	return string(out), err
}

// openCaseFor opens a case as staff of the service centre and returns its
// id: the demo restaurant applies (a holder token from certd token), and
// the case is opened from its application.
func openCaseFor(t *testing.T, dir, url, staff, no string) string {
	t.Helper()
	owner := token(t, dir, "--sub", "restaurant", "--role", "holder", "--holder", "91350100MA0000001P")
	out := post(t, url, owner, map[string]any{
		"query": `mutation { submitApplication(input: {matterCode: "350100-SP-0002", unitCode: "11350100MB0000004B"}) { id } }`,
	})
	data, _ := out["data"].(map[string]any)
	a, _ := data["submitApplication"].(map[string]any)
	app, _ := a["id"].(string)
	if app == "" {
		t.Fatalf("submit application: %v", out)
	}
	out = post(t, url, staff, map[string]any{
		"query":     `mutation($no: String!, $app: ID!) { openCase(input: {caseNo: $no, applicationId: $app}) { id } }`,
		"variables": map[string]any{"no": no, "app": app},
	})
	data, _ = out["data"].(map[string]any)
	c, _ := data["openCase"].(map[string]any)
	id, _ := c["id"].(string)
	if id == "" {
		t.Fatalf("open case: %v", out)
	}
	return id
}

// TestAuditSurvivesKill9UnderLoad reads licences with many clients, kills
// the server without warning, and checks that every response a client
// received has its audit records and that the log verifies.
func TestAuditSurvivesKill9UnderLoad(t *testing.T) {
	dir := t.TempDir()
	cmd, url := serve(t, dir, "--demo")
	staff := token(t, dir, "--sub", "s1", "--org", "11350100MB0000004B", "--role", "staff")
	caseID := openCaseFor(t, dir, url, staff, "LOAD-1")
	body, _ := json.Marshal(map[string]any{"query": `query($id: ID!) { case(id: $id) { certificates { id state data } } }`, "variables": map[string]any{"id": caseID}})

	var acked []string // request ids of responses that carried licence data
	stop := untilKilled(url, staff, 16, func(*rand.Rand) []byte { return body }, func(id string, raw []byte) {
		if bytes.Contains(raw, []byte(`"certificates":[{`)) {
			acked = append(acked, id)
		}
	})
	time.Sleep(1500 * time.Millisecond)
	kill9(t, cmd)
	stop()
	if len(acked) < 50 {
		t.Fatalf("only %d responses before the kill", len(acked))
	}

	// Every acknowledged response has its two read records, durably.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "certd-audit.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]int{}
	rows, err := db.Query(`SELECT request_id, count(*) FROM audit_records WHERE action = 'certificate.read' GROUP BY request_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		stored[id] = n
	}
	rows.Close()
	missing := 0
	for _, id := range acked {
		if stored[id] != 2 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged responses lack their audit records", missing, len(acked))
	}
	t.Logf("%d responses acknowledged before kill -9, all audited", len(acked))

	// The log verifies after a restart (the killed writer's unsigned tail
	// is reported, not a problem).
	_, _ = serve(t, dir)
	if out, err := auditVerify(t, dir); err != nil {
		t.Fatalf("audit verify after kill -9: %v\n%s", err, out)
	}
}

// TestAuditVerifyNamesAnEditedRecord edits one record in the database
// while the server runs: verify fails and names it.
func TestAuditVerifyNamesAnEditedRecord(t *testing.T) {
	dir := t.TempDir()
	_, url := serve(t, dir, "--demo")
	staff := token(t, dir, "--sub", "s1", "--org", "11350100MB0000004B", "--role", "staff")
	caseID := openCaseFor(t, dir, url, staff, "EDIT-1")
	for range 5 {
		post(t, url, staff, map[string]any{"query": `query($id: ID!) { case(id: $id) { certificates { id holder { name } } } }`, "variables": map[string]any{"id": caseID}})
	}
	time.Sleep(1500 * time.Millisecond) // let a checkpoint be signed
	out, err := auditVerify(t, dir)
	if err != nil {
		t.Fatalf("verify of an untouched log: %v\n%s", err, out)
	}
	// The whole-log check shows its progress: a bar that ends full, at
	// the count of records the report gives.
	var chains, records int
	for _, line := range strings.Split(out, "\n") {
		if n, _ := fmt.Sscanf(line, "%d chains, %d records", &chains, &records); n == 2 {
			break
		}
	}
	if records == 0 || !strings.Contains(out, "verifying the audit log") || !strings.Contains(out, "100%") ||
		!strings.Contains(out, fmt.Sprintf("(%d/%d, ", records, records)) {
		t.Fatalf("verify shows no progress bar ending at its %d records:\n%s", records, out)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "certd-audit.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var chain string
	var seq int64
	if err := db.QueryRow(`SELECT chain, seq FROM audit_records WHERE action = 'certificate.read' ORDER BY seq LIMIT 1 OFFSET 2`).Scan(&chain, &seq); err != nil {
		t.Fatal(err)
	}
	// An attacker with the file drops the append-only triggers first.
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_records'`)
	if err != nil {
		t.Fatal(err)
	}
	var triggers []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		triggers = append(triggers, n)
	}
	rows.Close()
	for _, tr := range triggers {
		if _, err := db.Exec(`DROP TRIGGER ` + tr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE audit_records SET subject = 'someone-else' WHERE chain = ? AND seq = ?`, chain, seq); err != nil {
		t.Fatal(err)
	}
	out, err = auditVerify(t, dir)
	want := fmt.Sprintf("%s.%d", chain, seq)
	if err == nil || !strings.Contains(out, want) || !strings.Contains(out, "edited") {
		t.Fatalf("verify after editing %s: err %v\n%s", want, err, out)
	}
}

func TestAuditRecordsCannotBeDeleted(t *testing.T) {
	dir := t.TempDir()
	_, url := serve(t, dir, "--demo")
	staff := token(t, dir, "--sub", "s1", "--org", "11350100MB0000004B", "--role", "staff")
	openCaseFor(t, dir, url, staff, "DEL-1")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "certd-audit.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM audit_records`); err == nil {
		t.Fatal("records younger than 10 years were deleted")
	}
	if _, err := db.Exec(`UPDATE audit_records SET subject = 'x'`); err == nil {
		t.Fatal("records were updated")
	}
}
