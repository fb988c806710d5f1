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
	"certd/internal/certificate"
	"certd/internal/keyring"
	"certd/internal/lease"
	"certd/internal/registry"
	"certd/internal/store/ferrettest"
	"certd/internal/store/mongo"
	"certd/internal/store/mongo/plancheck"
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
	code := w.m.Run()
	if code == 0 && !planCheckOff {
		code = checkPlans()
	}
	return code
}

// recorder keeps the queries every store opened by open sends, for the
// plan check that runs once all tests have passed.
var recorder = &plancheck.Recorder{CallerPrefix: "certd/internal/store/mongo."}

// planCheckOff is set by tests that run only part of the suite on
// purpose; a `go test -run` does so too (see checkPlans).
var planCheckOff bool

// checkPlans judges every query the stores sent during the tests against
// the declared indexes (plancheck): a collection scan, an in-memory sort
// or a sort an index cannot give fails the package.
func checkPlans() int {
	rep := plancheck.Check(mongo.Decls(), recorder.Queries())
	problems := rep.Problems()
	if len(problems) == 0 {
		if testing.Verbose() {
			fmt.Printf("plan check: %d query shapes, each served by a declared index\n", len(rep.Plans))
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "--- FAIL: plan check: %d of %d query shapes the store sent are not served by a declared index\n", len(problems), len(rep.Plans))
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "  "+p)
	}
	return 1
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(withServer{m}) }

var dbSeq atomic.Int32

// nextDB names a fresh database.
func nextDB() string { return fmt.Sprintf("test%03d", dbSeq.Add(1)) }

// open returns a store on a fresh database that is closed after the test.
func open(t testing.TB) *mongo.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := mongo.Open(ctx, serverURI, mongo.WithDatabase(nextDB()), mongo.WithMonitor(recorder.Monitor()))
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

func TestCertificates(t *testing.T) {
	storetest.RunCertificates(t, func(t *testing.T) certificate.Repository { return open(t) })
}

func TestSealKeys(t *testing.T) {
	storetest.RunSealKeys(t, func(t *testing.T) keyring.Repository { return open(t) })
}

func TestRegistry(t *testing.T) {
	storetest.RunRegistry(t, func(t *testing.T) registry.Repository { return open(t) })
}

// connect returns a plain driver client of the test server, to change
// the store's collections behind its back.
func connect(t testing.TB) *driver.Client {
	t.Helper()
	client, err := driver.Connect(options.Client().ApplyURI(serverURI))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

// TestRepairAfterCrashedSupersede simulates a Supersede that crashed after
// inserting the new version and before marking the old one, and one that
// crashed before inserting it: Repair, visiting the pending intents only
// (once older than the grace period), fixes exactly the one version and
// drops both intents, and a second run finds nothing to do.
func TestRepairAfterCrashedSupersede(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	c := storetest.NewCert("11110000000021135M", "11100000000013338W011", 1, "321083197812162119", base)
	other := storetest.NewCert("11110000000021135M", "11100000000013338W011", 2, "321083197812162119", base)
	if _, err := s.Insert(ctx, []certificate.Certificate{c, other}); err != nil {
		t.Fatal(err)
	}
	// A consistent second licence with two versions is left alone.
	next := other
	id, _ := certificate.ParseID(other.ID)
	id.Version = 2
	next.ID, next.Version, next.Rev, next.IssuedAt = id.String(), 2, 1, base.Add(time.Hour)
	if err := s.Supersede(ctx, other, 1, next); err != nil {
		t.Fatal(err)
	}

	// The crash: version 2 of c is stored, version 1 is still current.
	id, _ = certificate.ParseID(c.ID)
	id.Version = 2
	v2 := c
	v2.ID, v2.Version, v2.Rev, v2.IssuedAt = id.String(), 2, 1, base.Add(time.Hour)
	doc := bson.D{{Key: "_id", Value: v2.ID}, {Key: "lineage", Value: v2.Lineage}, {Key: "typeCode", Value: v2.TypeCode},
		{Key: "issuerCode", Value: v2.IssuerCode}, {Key: "serial", Value: v2.Serial}, {Key: "version", Value: 2},
		{Key: "holderCode", Value: v2.Holder.Code}, {Key: "state", Value: "VALID"}, {Key: "current", Value: true},
		{Key: "successor", Value: ""}, {Key: "data", Value: bson.D{}}, {Key: "issuedAt", Value: v2.IssuedAt}, {Key: "rev", Value: 1}}
	db := connect(t).Database(s.Database())
	if _, err := db.Collection("certificates").InsertOne(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx, certificate.Filter{CurrentOnly: true}); err != nil || n != 3 {
		t.Fatalf("current versions before repair: %d, %v", n, err)
	}
	// The intent the crashed supersession wrote first, and one of a
	// supersession that crashed before storing its new version.
	intent := func(lineage, oldID, nextID string, at time.Time) {
		t.Helper()
		_, err := db.Collection("supersede_intents").InsertOne(ctx, bson.D{{Key: "_id", Value: "1/" + oldID},
			{Key: "lineage", Value: lineage}, {Key: "oldId", Value: oldID}, {Key: "prevRev", Value: 1},
			{Key: "nextId", Value: nextID}, {Key: "at", Value: at}})
		if err != nil {
			t.Fatal(err)
		}
	}
	intent(c.Lineage, c.ID, v2.ID, time.Now().Add(-time.Minute))
	abandoned := storetest.NewCert("11110000000021135M", "11100000000013338W011", 3, "321083197812162119", base)
	if _, err := s.Insert(ctx, []certificate.Certificate{abandoned}); err != nil {
		t.Fatal(err)
	}
	intent(abandoned.Lineage, abandoned.ID, abandoned.ID+"-never-stored", time.Now().Add(-time.Hour))
	pending := func() int64 {
		t.Helper()
		n, err := db.Collection("supersede_intents").CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// An intent younger than the grace period may belong to a
	// supersession still running: it is left alone.
	if n, err := s.Repair(ctx); err != nil || n != 0 || pending() != 1 {
		t.Fatalf("repair with a recent intent: fixed %d, %v, %d pending", n, err, pending())
	}
	if _, err := db.Collection("supersede_intents").UpdateOne(ctx, bson.D{{Key: "_id", Value: "1/" + c.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: time.Now().Add(-10 * time.Minute)}}}}); err != nil {
		t.Fatal(err)
	}

	n, err := s.Repair(ctx)
	if err != nil || n != 1 {
		t.Fatalf("repair: fixed %d, %v; want 1", n, err)
	}
	old, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Current || old.State != certificate.Superseded || old.Successor != v2.ID || old.Rev != 2 {
		t.Fatalf("old version after repair: current %v state %s successor %s rev %d", old.Current, old.State, old.Successor, old.Rev)
	}
	if got, err := s.Get(ctx, v2.ID); err != nil || !got.Current {
		t.Fatalf("new version after repair: %+v, %v", got, err)
	}
	if n, err := s.Count(ctx, certificate.Filter{CurrentOnly: true}); err != nil || n != 3 {
		t.Fatalf("current versions after repair (c, other and abandoned): %d, %v", n, err)
	}
	if n, err := s.Repair(ctx); err != nil || n != 0 {
		t.Fatalf("second repair: fixed %d, %v; want 0", n, err)
	}
	if pending() != 0 {
		t.Fatalf("%d intents left after repair", pending())
	}
	if got, err := s.Get(ctx, abandoned.ID); err != nil || !got.Current || got.Rev != 1 {
		t.Fatalf("the licence of an abandoned supersession: %+v, %v", got, err)
	}
	// The repaired version moved on by one rev: an update from the old rev
	// is refused.
	if err := s.Update(ctx, c, 1); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("update from the pre-repair rev: %v", err)
	}
}

// TestRepairRemovesStaleClaims checks that Repair clears claims left by
// crashed updaters and leaves fresh ones.
func TestRepairRemovesStaleClaims(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	claims := connect(t).Database(s.Database()).Collection("update_claims")
	for _, d := range []bson.D{
		{{Key: "_id", Value: "certificates/1/stale"}, {Key: "at", Value: time.Now().Add(-time.Hour)}},
		{{Key: "_id", Value: "certificates/1/fresh"}, {Key: "at", Value: time.Now()}},
	} {
		if _, err := claims.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Repair(ctx); err != nil || n != 0 {
		t.Fatalf("repair: %d, %v", n, err)
	}
	var left []claimDoc
	cur, err := claims.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &left); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ID != "certificates/1/fresh" {
		t.Fatalf("claims left: %+v", left)
	}
}

type claimDoc struct {
	ID string `bson:"_id"`
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
	names := map[string]bool{}
	for _, want := range mongo.Indexes() {
		if want.Purpose == "" {
			t.Errorf("index %s.%s has no purpose", want.Collection, want.Name)
		}
		if names[want.Collection+"."+want.Name] {
			t.Errorf("index %s.%s listed twice", want.Collection, want.Name)
		}
		names[want.Collection+"."+want.Name] = true
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

	// The unique index on (lineage, version) is enforced by the server.
	certs := client.Database(s.Database()).Collection("certificates")
	for i, want := range []bool{false, true} {
		_, err := certs.InsertOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("id%d", i)},
			{Key: "lineage", Value: "l"}, {Key: "version", Value: 2}})
		if driver.IsDuplicateKeyError(err) != want {
			t.Fatalf("insert %d into certificates: %v, want duplicate key error: %v", i+1, err, want)
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

func TestLeases(t *testing.T) {
	storetest.RunLeases(t, func(t *testing.T) lease.Repository { return open(t) })
}
