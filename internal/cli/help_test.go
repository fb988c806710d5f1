package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"certd/internal/cli"
	"certd/internal/testkit"
)

// TestHelpPrintsHelpAndRunsNothing: --help and -h on every command of
// certd print that command's help and exit 0, and run nothing.
func TestHelpPrintsHelpAndRunsNothing(t *testing.T) {
	paths, err := cli.CommandPaths(cli.Certd())
	if err != nil || len(paths) < 8 {
		t.Fatalf("commands: %v %v", paths, err)
	}
	testkit.CheckHelp(t, cli.Certd(), cli.Run)
}

func TestNoArgumentsPrintsUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cli.Run(t.Context(), nil, cli.Env{Stdout: &stdout, Stderr: &stderr}); code != cli.ExitOK || !strings.Contains(stdout.String(), "Usage: certd") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
