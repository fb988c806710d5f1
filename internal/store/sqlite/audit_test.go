package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"certd/internal/audit"
	"certd/internal/store/storetest"
)

func TestAuditConformance(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) audit.Repository { return openTemp(t) })
}

// TestAuditAppendOnly: the triggers refuse changing or deleting audit
// rows through SQL, and overwriting them with INSERT OR REPLACE; only
// rows older than ten years may be deleted.
func TestAuditAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	now := time.Now().UTC()
	old := now.AddDate(-11, 0, 0)
	recs := []audit.Record{
		{Chain: "c", Seq: 1, At: now, Kind: audit.KindAccess, PrevHash: "p", Hash: "h1"},
		{Chain: "c", Seq: 2, At: old, Kind: audit.KindAccess, PrevHash: "h1", Hash: "h2"},
	}
	cps := []audit.Checkpoint{
		{Chain: "c", Seq: 1, At: now, KeyID: "k", Signature: "s", Hash: "h1"},
		{Chain: "c", Seq: 2, At: old, KeyID: "k", Signature: "s", Hash: "h2"},
	}
	if err := s.AppendAudit(ctx, recs, cps); err != nil {
		t.Fatal(err)
	}
	refused := []struct{ sql, msg string }{
		{"UPDATE audit_records SET reason = 'x' WHERE seq = 1", "append-only"},
		{"UPDATE audit_records SET reason = 'x' WHERE seq = 2", "append-only"},
		{"DELETE FROM audit_records WHERE seq = 1", "ten years"},
		{"DELETE FROM audit_records", "ten years"},
		{"UPDATE audit_checkpoints SET hash = 'x'", "append-only"},
		{"DELETE FROM audit_checkpoints WHERE seq = 1", "ten years"},
		{"INSERT OR REPLACE INTO audit_records (" + auditColsV1 + ") VALUES ('c', 1, 0, '', '', '', '[]', '', '', '', '', '', '', '', '[]', '', '', 0, '', '', '', 'forged')", "ten years"},
		{"INSERT OR REPLACE INTO audit_checkpoints (chain, seq, at, key_id, signature, hash, final) VALUES ('c', 1, 0, 'k', 's', 'forged', 0)", "ten years"},
	}
	for _, r := range refused {
		if _, err := s.auditWrite.ExecContext(ctx, r.sql); err == nil || !strings.Contains(err.Error(), r.msg) {
			t.Errorf("%s: %v, want an error saying %q", r.sql, err, r.msg)
		}
	}
	got, err := s.AuditChain(ctx, "c", 0, 10)
	if err != nil || len(got) != 2 || got[0].Hash != "h1" || got[0].Reason != "" {
		t.Fatalf("the log changed: %+v, %v", got, err)
	}
	// Retention: rows older than ten years may go.
	for _, q := range []string{"DELETE FROM audit_records WHERE seq = 2", "DELETE FROM audit_checkpoints WHERE seq = 2"} {
		if _, err := s.auditWrite.ExecContext(ctx, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	if got, _ := s.AuditChain(ctx, "c", 0, 10); len(got) != 1 {
		t.Fatalf("after deleting the old record: %d records", len(got))
	}
}

// TestAuditQueryPlans: the Query paths use their indexes.
func TestAuditQueryPlans(t *testing.T) {
	s := openTemp(t)
	for q, index := range map[string]string{
		"certificate_id = 'x' AND at <= 5 ORDER BY at DESC": "audit_records_certificate",
		"holder_code = 'x' ORDER BY at DESC":                "audit_records_holder",
		"issuer_code = 'x' AND at >= 3 ORDER BY at DESC":    "audit_records_issuer",
		"org = 'x' ORDER BY at DESC":                        "audit_records_org",
		"at >= 3 AND at < 9 ORDER BY at DESC":               "audit_records_at",
	} {
		rows, err := s.auditRead.Query("EXPLAIN QUERY PLAN SELECT * FROM audit_records WHERE " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), index) {
			t.Errorf("%s: plan %q does not use %s", q, plan.String(), index)
		}
	}
}
