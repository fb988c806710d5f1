package ferrettest_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"certd/internal/store/ferrettest"
)

// The servers stop without leaving goroutines behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// connect returns a client of the server at uri, disconnected on cleanup
// (before the server stops, as cleanups run last-registered first).
func connect(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func TestServersAreIndependent(t *testing.T) {
	ctx := context.Background()
	a, b := connect(t, ferrettest.Start(t)), connect(t, ferrettest.Start(t))
	if _, err := a.Database("db").Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Database("db").Collection("c").FindOne(ctx, bson.D{{Key: "_id", Value: "x"}}).Err(); err != nil {
		t.Fatalf("server a lost its document: %v", err)
	}
	err := b.Database("db").Collection("c").FindOne(ctx, bson.D{{Key: "_id", Value: "x"}}).Err()
	if !errors.Is(err, mongo.ErrNoDocuments) {
		t.Fatalf("server b: got %v, want no documents", err)
	}
}

func TestStartServerConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for range 3 {
		dir := t.TempDir()
		wg.Go(func() {
			uri, stop, err := ferrettest.StartServer(dir)
			if err != nil {
				t.Error(err)
				return
			}
			defer stop()
			c, err := mongo.Connect(options.Client().ApplyURI(uri))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Disconnect(context.Background())
			if err := c.Ping(context.Background(), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
