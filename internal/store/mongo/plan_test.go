package mongo_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"certd/internal/audit"
	"certd/internal/certificate"
	"certd/internal/store/mongo"
	"certd/internal/store/mongo/plancheck"
	"certd/internal/store/storetest"
)

// openRecorded opens a store on a fresh database whose commands go to a
// recorder of its own (and not to the package's plan check).
func openRecorded(t *testing.T) (*mongo.Store, *plancheck.Recorder) {
	t.Helper()
	rec := &plancheck.Recorder{CallerPrefix: "certd/internal/store/mongo."}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := mongo.Open(ctx, serverURI, mongo.WithDatabase(nextDB()), mongo.WithMonitor(rec.Monitor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, rec
}

// TestPlanCheckNamesRemovedIndex removes one declared index at a time and
// expects the plan check to name the query it leaves unserved: the check
// can fail, and says what to fix.
func TestPlanCheckNamesRemovedIndex(t *testing.T) {
	ctx := context.Background()
	s, rec := openRecorded(t)
	c := storetest.NewCert(issuerA, typeA, 1, holderA, base)
	if _, err := s.Insert(ctx, []certificate.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	rec.Reset()
	if _, err := s.QueryAudit(ctx, audit.Query{ScopeHolder: holderA, Limit: 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, certificate.Filter{HolderCode: holderA}, nil, 20); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DueForExpiry(ctx, base, 10); err != nil {
		t.Fatal(err)
	}
	qs := rec.Queries()
	if len(qs) != 3 {
		t.Fatalf("recorded %d query shapes, want 3: %+v", len(qs), qs)
	}
	full := plancheck.Check(mongo.Decls(), qs)
	if p := full.Problems(); len(p) > 0 {
		t.Fatalf("with every declared index: %v", p)
	}
	for _, tc := range []struct {
		index string
		want  []string // in the one problem reported
	}{
		{"holderCode_at_chain_seq", []string{"audit_records find", "holderCode: $eq", "sort {at: -1, chain: -1, seq: -1}", "(*Store).QueryAudit", "scan in index order", "holderCode is not among its leading keys", "fix: declare", "{holderCode: 1, at: -1, chain: -1, seq: -1}"}},
		{"holder_issuedAt_id", []string{"certificates find", "holderCode: $eq", "(*Store).List", "collection scan", "fix: declare", "{holderCode: 1, issuedAt: -1, _id: -1}"}},
		{"dueOn_id", []string{"certificates find", "filter {dueOn: $lt} sort {dueOn: 1, _id: 1}", "(*Store).DueForExpiry", "collection scan", "{dueOn: 1, _id: 1}"}},
	} {
		t.Run(tc.index, func(t *testing.T) {
			d := mongo.Decls()
			n := len(d.Indexes)
			d.Indexes = slices.DeleteFunc(d.Indexes, func(ix mongo.Index) bool { return ix.Name == tc.index })
			if len(d.Indexes) != n-1 {
				t.Fatalf("index %s is not declared", tc.index)
			}
			rep := plancheck.Check(d, qs)
			problems := rep.Problems()
			if len(problems) != 1 {
				t.Fatalf("without %s: %d problems, want 1: %v", tc.index, len(problems), problems)
			}
			for _, w := range tc.want {
				if !strings.Contains(problems[0], w) {
					t.Errorf("without %s the problem does not say %q:\n%s", tc.index, w, problems[0])
				}
			}
		})
	}
}
