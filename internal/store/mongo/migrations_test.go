package mongo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/certificate"
	"certd/internal/store/mongo"
	"certd/internal/store/storetest"
)

// TestStartupMigrationGivesDueOn: licences stored before dueOn existed
// (and the index the expiry sweep used then) are migrated when instances
// start, by two instances at once, and the sweep's read finds them.
func TestStartupMigrationGivesDueOn(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	due := storetest.NewCert(issuerA, typeA, 1, holderA, base)
	due.ValidUntil = ptr(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	gone := storetest.NewCert(issuerA, typeA, 2, holderA, base)
	gone.ValidUntil, gone.State = ptr(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)), certificate.Expired
	if _, err := s.Insert(ctx, []certificate.Certificate{due, gone}); err != nil {
		t.Fatal(err)
	}
	// As an older certd left them.
	db := connect(t).Database(s.Database())
	if _, err := db.Collection("certificates").UpdateMany(ctx, bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "dueOn", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("schema_migrations").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("certificates").Indexes().CreateOne(ctx, driver.IndexModel{
		Keys: bson.D{{Key: "current", Value: 1}, {Key: "validUntil", Value: 1}}, Options: options.Index().SetName("current_validUntil")}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DueForExpiry(ctx, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 10); err != nil || len(got) != 0 {
		t.Fatalf("before the migration: %d due, %v", len(got), err)
	}

	startTwice(t, s.Database())
	got, err := s.DueForExpiry(ctx, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 10)
	if err != nil || len(got) != 1 || got[0].ID != due.ID {
		t.Fatalf("after the migration: %+v, %v", got, err)
	}
	specs, err := db.Collection("certificates").Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		if sp.Name == "current_validUntil" {
			t.Fatal("the obsolete index was not dropped")
		}
	}
	if n, err := db.Collection("schema_migrations").CountDocuments(ctx, bson.D{{Key: "_id", Value: "0001_due_on"}}); err != nil || n != 1 {
		t.Fatalf("migration marker: %d, %v", n, err)
	}
}

func ptr[T any](v T) *T { return &v }

// startTwice opens two stores on database db at once and closes them, as
// two instances starting together do: their start-up migrations race.
func startTwice(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			s, err := mongo.Open(ctx, serverURI, mongo.WithDatabase(db))
			if err != nil {
				t.Error(err)
				return
			}
			_ = s.Close(ctx)
		})
	}
	wg.Wait()
}
