package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/cli"
	"certd/internal/testkit"
)

// TestBaselineCommand serves the baseline with `certd-bench baseline` over a
// demo data directory until cancelled, and refuses a non-loopback address.
func TestBaselineCommand(t *testing.T) {
	dir := t.TempDir()
	a, err := app.New(context.Background(), app.Config{DataDir: dir, Demo: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	var errs bytes.Buffer
	if code := run(context.Background(), []string{"baseline", "--data-dir", dir, "--addr", "0.0.0.0:8081"},
		cli.Env{Stdout: io.Discard, Stderr: &errs}); code != cli.ExitConfig || !strings.Contains(errs.String(), "loopback") {
		t.Fatalf("non-loopback address: exit %d, %q", code, errs.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	out := &testkit.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"baseline", "--data-dir", dir, "--addr", "127.0.0.1:0"}, cli.Env{Stdout: out, Stderr: io.Discard})
	}()
	url := ""
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/graphql`)
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		url = re.FindString(out.String())
	}
	if url == "" {
		cancel()
		t.Fatalf("no address printed; exit %d", <-done)
	}
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"query":"{ verifyCertificate(id: \"x\") { id found } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"found":false`) {
		t.Errorf("verify: HTTP %d %s", resp.StatusCode, body)
	}
	cancel()
	if code := <-done; code != cli.ExitOK {
		t.Fatalf("exit %d after cancel", code)
	}
}
