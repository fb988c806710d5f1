package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"certd/internal/demo"
)

// writeStock writes n rows of 食品经营许可证 stock licences as CSV, with
// one bad row every badEvery rows (0 for none).
func writeStock(t *testing.T, path string, n, badEvery int) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"holderCode", "holderName", "holderKind", "validUntil", "operatorName", "premises", "mainForm", "scope", "centralKitchen"})
	for i := range n {
		row := []string{demo.ResidentID(i), fmt.Sprintf("个体户%05d", i), "PERSON", "2030-12-31",
			fmt.Sprintf("示例小吃店%05d", i), fmt.Sprintf("福州市台江区示例街%d号", i), "餐饮服务经营者", "热食类食品制售", "false"}
		if badEvery > 0 && i%badEvery == badEvery-1 {
			row[8] = "maybe" // not a boolean
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func runImport(t *testing.T, url, tok, file string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, "import", "--server", url, "--type", "11350100MB00000025002", file)
	cmd.Env = append(os.Environ(), "CERTD_TOKEN="+tok)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stderr.String(), code
}

func countLicences(t *testing.T, url, tok string) int {
	t.Helper()
	out := gql(t, url, tok, `{ certificates(filter: {typeCode: "11350100MB00000025002"}) { totalCount } }`)
	data, _ := out["data"].(map[string]any)
	conn, _ := data["certificates"].(map[string]any)
	n, _ := conn["totalCount"].(float64)
	return int(n)
}

func TestImportTwiceCreatesNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("10k sealed licences in -short mode")
	}
	dir := t.TempDir()
	_, url := serve(t, dir, "--demo")
	tok := token(t, dir, "--sub", "importer", "--org", "11350100MB00000025", "--role", "issuer", "--role", "importer", "--amr", "cert")
	file := filepath.Join(t.TempDir(), "stock.csv")
	writeStock(t, file, 10_000, 0)
	before := countLicences(t, url, tok)

	out, code := runImport(t, url, tok, file)
	if code != 0 {
		t.Fatalf("first import exited %d: %s", code, out)
	}
	if got := countLicences(t, url, tok) - before; got != 10_000 {
		t.Fatalf("first import created %d licences; output:\n%s", got, out)
	}
	out, code = runImport(t, url, tok, file)
	if code != 0 || !strings.Contains(out, "10000 duplicates") && !strings.Contains(out, "duplicates: 10000") && !strings.Contains(out, "10,000") {
		t.Logf("second import output:\n%s", out)
	}
	if code != 0 {
		t.Fatalf("second import exited %d", code)
	}
	if got := countLicences(t, url, tok) - before; got != 10_000 {
		t.Fatalf("after the second import: %d licences", got)
	}
	if _, err := os.Stat(file + ".progress"); !os.IsNotExist(err) {
		t.Fatalf("the progress file outlived a complete run: %v", err)
	}
}

func TestImportRejectsAndResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("sealed licences in -short mode")
	}
	dir := t.TempDir()
	_, url := serve(t, dir, "--demo")
	tok := token(t, dir, "--sub", "importer", "--org", "11350100MB00000025", "--role", "issuer", "--role", "importer", "--amr", "cert")
	file := filepath.Join(t.TempDir(), "stock.csv")
	writeStock(t, file, 6000, 1000) // 6 bad rows
	before := countLicences(t, url, tok)

	cmd := exec.Command(bin, "import", "--server", url, "--type", "11350100MB00000025002", "--batch-size", "200", file)
	cmd.Env = append(os.Environ(), "CERTD_TOKEN="+tok)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it without warning once some batches are in.
	deadline := time.Now().Add(30 * time.Second)
	for countLicences(t, url, tok)-before < 1000 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	mid := countLicences(t, url, tok) - before
	if mid >= 5994 {
		t.Skipf("the import finished before it could be killed (%d)", mid)
	}

	out, code := runImport(t, url, tok, file)
	if code != 3 {
		t.Fatalf("resumed import with rejects exited %d: %s", code, out)
	}
	if got := countLicences(t, url, tok) - before; got != 5994 {
		t.Fatalf("after kill and resume: %d licences, want 5994 (killed at %d)", got, mid)
	}
	rejects, err := os.ReadFile(file + ".rejects.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(rejects)), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], "true or false") || !strings.Contains(lines[0], `"line"`) {
		t.Fatalf("rejects file:\n%s", rejects)
	}
}
