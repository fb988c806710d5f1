package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"certd/internal/baseline"
	"certd/internal/loadgen"
)

type loadCmd struct {
	Server      string        `required:"" env:"CERTD_SERVER" help:"certd base URL on this machine, e.g. http://127.0.0.1:8080; only loopback addresses are accepted."`
	StaffToken  string        `required:"" env:"CERTD_STAFF_TOKEN" help:"Bearer token of staff of a unit handling matter 350100-SP-0002 (case reads)."`
	HolderToken string        `required:"" env:"CERTD_HOLDER_TOKEN" help:"Bearer token of holder 91350100MA0000001P (holder reads)."`
	IssuerToken string        `required:"" env:"CERTD_ISSUER_TOKEN" help:"Bearer token of an issuer of the food licence, amr cert (issuance)."`
	Concurrency int           `default:"32" help:"Requests in flight."`
	Duration    time.Duration `default:"10s" help:"How long to drive load (at most 10m)."`
}

// Run drives the mix against the server and prints the report.
func (c *loadCmd) Run(ctx context.Context, env Env) error {
	if c.Concurrency <= 0 {
		return exitError{code: ExitConfig, err: fmt.Errorf("--concurrency must be positive, not %d", c.Concurrency)}
	}
	if c.Duration <= 0 || c.Duration > loadgen.MaxDuration {
		return exitError{code: ExitConfig, err: fmt.Errorf("--duration must be in (0, %s], not %s", loadgen.MaxDuration, c.Duration)}
	}
	if err := loadgen.CheckLoopback(c.Server); err != nil {
		return exitError{code: ExitConfig, err: err}
	}
	rep, err := loadgen.Run(ctx, loadgen.Options{
		Server: c.Server, StaffToken: c.StaffToken, HolderToken: c.HolderToken, IssuerToken: c.IssuerToken,
		Concurrency: c.Concurrency, Duration: c.Duration,
	})
	if errors.Is(err, context.Canceled) {
		return exitError{code: ExitInterrupted, err: err}
	}
	if err != nil {
		return err
	}
	rep.Print(env.Stdout)
	return nil
}

// baselineCmd serves the bare gqlgen baseline of the load figures
// (internal/baseline) over a data directory, for `certd load` to compare
// with certd. It verifies no token, so it only listens on loopback.
type baselineCmd struct {
	Addr      string `default:"127.0.0.1:8081" help:"Loopback address to listen on."`
	DataDir   string `default:"./data" env:"CERTD_DATA_DIR" type:"path" help:"Data directory of the certd whose data to serve."`
	MongoURI  string `env:"CERTD_MONGO_URI" help:"Serve MongoDB at this URI instead of the embedded store."`
	MasterKey string `name:"master-key" env:"CERTD_MASTER_KEY" help:"Master key of the seal keys; default: the key file in --data-dir."`
}

// Run serves the baseline until ctx is cancelled.
func (c *baselineCmd) Run(ctx context.Context, env Env) error {
	if loadgen.CheckLoopback("http://"+c.Addr) != nil {
		return exitError{code: ExitConfig, err: fmt.Errorf("--addr %q: the baseline checks no token, so it listens only on a loopback address (127.0.0.1, ::1, localhost)", c.Addr)}
	}
	b, err := baseline.New(ctx, baseline.Options{DataDir: c.DataDir, MongoURI: c.MongoURI, MasterKey: c.MasterKey,
		Logger: slog.New(slog.NewTextHandler(env.Stderr, nil))})
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
	fmt.Fprintf(env.Stdout, "baseline (no authorization, no audit) on http://%s/graphql\n", ln.Addr())
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
