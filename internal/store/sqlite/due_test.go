package sqlite

import (
	"context"
	"strings"
	"testing"
)

// TestDueForExpiryPlan: the sweep's read is served by the partial index
// of licences still due, in its order, with no sort of its own.
func TestDueForExpiryPlan(t *testing.T) {
	s := openTemp(t)
	rows, err := s.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+dueForExpirySQL, "2026-06-01", 500)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "USING INDEX certificates_due") || strings.Contains(got, "TEMP B-TREE") || strings.Contains(got, "SCAN certificates ") && !strings.Contains(got, "certificates_due") {
		t.Fatalf("DueForExpiry plan: %s", got)
	}
}
