package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"certd/internal/apperr"
	"certd/internal/catalogue"
	"certd/internal/store/ferrettest"
	"certd/internal/store/mongo"
	"certd/internal/store/storetest"
)

// serverURI is the FerretDB server shared by the package's tests; each
// test gets its own database on it.
var serverURI string

// withServer wraps m.Run so that the server stops before goleak looks for
// leaked goroutines.
type withServer struct{ m *testing.M }

func (w withServer) Run() int {
	dir, err := os.MkdirTemp("", "certd-mongo-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FerretDB data directory:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	uri, stop, err := ferrettest.StartServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start FerretDB for the mongo store tests:", err)
		return 1
	}
	defer stop()
	serverURI = uri
	return w.m.Run()
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(withServer{m}) }

var dbSeq atomic.Int32

// open returns a store on a fresh database that is closed after the test.
func open(t testing.TB) *mongo.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := mongo.Open(ctx, serverURI, mongo.WithDatabase(fmt.Sprintf("test%03d", dbSeq.Add(1))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestCatalogue(t *testing.T) {
	storetest.RunCatalogue(t, func(t *testing.T) catalogue.Repository { return open(t) })
}

func TestEnsureIndexesIdempotent(t *testing.T) {
	ctx := context.Background()
	s := open(t) // Open has created the indexes once
	for range 2 {
		if err := s.EnsureIndexes(ctx); err != nil {
			t.Fatal(err)
		}
	}
	client, err := driver.Connect(options.Client().ApplyURI(serverURI))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	for _, want := range mongo.Indexes() {
		specs, err := client.Database(s.Database()).Collection(want.Collection).Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, sp := range specs {
			if sp.Name != want.Name {
				continue
			}
			found = true
			unique := sp.Unique != nil && *sp.Unique
			if unique != want.Unique {
				t.Errorf("index %s.%s: unique=%v, want %v", want.Collection, want.Name, unique, want.Unique)
			}
			if wantKeys, _ := bson.Marshal(want.Keys); !bsonEqual(t, sp.KeysDocument, wantKeys) {
				t.Errorf("index %s.%s: keys %v, want %v", want.Collection, want.Name, sp.KeysDocument, want.Keys)
			}
		}
		if !found {
			t.Errorf("index %s.%s missing; have %+v", want.Collection, want.Name, specs)
		}
	}

	// The unique index on (kind, code, version) is enforced by the server.
	changes := client.Database(s.Database()).Collection("catalogue_changes")
	for i, want := range []bool{false, true} {
		_, err := changes.InsertOne(ctx, bson.D{{Key: "_id", Value: int64(100 + i)},
			{Key: "kind", Value: "unit"}, {Key: "code", Value: "c"}, {Key: "version", Value: 1}})
		if driver.IsDuplicateKeyError(err) != want {
			t.Fatalf("insert %d into catalogue_changes: %v, want duplicate key error: %v", i+1, err, want)
		}
	}
}

// bsonEqual compares two documents as printed, which ignores the numeric
// type (int32 or int64) a server chose for index directions.
func bsonEqual(t *testing.T, a, b bson.Raw) bool {
	t.Helper()
	var da, db bson.D
	if err := bson.Unmarshal(a, &da); err != nil {
		t.Fatal(err)
	}
	if err := bson.Unmarshal(b, &db); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(da) == fmt.Sprint(db)
}

func TestConcurrentAppendChange(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	at := time.Now().UTC().Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for v := 1; v <= 8; v++ {
		for range 2 { // each change twice, as a retry would
			wg.Go(func() {
				c := catalogue.Change{Kind: catalogue.KindUnit, Code: "11100000000013338W", Version: v, Action: "update", By: "a", At: at, Snapshot: []byte("{}")}
				if err := s.AppendChange(ctx, c); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	got, err := s.Changes(ctx, catalogue.KindUnit, "11100000000013338W")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for i, c := range got {
		if seen[c.Version] {
			t.Errorf("version %d stored twice", c.Version)
		}
		seen[c.Version] = true
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("seq not increasing: %d after %d", c.Seq, got[i-1].Seq)
		}
	}
	if len(got) != 8 {
		t.Fatalf("got %d changes, want 8", len(got))
	}
}

func TestDatabaseFromURI(t *testing.T) {
	ctx := context.Background()
	s, err := mongo.Open(ctx, serverURI+"fromuri")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if s.Database() != "fromuri" {
		t.Errorf("database %q, want fromuri", s.Database())
	}
	s2, err := mongo.Open(ctx, serverURI+"fromuri?connectTimeoutMS=5000", mongo.WithDatabase("override"))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close(ctx)
	if s2.Database() != "override" {
		t.Errorf("database %q, want override", s2.Database())
	}
}

// TestStaleClaimIsRemoved checks the recovery from an updater that
// crashed between claiming an update and releasing the claim: a fresh
// claim makes updates from that version fail with CONFLICT, a stale one
// is removed.
func TestStaleClaimIsRemoved(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	u := catalogue.Unit{Code: "11100000000013338W", Name: "A", Version: 1, Stamp: storetest.Stamp("a")}
	if err := s.CreateUnit(ctx, u); err != nil {
		t.Fatal(err)
	}
	client, err := driver.Connect(options.Client().ApplyURI(serverURI))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	claims := client.Database(s.Database()).Collection("update_claims")
	id := "units/1/" + u.Code // collection/prevVersion/code

	if _, err := claims.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "at", Value: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	u.Name, u.Version = "B", 2
	if err := s.UpdateUnit(ctx, u, 1); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("update while claimed: got %v, want CONFLICT", err)
	}

	if _, err := claims.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: time.Now().Add(-time.Hour)}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateUnit(ctx, u, 1); err != nil {
		t.Fatalf("update after a stale claim: %v", err)
	}
	if n, err := claims.CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Fatalf("claims left after the update: %d, %v", n, err)
	}
}
