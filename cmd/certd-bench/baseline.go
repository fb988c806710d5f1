package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"certd/cmd/certd-bench/internal/baseline"
	"certd/cmd/certd-bench/internal/loadgen"
	"certd/internal/cli"
)

// baselineCmd serves the bare gqlgen baseline (internal/baseline) over a
// data directory, for `certd-bench load` to compare with certd. It
// verifies no token, so it only listens on loopback.
type baselineCmd struct {
	Addr      string `default:"127.0.0.1:8081" help:"Loopback address to listen on."`
	DataDir   string `default:"./data" env:"CERTD_DATA_DIR" type:"path" help:"Data directory of the certd whose data to serve."`
	MongoURI  string `env:"CERTD_MONGO_URI" help:"Serve MongoDB at this URI instead of the embedded store."`
	MasterKey string `name:"master-key" env:"CERTD_MASTER_KEY" help:"Master key of the seal keys; default: the key file in --data-dir."`
	Memory    bool   `help:"Serve licences and cases from maps, each row read from the store once: the in-memory baseline."`
}

// Run serves the baseline until ctx is cancelled.
func (c *baselineCmd) Run(ctx context.Context, e cli.Env) error {
	if loadgen.CheckLoopback("http://"+c.Addr) != nil {
		return configError("--addr %q: the baseline checks no token, so it listens only on a loopback address (127.0.0.1, ::1, localhost)", c.Addr)
	}
	b, err := baseline.New(ctx, baseline.Options{DataDir: c.DataDir, MongoURI: c.MongoURI, MasterKey: c.MasterKey, Memory: c.Memory,
		Logger: slog.New(slog.NewTextHandler(e.Stderr, nil))})
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	kind := "store"
	if c.Memory {
		kind = "in-memory"
	}
	fmt.Fprintf(e.Stdout, "%s baseline (no authorization, no audit) on http://%s/graphql\n", kind, ln.Addr())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	<-served
	return nil
}
