package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

// commandPaths lists every command of the tree, e.g. "serve", "audit
// verify", hidden ones included.
func commandPaths(t *testing.T) []string {
	t.Helper()
	var cli root
	parser, err := kong.New(&cli, kong.Name("certd"), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, c := range n.Children {
			if c.Type != kong.CommandNode {
				continue
			}
			paths = append(paths, c.Path())
			walk(c)
		}
	}
	walk(parser.Model.Node)
	return paths
}

// TestHelpPrintsHelpAndRunsNothing: --help and -h on every command print
// that command's help on stdout and exit 0, and nothing runs: no server
// starts, no data directory appears in the working directory, nothing is
// written to stderr.
func TestHelpPrintsHelpAndRunsNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	paths := commandPaths(t)
	if len(paths) < 10 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	// A cancelled context: a command that wrongly runs stops soon, and
	// still leaves its traces (a data directory, a message on stderr).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range append([]string{""}, paths...) {
		for _, flag := range []string{"--help", "-h"} {
			args := append(strings.Fields(path), flag)
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- Run(ctx, args, Env{Stdout: &stdout, Stderr: &stderr}) }()
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("certd %s did not return", strings.Join(args, " "))
			}
			want := strings.TrimSpace("Usage: certd " + path)
			if code != ExitOK || !strings.HasPrefix(stdout.String(), want) || stderr.Len() != 0 {
				t.Errorf("certd %s: exit %d, stdout %.80q, stderr %q; want exit 0 and help starting %q",
					strings.Join(args, " "), code, stdout.String(), stderr.String(), want)
			}
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("--help left files in the working directory: %v", ents)
	}
}

func TestNoArgumentsPrintsUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Run(t.Context(), nil, Env{Stdout: &stdout, Stderr: &stderr}); code != ExitOK || !strings.Contains(stdout.String(), "Usage: certd") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
