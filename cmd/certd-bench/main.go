// Command certd-bench holds certd's benchmark tools, kept out of the
// product binary: `certd-bench baseline` serves the bare gqlgen baseline
// (no token checks, no audit; loopback only), `certd-bench load` drives a
// request mix at a server on this machine. See docs/load.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the city's time zone, even without system zoneinfo

	"github.com/alecthomas/kong"

	"certd/internal/app"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitConfig      = 2
	exitInterrupted = 130
)

type root struct {
	Baseline baselineCmd `cmd:"" help:"Serve the bare gqlgen baseline (no authorization, no audit) over a data directory, on loopback."`
	Load     loadCmd     `cmd:"" help:"Drive a realistic request mix at a server on this machine and print throughput and latency percentiles."`
}

// env is where commands write.
type env struct {
	Stdout, Stderr io.Writer
}

// codeError carries a command's exit code.
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string { return e.err.Error() }
func (e codeError) Unwrap() error { return e.err }

func configError(format string, args ...any) error {
	return codeError{code: exitConfig, err: fmt.Errorf(format, args...)}
}

// run parses args and runs the chosen command until it ends or ctx is
// cancelled, and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	var cli root
	parser, err := kong.New(&cli,
		kong.Name("certd-bench"),
		kong.Description("certd-bench: benchmark tools of certd (never deployed)."),
		kong.UsageOnError(),
		kong.Writers(e.Stdout, e.Stderr),
		kong.Exit(func(int) {}),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(e),
	)
	if err != nil {
		fmt.Fprintln(e.Stderr, "certd-bench:", err)
		return exitError
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		for _, a := range args {
			if a == "-h" || a == "--help" {
				return exitOK
			}
		}
		if len(args) == 0 {
			return exitOK
		}
		fmt.Fprintln(e.Stderr, "certd-bench:", err)
		return exitConfig
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintln(e.Stderr, "certd-bench:", err)
		var ce codeError
		switch {
		case errors.As(err, &ce):
			return ce.code
		case errors.Is(err, app.ErrConfig):
			return exitConfig
		case errors.Is(err, context.Canceled):
			return exitInterrupted
		}
		return exitError
	}
	return exitOK
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
