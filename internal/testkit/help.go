package testkit

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"certd/internal/cli"
)

// CheckHelp runs every command of prog (as cli.CommandPaths lists them,
// and the program itself) with --help and with -h through run, in an empty
// working directory and with a cancelled context, and fails unless each
// prints its own help on stdout, nothing on stderr, and exits 0, and
// nothing ran: no data directory or other file appears.
func CheckHelp(t *testing.T, prog cli.Program, run func(ctx context.Context, args []string, env cli.Env) int) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	paths, err := cli.CommandPaths(prog)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("%s has no commands", prog.Name)
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
			go func() { done <- run(ctx, args, cli.Env{Stdout: &stdout, Stderr: &stderr}) }()
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s %s did not return", prog.Name, strings.Join(args, " "))
			}
			want := strings.TrimSpace("Usage: " + prog.Name + " " + path)
			if code != cli.ExitOK || !strings.HasPrefix(stdout.String(), want) || stderr.Len() != 0 {
				t.Errorf("%s %s: exit %d, stdout %.80q, stderr %q; want exit 0 and help starting %q",
					prog.Name, strings.Join(args, " "), code, stdout.String(), stderr.String(), want)
			}
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("--help left files in the working directory: %v", ents)
	}
}
