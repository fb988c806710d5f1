// Package ferrettest starts an in-process FerretDB (SQLite backend) for
// tests, so that the MongoDB store can be tested without a MongoDB server.
//
// Use Start from a test, or StartServer from a TestMain to share one
// server among all tests of a package. Every call starts an independent
// server with its own data directory and port.
package ferrettest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Start starts a FerretDB server whose data lives in t.TempDir and returns
// its MongoDB URI (mongodb://127.0.0.1:PORT/). The server stops on
// t.Cleanup; clients should disconnect before then (cleanups registered
// later run earlier), or stopping waits up to FerretDB's 3 s grace period.
func Start(t testing.TB) (uri string) {
	t.Helper()
	uri, stop, err := StartServer(t.TempDir())
	if err != nil {
		t.Fatalf("ferrettest: %v", err)
	}
	t.Cleanup(stop)
	return uri
}

// newMu serializes ferretdb.New, which writes a package-level variable
// (version.Get().Package) and so races when servers start in parallel.
var newMu sync.Mutex

// StartServer starts a FerretDB server that stores its SQLite files in dir
// (which must exist) and listens on a free port of 127.0.0.1. It returns
// once the server accepts connections. stop cancels the server and waits
// for it to shut down; it is safe to call more than once.
func StartServer(dir string) (uri string, stop func(), err error) {
	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		// New opens the listener itself, so port 0 is resolved before Run
		// and MongoDBURI reports the real port.
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler:  "sqlite",
		// A directory URI; FerretDB wants the trailing slash.
		SQLiteURL: "file:" + dir + "/",
	})
	newMu.Unlock()
	if err != nil {
		return "", nil, fmt.Errorf("start FerretDB: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx) // always nil
	}()
	stop = sync.OnceFunc(func() {
		cancel()
		<-done
	})

	uri = f.MongoDBURI()
	if err := waitAccepting(uri, 10*time.Second); err != nil {
		stop()
		return "", nil, err
	}
	return uri, stop, nil
}

// waitAccepting dials the server until a TCP connection succeeds.
func waitAccepting(uri string, timeout time.Duration) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("FerretDB URI %q: %w", uri, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("FerretDB at %s does not accept connections: %w", u.Host, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
