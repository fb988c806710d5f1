package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"certd/internal/store/ferrettest"
)

// These tests run the real binary as a user would.

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "certd-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "certd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build certd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// kill9 kills a process without warning and reaps it.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()
}

// serve starts `certd serve` on a free loopback port and waits until
// /readyz answers.
func serve(t *testing.T, dataDir string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	addr := freeAddr(t)
	return serveAt(t, dataDir, addr, args...), "http://" + addr
}

func token(t *testing.T, dataDir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"token", "--data-dir", dataDir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("certd token: %v: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || strings.Count(lines[0], ".") != 2 {
		t.Fatalf("certd token must print only the JWT, printed %q", out)
	}
	return lines[0]
}

func gql(t *testing.T, url, tok, query string) map[string]any {
	t.Helper()
	return post(t, url, tok, map[string]any{"query": query})
}

// post sends a GraphQL request, with the token when tok is not empty, and
// returns the decoded response.
func post(t *testing.T, url, tok string, body map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url+"/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s", raw)
	}
	return out
}

// untilKilled sends requests from n clients until the server goes away
// or the returned stop is called (stop waits for the clients). body makes
// each request's body from the client's own random source; ack is called,
// one call at a time, with every answer's request id and body.
func untilKilled(url, tok string, n int, body func(rng *rand.Rand) []byte, ack func(requestID string, raw []byte)) (stop func()) {
	done := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			client := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-done:
					return
				default:
				}
				req, _ := http.NewRequest("POST", url+"/graphql", bytes.NewReader(body(rng)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					mu.Lock()
					ack(resp.Header.Get("X-Request-Id"), raw)
					mu.Unlock()
				}
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

func TestCatalogueSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	cmd, url := serve(t, dir, "--demo")
	office := token(t, dir, "--sub", "office", "--org", "11350100MB00000012", "--role", "digital_office", "--amr", "pwd", "--amr", "cert")
	out := gql(t, url, office, `mutation { registerUnit(input: {code: "91350100MA0000001P", name: "福州某检测有限公司", issuing: true}) { code } }`)
	if out["errors"] != nil {
		t.Fatalf("register: %v", out["errors"])
	}
	// The response was sent: the unit is committed. Kill without warning.
	kill9(t, cmd)

	_, url = serve(t, dir, "--demo")
	out = gql(t, url, office, `{ unit(code: "91350100MA0000001P") { name createdBy } units { code } }`)
	data, _ := out["data"].(map[string]any)
	unit, _ := data["unit"].(map[string]any)
	if unit == nil || unit["name"] != "福州某检测有限公司" || unit["createdBy"] != "office" {
		t.Fatalf("after kill -9: %v", out)
	}
	if units, _ := data["units"].([]any); len(units) != 6 {
		t.Fatalf("the demo seed ran twice or lost units: %d units", len(units))
	}
}

func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	cmd, _ := serve(t, dir)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("certd did not stop on SIGTERM")
	}
}

func TestNoTokenIsUnauthenticated(t *testing.T) {
	dir := t.TempDir()
	_, url := serve(t, dir, "--demo")
	out := gql(t, url, "", `{ certificateTypes { code } }`)
	errs, _ := out["errors"].([]any)
	if len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "UNAUTHENTICATED") {
		t.Fatalf("got %v", out)
	}
	tok := token(t, dir, "--sub", "i1", "--org", "11350100MB00000025", "--role", "issuer")
	out = gql(t, url, tok, `{ certificateTypes { code } }`)
	data, _ := out["data"].(map[string]any)
	if types, _ := data["certificateTypes"].([]any); len(types) != 4 {
		t.Fatalf("got %v", out)
	}
}

func TestTokenRefusesUnknownRole(t *testing.T) {
	cmd := exec.Command(bin, "token", "--data-dir", t.TempDir(), "--sub", "x", "--role", "root")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil || stdout.Len() != 0 || !strings.Contains(stderr.String(), "root") {
		t.Fatalf("err %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

// TestEnvironmentVariables starts certd configured by environment
// variables only, and checks the first log line says, for a person, where
// GraphiQL, the console and the metrics are; metrics are served there and
// not on the API's address.
func TestEnvironmentVariables(t *testing.T) {
	dir := t.TempDir()
	addr, maddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "CERTD_ADDR="+addr, "CERTD_DATA_DIR="+dir, "CERTD_DEMO=true", "CERTD_METRICS_ADDR="+maddr)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() }()
	sc := bufio.NewScanner(stderr)
	if !sc.Scan() {
		t.Fatal("certd logged nothing")
	}
	var first struct{ Msg, GraphiQL, Console, Metrics string }
	if err := json.Unmarshal(sc.Bytes(), &first); err != nil {
		t.Fatalf("first log line %s: %v", sc.Text(), err)
	}
	for _, want := range []string{"GraphiQL http://" + addr + "/", "console http://" + addr + "/console/", "metrics http://" + maddr + "/metrics"} {
		if !strings.Contains(first.Msg, want) {
			t.Errorf("the first log line does not say %q: %s", want, first.Msg)
		}
	}
	if first.Metrics != "http://"+maddr+"/metrics" || first.GraphiQL != "http://"+addr+"/" {
		t.Errorf("first log line attributes: %+v", first)
	}
	for sc.Scan() {
		if strings.Contains(sc.Text(), "certd listening") {
			if !strings.Contains(sc.Text(), addr) {
				t.Fatalf("listening on the wrong address: %s", sc.Text())
			}
			if _, err := os.Stat(filepath.Join(dir, "certd.db")); err != nil {
				t.Fatalf("CERTD_DATA_DIR ignored: %v", err)
			}
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			if code, body := get(t, first.Metrics); code != 200 || !strings.Contains(body, "go_goroutines") {
				t.Errorf("metrics at %s: %d %.200s", first.Metrics, code, body)
			}
			if code, _ := get(t, "http://"+addr+"/metrics"); code != 404 {
				t.Errorf("metrics on the API's address: %d, want 404", code)
			}
			return
		}
	}
	t.Fatal("certd exited before listening")
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBadFlagsExitWithUsage(t *testing.T) {
	cmd := exec.Command(bin, "serve", "--no-such-flag")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, stderr %s", err, stderr.String())
	}
}

func TestServesTheSameAPIOnMongo(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	uri, stop, err := ferrettest.StartServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	dir := t.TempDir()
	_, url := serve(t, dir, "--demo", "--mongo-uri", uri)
	tok := token(t, dir, "--sub", "i1", "--org", "11350100MB00000025", "--role", "issuer")
	out := gql(t, url, tok, `{ certificateTypes { code issuer { code } } matters { code } }`)
	data, _ := out["data"].(map[string]any)
	if types, _ := data["certificateTypes"].([]any); len(types) != 4 {
		t.Fatalf("got %v", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "certd.db")); err == nil {
		t.Fatal("with --mongo-uri no SQLite database may be created")
	}
	if _, err := os.Stat(filepath.Join(dir, "keys")); err != nil {
		t.Fatalf("--data-dir must still hold the keys: %v", err)
	}
}
