package mongo_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"

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
