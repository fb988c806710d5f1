package main

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestBinaryHoldsNoBenchmarkServer checks that the certd binary links none
// of the benchmark tools: the baseline serves licences without checking a
// token or writing the audit, so it lives in cmd/certd-bench only, and
// `certd --help` offers no command of it.
func TestBinaryHoldsNoBenchmarkServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "certd/internal/app") {
		t.Fatalf("go list -deps lists no certd/internal/app; the check would see nothing:\n%s", out)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "certd/cmd/certd-bench") || strings.HasSuffix(p, "/baseline") || strings.HasSuffix(p, "/loadgen") {
			t.Errorf("the certd binary links the benchmark package %s", p)
		}
	}
	help, _ := exec.Command(bin, "--help").CombinedOutput()
	if !strings.Contains(string(help), "serve") {
		t.Fatalf("certd --help lists no serve command:\n%s", help)
	}
	if m := regexp.MustCompile(`(?m)^\s+(baseline|load|compare|seed)\b.*$`).FindString(string(help)); m != "" {
		t.Errorf("certd --help offers a benchmark command: %q", m)
	}
}
