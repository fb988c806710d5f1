package mongo_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"certd/internal/audit"
	"certd/internal/store/storetest"
)

func TestAudit(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) audit.Repository { return open(t) })
}

// TestAuditWriterAndVerify: group-committed appends from many goroutines
// verify on FerretDB, and an edited record is found.
func TestAuditWriterAndVerify(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := audit.NewWriter(s, key, audit.WriterOptions{CheckpointEvery: 20})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := range 10 {
				r := audit.Record{Kind: audit.KindAccess, Subject: fmt.Sprintf("u%d", g), CertificateID: fmt.Sprintf("c%d", i),
					Fields: []string{"holder.name"}, Decision: audit.Allow}
				if err := w.Append(ctx, []audit.Record{r}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, s, []ed25519.PublicKey{pub})
	if err != nil || len(rep.Problems) > 0 || rep.Records != 100 || rep.Chains != 1 || rep.UnsignedTail != 0 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	recs, err := s.QueryAudit(ctx, audit.Query{CertificateID: "c3", Limit: 100})
	if err != nil || len(recs) != 10 {
		t.Fatalf("query: %d records, %v", len(recs), err)
	}
	coll := connect(t).Database(s.Database()).Collection("audit_records")
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "chain", Value: w.Chain()}, {Key: "seq", Value: 42}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "subject", Value: "x"}}}}); err != nil {
		t.Fatal(err)
	}
	rep, err = audit.Verify(ctx, s, []ed25519.PublicKey{pub})
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Kind != audit.ProblemEdited || rep.Problems[0].Seq != 42 {
		t.Fatalf("after an edit: %+v, %v", rep.Problems, err)
	}
}

// TestAuditChainsRegistry: the chain list is read from audit_chains alone,
// never from the records, so an auditStatus check does not grow with the
// log; a log stored before the registry gets its chains registered by
// the start-up migration, run by two instances at once.
func TestAuditChainsRegistry(t *testing.T) {
	ctx := context.Background()
	s, rec := openRecorded(t)
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var recs []audit.Record
	for i := int64(1); i <= 30; i++ {
		recs = append(recs, audit.Record{Chain: "b", Seq: i, At: at, Kind: audit.KindAccess})
	}
	if err := s.AppendAudit(ctx, recs[:10], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, recs[10:], []audit.Checkpoint{{Chain: "b", Seq: 30, Hash: "h", At: at}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, []audit.Record{{Chain: "a", Seq: 1, At: at}}, nil); err != nil {
		t.Fatal(err)
	}
	rec.Reset()
	chains, err := s.AuditChains(ctx)
	if err != nil || !slices.Equal(chains, []string{"a", "b"}) {
		t.Fatalf("chains %v, %v", chains, err)
	}
	for _, q := range rec.Queries() {
		if q.Collection != "audit_chains" {
			t.Errorf("AuditChains sent %s", q.Describe())
		}
	}

	// As a certd before the registry left the log.
	db := connect(t).Database(s.Database())
	if _, err := db.Collection("audit_chains").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("schema_migrations").DeleteOne(ctx, bson.D{{Key: "_id", Value: "0002_audit_chains"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("audit_checkpoints").InsertOne(ctx, bson.D{{Key: "_id", Value: "z.0000000000000000004"},
		{Key: "chain", Value: "z"}, {Key: "seq", Value: int64(4)}, {Key: "hash", Value: "h"}, {Key: "final", Value: false}}); err != nil {
		t.Fatal(err)
	}
	if chains, err := s.AuditChains(ctx); err != nil || len(chains) != 0 {
		t.Fatalf("before the migration: %v, %v", chains, err)
	}
	startTwice(t, s.Database())
	if chains, err := s.AuditChains(ctx); err != nil || !slices.Equal(chains, []string{"a", "b", "z"}) {
		t.Fatalf("after the migration: %v, %v (z has only a checkpoint)", chains, err)
	}
}
