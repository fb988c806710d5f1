package main

import (
	"encoding/csv"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestReportWritesCSV(t *testing.T) {
	dir := t.TempDir()
	_, url := serve(t, dir, "--demo")
	sup := token(t, dir, "--sub", "v", "--role", "supervisor")
	today := time.Now().Format(time.DateOnly)
	cmd := exec.Command(bin, "report", "--server", url, "--from", "2026-01-01", "--to", today)
	cmd.Env = append(cmd.Environ(), "CERTD_TOKEN="+sup)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("certd report: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || !strings.Contains(rows[0][3], "issued") {
		t.Fatalf("report:\n%s", out)
	}
	for _, r := range rows[1:] {
		if r[0] == "11350100MB00000025" && r[3] != "3" {
			t.Fatalf("the market registry issued %s demo licences, want 3:\n%s", r[3], out)
		}
	}
	staff := token(t, dir, "--sub", "s", "--org", "11350100MB0000004B", "--role", "staff")
	cmd = exec.Command(bin, "report", "--server", url, "--from", "2026-01-01", "--to", today)
	cmd.Env = append(cmd.Environ(), "CERTD_TOKEN="+staff)
	if err := cmd.Run(); err == nil || err.(*exec.ExitError).ExitCode() != 4 {
		t.Fatalf("staff running the report: %v", err)
	}
}
