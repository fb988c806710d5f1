// Package cli parses certd's command line and runs its subcommands. Every
// flag of `certd serve` can also be set as an environment variable
// CERTD_<NAME>.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"

	"certd/internal/app"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitError  = 1
	ExitConfig = 2
)

// root is the command tree.
type root struct {
	Serve    serveCmd    `cmd:"" help:"Run the certd server."`
	Token    tokenCmd    `cmd:"" help:"Print a token signed with the data directory's key (embedded mode)."`
	Registry registryCmd `cmd:"" help:"Manage the embedded base registry (第八条)."`
	Import   importCmd   `cmd:"" help:"Import stock licences (第十一条) from a JSONL or CSV file through a running server."`
	Audit    auditCmd    `cmd:"" help:"Verify and export the tamper-evident audit log (第十八条)."`
	Report   reportCmd   `cmd:"" help:"Write the supervision report (第十九条) of a period as CSV."`
}

// Env is where commands write and what they read besides flags.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
}

// Run parses args and runs the chosen command until it ends or ctx is
// cancelled, and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	return RunProgram(ctx, Certd(), args, env)
}

// Certd is certd's command line.
func Certd() Program {
	return Program{Name: "certd", Description: "certd: the city's e-licence sharing platform (电子证照共享服务平台).", Tree: &root{}}
}

// CommandPaths lists every command of prog, e.g. "serve" and "audit
// verify", hidden ones included.
func CommandPaths(prog Program) ([]string, error) {
	parser, err := kong.New(prog.Tree, kong.Name(prog.Name), kong.Exit(func(int) {}))
	if err != nil {
		return nil, err
	}
	var paths []string
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, c := range n.Children {
			if c.Type == kong.CommandNode {
				paths = append(paths, c.Path())
				walk(c)
			}
		}
	}
	walk(parser.Model.Node)
	return paths, nil
}

// Program is a command line: its name, its description and its tree of
// kong commands (a pointer to a struct of `cmd:""` fields whose Run
// methods take a context.Context and an Env). certd and certd-bench are
// both one.
type Program struct {
	Name, Description string
	Tree              any
}

// RunProgram parses args against prog's tree and runs the chosen command
// until it ends or ctx is cancelled, and returns the process exit code:
// ExitConfig for bad flags and app.ErrConfig, the code of an error made
// by ExitCode, ExitError for any other error.
func RunProgram(ctx context.Context, prog Program, args []string, env Env) int {
	// kong asks to exit after printing help (--help, -h): remember it and
	// run nothing, instead of going on to run the command.
	exit := -1
	parser, err := kong.New(prog.Tree,
		kong.Name(prog.Name),
		kong.Description(prog.Description),
		kong.UsageOnError(),
		kong.Writers(env.Stdout, env.Stderr),
		kong.Exit(func(code int) {
			if exit < 0 {
				exit = code
			}
		}),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(env),
	)
	if err != nil {
		fmt.Fprintln(env.Stderr, prog.Name+":", err)
		return ExitError
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 {
		return exit
	}
	if err != nil {
		if len(args) == 0 {
			return RunProgram(ctx, prog, []string{"--help"}, env)
		}
		fmt.Fprintln(env.Stderr, prog.Name+":", err)
		return ExitConfig
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintln(env.Stderr, prog.Name+":", err)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		if errors.Is(err, app.ErrConfig) {
			return ExitConfig
		}
		return ExitError
	}
	return ExitOK
}

// ExitCode is err with the exit code RunProgram returns for it.
func ExitCode(code int, err error) error { return exitError{code: code, err: err} }

// Main is the whole of cmd/certd.
func Main(ctx context.Context) int {
	return Run(ctx, os.Args[1:], Env{Stdout: os.Stdout, Stderr: os.Stderr})
}
