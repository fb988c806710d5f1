package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCompare runs `certd-bench compare` as a user would, from built
// binaries (certd beside certd-bench), for a moment per run: certd, the
// store baseline and the in-memory baseline start as processes over one
// temporary data directory, every operation is driven at each, and the
// table has each server's figures and both ratios per operation, and
// nothing is left behind.
func TestCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs five kinds of process")
	}
	dir := t.TempDir()
	for _, pkg := range []string{"certd/cmd/certd", "certd/cmd/certd-bench"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, filepath.Base(pkg)), pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	cmd := exec.Command(filepath.Join(dir, "certd-bench"), "compare", "--duration", "400ms", "--rounds", "1", "--concurrency", "2", "--warmup", "0")
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("compare: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	t.Logf("\n%s", out)
	rate := regexp.MustCompile(`(?m)^(\S+)\s+(certd|store-baseline|memory-baseline)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(\d+)\s`)
	ratio := regexp.MustCompile(`(?m)^(\S+)\s+certd/(store|memory)\s+([0-9.]+)\s`)
	for _, op := range []string{"case.read", "holder.read", "verify"} {
		servers := map[string]bool{}
		for _, m := range rate.FindAllStringSubmatch(string(out), -1) {
			if m[1] != op {
				continue
			}
			r, _ := strconv.ParseFloat(m[3], 64)
			if r <= 0 || m[6] != "0" {
				t.Errorf("%s at %s: %s req/s, %s errors", op, m[2], m[3], m[6])
			}
			servers[m[2]] = true
		}
		if len(servers) != 3 {
			t.Errorf("%s: rows of %v, want certd and both baselines", op, servers)
		}
		ratios := 0
		for _, m := range ratio.FindAllStringSubmatch(string(out), -1) {
			if r, _ := strconv.ParseFloat(m[3], 64); m[1] == op && r > 0 {
				ratios++
			}
		}
		if ratios != 2 {
			t.Errorf("%s: %d positive ratios, want certd/store and certd/memory", op, ratios)
		}
	}
	// The temporary data directory is gone, the servers with it.
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("compare left %s in the temporary directory", left[0].Name())
	}
}
