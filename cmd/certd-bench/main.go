// Command certd-bench holds certd's benchmark tools, kept out of the
// product binary: `certd-bench baseline` serves the bare gqlgen baseline
// (no token checks, no audit; loopback only) over a store or from memory,
// `certd-bench load` drives a request mix at a server on this machine,
// `certd-bench compare` compares certd with both baselines, each in its
// own process, and `certd-bench seed` fills a store for scale benchmarks.
// See docs/load.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the city's time zone, even without system zoneinfo

	"certd/internal/cli"
)

type root struct {
	Baseline baselineCmd `cmd:"" help:"Serve the bare gqlgen baseline (no authorization, no audit) over a data directory, on loopback."`
	Load     loadCmd     `cmd:"" help:"Drive a realistic request mix at a server on this machine and print throughput and latency percentiles."`
	Compare  compareCmd  `cmd:"" help:"Run certd, the store baseline and the in-memory baseline as separate processes over one data directory and compare them operation by operation."`
	Seed     seedCmd     `cmd:"" help:"Fill a store with made-up licences, cases and audit records, through the store, for scale benchmarks."`
}

// run runs the command line args; it returns the process exit code.
func run(ctx context.Context, args []string, env cli.Env) int {
	return cli.RunProgram(ctx, program(), args, env)
}

func program() cli.Program {
	return cli.Program{Name: "certd-bench",
		Description: "certd-bench: certd's benchmark tools, never deployed (docs/load.md).", Tree: &root{}}
}

func configError(format string, args ...any) error {
	return cli.ExitCode(cli.ExitConfig, fmt.Errorf(format, args...))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
