package main

import (
	"testing"

	"certd/internal/testkit"
)

// TestHelpPrintsHelpAndRunsNothing: --help and -h on every command of
// certd-bench print that command's help and exit 0, and run nothing.
func TestHelpPrintsHelpAndRunsNothing(t *testing.T) {
	testkit.CheckHelp(t, program(), run)
}
