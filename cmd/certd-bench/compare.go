package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"certd/cmd/certd-bench/internal/compare"
	"certd/internal/cli"
)

// compareCmd compares certd with the store and in-memory baselines, each
// in its own process, driven from load generator processes.
type compareCmd struct {
	Duration    time.Duration `default:"8s" help:"Length of each run (one operation at one server)."`
	Rounds      int           `default:"3" help:"Rounds; each drives every operation at every server in turn."`
	Concurrency int           `default:"32" help:"Requests in flight in each run."`
	Warmup      time.Duration `default:"2s" help:"One uncounted run of this length of each operation at each server first; 0 for none."`
	DataDir     string        `type:"path" help:"Data directory the servers share; default: a new temporary one with the demo data."`
	MongoURI    string        `env:"CERTD_MONGO_URI" help:"Serve MongoDB at this URI instead of the embedded store."`
	Certd       string        `type:"path" help:"The certd executable; default: certd beside this one, else one built from this module with go build."`
	Verbose     bool          `short:"v" help:"Pass the servers' logs to stderr."`
}

// Run builds what it needs, compares and prints the table; it fails when
// any request failed.
func (c *compareCmd) Run(ctx context.Context, e cli.Env) error {
	if c.Duration <= 0 || c.Duration > 10*time.Minute || c.Rounds <= 0 || c.Concurrency <= 0 || c.Warmup < 0 {
		return configError("--duration must be in (0, 10m], --rounds and --concurrency positive, --warmup not negative")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	certd := c.Certd
	if certd == "" {
		var cleanup func()
		if certd, cleanup, err = findCertd(ctx, self, e.Stderr); err != nil {
			return err
		}
		defer cleanup()
	}
	warmup := c.Warmup
	if warmup == 0 {
		warmup = -1 // none
	}
	logs := io.Discard
	if c.Verbose {
		logs = e.Stderr
	}
	res, err := compare.Run(ctx, compare.Options{CertdBin: certd, BenchBin: self, DataDir: c.DataDir, MongoURI: c.MongoURI,
		Duration: c.Duration, Rounds: c.Rounds, Concurrency: c.Concurrency, Warmup: warmup, Progress: e.Stderr, Logs: logs})
	if err != nil {
		return err
	}
	res.Print(e.Stdout)
	if n, first := res.Errors(); n > 0 {
		return fmt.Errorf("%d requests failed; first: %s", n, first)
	}
	return nil
}

// findCertd returns the certd beside self, or builds one from the module
// in the working directory into a temporary directory that cleanup
// removes.
func findCertd(ctx context.Context, self string, progress io.Writer) (bin string, cleanup func(), err error) {
	beside := filepath.Join(filepath.Dir(self), "certd")
	if fi, err := os.Stat(beside); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return beside, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "certd-bench-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, "certd")
	fmt.Fprintln(progress, "building certd (go build certd/cmd/certd)")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "certd/cmd/certd").CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("no certd beside %s, and go build certd/cmd/certd failed (run from the repository, or pass --certd): %w\n%s", self, err, out)
	}
	return bin, cleanup, nil
}
