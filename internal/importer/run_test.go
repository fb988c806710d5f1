package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer is a transport-level fake of certd's /graphql endpoint, NOT
// certd: it answers the importer's two operations (the type pre-flight
// and issueCertificates) in the shapes of the real server's responses,
// remembers idempotency keys in memory, and injects failures. The real
// server is exercised by the end-to-end test of the CLI.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	token   string
	fields  map[string]string // the template; nil: type not in the catalogue
	issuer  string
	caller  string
	maxBody int // 413 above this

	mu       sync.Mutex
	seen     map[string]int // idempotency key → times received
	created  map[string]bool
	calls    int   // issueCertificates requests received
	statuses []int // answers for the next requests (0: normal); < 0 drops the connection
	// itemErr, when set, fails single inputs with (message, code).
	itemErr func(in map[string]any) (string, string)
	// whole, when set, refuses a request whole when it returns an index;
	// located says whether the error's path names that input.
	whole   func(ins []map[string]any) int
	located bool
	// onIssue runs after a request's inputs are stored and before the
	// answer; returning false drops the answer until the client gives up.
	onIssue func(call int) bool
	delay   func(call int) time.Duration
}

func newFakeServer(t *testing.T) *fakeServer {
	fs := &fakeServer{t: t, token: "good", fields: map[string]string{"area": typeNumber, "note": typeString},
		issuer: "11350100MB00000025", caller: "11350100MB00000025", maxBody: 1 << 20,
		seen: map[string]int{}, created: map[string]bool{}}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.srv.Close)
	return fs
}

func gqlErrorBody(code, msg string, path ...any) map[string]any {
	e := map[string]any{"message": msg, "extensions": map[string]any{"code": code}}
	if path != nil {
		e["path"] = path
	}
	return map[string]any{"errors": []any{e}, "data": nil}
}

func (fs *fakeServer) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// configure changes the fake's settings between runs.
func (fs *fakeServer) configure(f func()) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f()
}

func (fs *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	token, maxBody, fields, issuer, caller := fs.token, fs.maxBody, fs.fields, fs.issuer, fs.caller
	whole, located, onIssue, delay := fs.whole, fs.located, fs.onIssue, fs.delay
	fs.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/graphql" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		fs.write(w, http.StatusUnauthorized, gqlErrorBody("UNAUTHENTICATED", "token expired"))
		return
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) > maxBody {
		fs.write(w, http.StatusRequestEntityTooLarge, gqlErrorBody("INVALID_INPUT", "request body is larger than the limit"))
		return
	}
	var req struct {
		Query     string
		Variables struct {
			Code   string
			Inputs []map[string]any
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		fs.write(w, http.StatusBadRequest, gqlErrorBody("INVALID_INPUT", "request body is not valid JSON"))
		return
	}
	if strings.Contains(req.Query, "certificateType(") {
		var ct any
		if fields != nil {
			var list []any
			for n, typ := range fields {
				list = append(list, map[string]any{"name": n, "type": typ})
			}
			ct = map[string]any{"code": req.Variables.Code, "issuer": map[string]any{"code": issuer}, "fields": list}
		}
		fs.write(w, http.StatusOK, map[string]any{"data": map[string]any{"me": map[string]any{"org": caller}, "certificateType": ct}})
		return
	}
	if !strings.Contains(req.Query, "issueCertificates(") {
		fs.write(w, http.StatusOK, gqlErrorBody("INVALID_INPUT", "unknown operation"))
		return
	}
	fs.mu.Lock()
	fs.calls++
	call := fs.calls
	status := 0
	if len(fs.statuses) > 0 {
		status, fs.statuses = fs.statuses[0], fs.statuses[1:]
	}
	fs.mu.Unlock()
	if delay != nil {
		time.Sleep(delay(call))
	}
	switch {
	case status < 0:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "0")
		fs.write(w, status, gqlErrorBody("", "slow down"))
		return
	case status >= 500:
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html>bad gateway</html>")
		return
	case status == http.StatusUnauthorized:
		fs.write(w, status, gqlErrorBody("UNAUTHENTICATED", "token expired"))
		return
	case status == http.StatusOK: // a transient whole-request error in a 200
		fs.write(w, status, gqlErrorBody("INTERNAL", "internal error", "issueCertificates"))
		return
	}
	ins := req.Variables.Inputs
	if len(ins) == 0 || len(ins) > maxBatch {
		fs.write(w, http.StatusOK, gqlErrorBody("INVALID_INPUT", "a batch holds 1 to 1000 licences", "issueCertificates"))
		return
	}
	if whole != nil {
		if i := whole(ins); i >= 0 {
			if located {
				fs.write(w, http.StatusOK, gqlErrorBody("INVALID_INPUT", `"2020-13-01" is not a date YYYY-MM-DD`, "issueCertificates", "inputs", i, "validFrom"))
			} else {
				fs.write(w, http.StatusUnprocessableEntity, gqlErrorBody("INVALID_INPUT", "something in this request is wrong"))
			}
			return
		}
	}
	type item struct {
		Index       int            `json:"index"`
		Certificate map[string]any `json:"certificate"`
		Error       *string        `json:"error"`
		ErrorCode   *string        `json:"errorCode"`
		Duplicate   bool           `json:"duplicate"`
	}
	res := struct {
		Created    int    `json:"created"`
		Duplicates int    `json:"duplicates"`
		Failed     int    `json:"failed"`
		Items      []item `json:"items"`
	}{Items: []item{}}
	fs.mu.Lock()
	for i, in := range ins {
		it := item{Index: i}
		key, _ := in["idempotencyKey"].(string)
		if in["mode"] != "STOCK" || key == "" || in["typeCode"] != testType {
			fs.t.Errorf("input %v: want mode STOCK, a key and type %s", in, testType)
		}
		fs.seen[key]++
		if fs.itemErr != nil {
			if msg, code := fs.itemErr(in); msg != "" {
				it.Error, it.ErrorCode = &msg, &code
				res.Failed++
				res.Items = append(res.Items, it)
				continue
			}
		}
		it.Certificate = map[string]any{"id": "L" + key[len(key)-8:]}
		if fs.created[key] {
			it.Duplicate = true
			res.Duplicates++
		} else {
			fs.created[key] = true
			res.Created++
		}
		res.Items = append(res.Items, it)
	}
	fs.mu.Unlock()
	if onIssue != nil && !onIssue(call) {
		<-r.Context().Done()
		return
	}
	fs.write(w, http.StatusOK, map[string]any{"data": map[string]any{"issueCertificates": res}})
}

func (fs *fakeServer) stats() (created, calls, sentTwice int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, n := range fs.seen {
		if n > 1 {
			sentTwice++
		}
	}
	return len(fs.created), fs.calls, sentTwice
}

func (fs *fakeServer) options(file string) Options {
	return Options{Server: fs.srv.URL + "/", Token: fs.token, TypeCode: testType, File: file, BatchSize: 50, retryBase: time.Millisecond}
}

// holderRows is n JSON Lines records of distinct holders; bad lists the
// records whose area is a string the server refuses.
func holderRows(n int, bad ...int) string {
	var b strings.Builder
	for i := range n {
		area := fmt.Sprint(i)
		if contains(bad, i) {
			area = `"lots"`
		}
		fmt.Fprintf(&b, `{"holder":{"code":"%s","name":"holder %d"},"data":{"area":%s}}`+"\n", personCode, i, area)
	}
	return b.String()
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func areaIsNumber(in map[string]any) (string, string) {
	if _, ok := in["data"].(map[string]any)["area"].(json.Number); !ok {
		return "field area (面积) must be a number", "INVALID_INPUT"
	}
	return "", ""
}

func TestRunImportsOnceAndRerunsAsDuplicates(t *testing.T) {
	fs := newFakeServer(t)
	fs.itemErr = areaIsNumber
	content := holderRows(520, 7, 300) + `{"holder":{"code":"` + personCode + `"}}` + "\n" + "\n"
	file := writeFile(t, "stock.jsonl", content)
	var out bytes.Buffer
	opts := fs.options(file)
	opts.Progress = &out

	sum, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Rows: 521, Created: 518, Rejected: 3, RejectsFile: RejectsFile(file)}
	if sum.Rows != want.Rows || sum.Created != want.Created || sum.Duplicates != 0 || sum.Rejected != 3 || sum.Skipped != 0 || sum.RejectsFile != want.RejectsFile {
		t.Errorf("summary = %+v, want %+v", sum, want)
	}
	if sum.Elapsed <= 0 || sum.Rate <= 0 {
		t.Errorf("elapsed %v rate %v", sum.Elapsed, sum.Rate)
	}
	created, calls, twice := fs.stats()
	if created != 518 || twice != 0 || calls != 11 {
		t.Errorf("server: %d created, %d calls, %d keys sent twice", created, calls, twice)
	}
	rejects := readRejects(t, RejectsFile(file))
	if len(rejects) != 3 {
		t.Fatalf("rejects = %+v", rejects)
	}
	for i, w := range []struct {
		line         int
		stage, cause string
	}{{8, stageServer, "must be a number"}, {301, stageServer, "must be a number"}, {521, stageLocal, "holder name is missing"}} {
		r := rejects[i]
		if r.Line != w.line || r.Stage != w.stage || r.Code != "INVALID_INPUT" || !strings.Contains(r.Reason, w.cause) {
			t.Errorf("reject %d = %+v, want line %d %s %q", i, r, w.line, w.stage, w.cause)
		}
	}
	if !strings.Contains(string(rejects[0].Row), `"name":"holder 7"`) {
		t.Errorf("reject row = %s", rejects[0].Row)
	}
	if _, err := os.Stat(ProgressFile(file)); !os.IsNotExist(err) {
		t.Errorf("progress file left after a complete run: %v", err)
	}
	text := out.String()
	if !strings.Contains(text, "rows/s") || !strings.Contains(text, "import done: 521 rows") || !strings.Contains(text, "518 created, 0 duplicates, 3 rejected, 0 skipped; rejects in ") {
		t.Errorf("progress output:\n%s", text)
	}

	// The same file again creates nothing and writes a fresh rejects file.
	sum, err = Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 521 || sum.Created != 0 || sum.Duplicates != 518 || sum.Rejected != 3 {
		t.Errorf("rerun summary = %+v", sum)
	}
	if created, _, _ := fs.stats(); created != 518 {
		t.Errorf("rerun created %d", created-518)
	}
	if got := readRejects(t, RejectsFile(file)); len(got) != 3 {
		t.Errorf("rerun rejects = %d lines, want 3", len(got))
	}

	// A reordered file is the same records.
	lines := strings.Split(strings.TrimSpace(holderRows(520, 7, 300)), "\n")
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	reordered := writeFile(t, "reordered.jsonl", strings.Join(lines, "\n"))
	sum, err = Run(context.Background(), fs.options(reordered))
	if err != nil || sum.Created != 0 || sum.Duplicates != 518 {
		t.Errorf("reordered: %+v, %v", sum, err)
	}
}

func TestRunCSVTemplateTypes(t *testing.T) {
	fs := newFakeServer(t)
	fs.itemErr = func(in map[string]any) (string, string) {
		d := in["data"].(map[string]any)
		if _, ok := d["note"].(string); !ok && d["note"] != nil {
			return "field note must be a string", "INVALID_INPUT"
		}
		return areaIsNumber(in)
	}
	file := writeFile(t, "stock.csv", "\xEF\xBB\xBFholderCode,holderName,area,note\n"+
		personCode+",示例个人甲,12.5,00123\n"+
		orgCode+`,"Acme, Inc.",7,12345`+"\n"+
		personCode+",示例个人乙,many,\n")
	sum, err := Run(context.Background(), fs.options(file))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 2 || sum.Rejected != 1 {
		t.Errorf("summary = %+v", sum)
	}
	if r := readRejects(t, RejectsFile(file)); len(r) != 1 || r[0].Line != 4 || string(r[0].Row) != `{"holderCode":"`+personCode+`","holderName":"示例个人乙","area":"many","note":""}` {
		t.Errorf("rejects = %+v", r)
	}

	bad := writeFile(t, "bad.csv", "holderCode,holderName,area,colour\n"+personCode+",x,1,red\n")
	_, err = Run(context.Background(), fs.options(bad))
	if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown column: %v", err)
	}
	if _, calls, _ := fs.stats(); calls != 1 {
		t.Errorf("%d issue calls, want 1 (none for the bad header)", calls)
	}
}

func TestRunRetriesTransientFailures(t *testing.T) {
	fs := newFakeServer(t)
	fs.statuses = []int{503, -1, 429, 200, 502}
	file := writeFile(t, "stock.jsonl", holderRows(120))
	opts := fs.options(file)
	opts.Concurrency = 1
	sum, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	created, calls, _ := fs.stats()
	if sum.Created+sum.Duplicates != 120 || created != 120 || calls != 3+5 {
		t.Errorf("summary %+v, server created %d in %d calls", sum, created, calls)
	}
}

func TestRunRetriesTransientItems(t *testing.T) {
	fs := newFakeServer(t)
	failed := map[string]bool{}
	fs.itemErr = func(in map[string]any) (string, string) {
		if name := in["holder"].(map[string]any)["name"]; name == "holder 3" && !failed[in["idempotencyKey"].(string)] {
			failed[in["idempotencyKey"].(string)] = true
			return "internal error", "INTERNAL"
		}
		return "", ""
	}
	file := writeFile(t, "stock.jsonl", holderRows(10))
	sum, err := Run(context.Background(), fs.options(file))
	if err != nil || sum.Created != 10 || sum.Rejected != 0 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
}

func TestRunGivesUpAfterRetries(t *testing.T) {
	fs := newFakeServer(t)
	fs.statuses = []int{0, 503, 503, 503, 503}
	file := writeFile(t, "stock.jsonl", holderRows(120))
	opts := fs.options(file)
	opts.Concurrency, opts.Retries = 1, 3
	sum, err := Run(context.Background(), opts)
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "after 50 of the file's rows") || !strings.Contains(err.Error(), "rerun") {
		t.Fatalf("error = %v", err)
	}
	if sum.Rows != 50 || sum.Created != 50 {
		t.Errorf("summary = %+v", sum)
	}
	if _, calls, _ := fs.stats(); calls != 1+4 {
		t.Errorf("%d calls, want 5", calls)
	}
	p, err := loadProgress(ProgressFile(file))
	if err != nil || p == nil || p.Rows != 50 {
		t.Fatalf("progress = %+v, %v", p, err)
	}
	sum, err = Run(context.Background(), opts)
	if err != nil || sum.Skipped != 50 || sum.Created != 70 || sum.Rows != 120 || sum.Duplicates != 0 {
		t.Errorf("resumed: %+v, %v", sum, err)
	}
}

func TestRunStopsWhenUnauthenticated(t *testing.T) {
	fs := newFakeServer(t)
	file := writeFile(t, "stock.jsonl", holderRows(200))
	_ = os.WriteFile(RejectsFile(file), []byte("from an earlier run\n"), 0o644)
	opts := fs.options(file)
	opts.Token = "expired"
	_, err := Run(context.Background(), opts)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "token expired") {
		t.Fatalf("error = %v", err)
	}
	if _, calls, _ := fs.stats(); calls != 0 {
		t.Errorf("%d issue calls with a bad token", calls)
	}
	if got := mustRead(t, RejectsFile(file)); got != "from an earlier run\n" {
		t.Error("a refused run touched the rejects file")
	}

	// The token expires in the middle: stop at once, keep the progress.
	fs.configure(func() { fs.statuses = []int{0, 0, 401} })
	opts = fs.options(file)
	opts.Concurrency = 1
	sum, err := Run(context.Background(), opts)
	if !errors.Is(err, ErrAuth) || sum.Rows != 100 {
		t.Fatalf("summary %+v, error %v", sum, err)
	}
	if _, calls, _ := fs.stats(); calls != 3 {
		t.Errorf("%d calls, want 3 (no retry of a 401)", calls)
	}
	sum, err = Run(context.Background(), opts)
	if err != nil || sum.Skipped != 100 || sum.Created != 100 {
		t.Errorf("resumed: %+v, %v", sum, err)
	}
}

func TestRunChecksTheType(t *testing.T) {
	fs := newFakeServer(t)
	file := writeFile(t, "stock.jsonl", holderRows(3))
	fs.caller = "11350100MB00000038"
	if _, err := Run(context.Background(), fs.options(file)); !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "is issued by unit") {
		t.Errorf("other unit's type: %v", err)
	}
	fs.configure(func() { fs.fields = nil })
	if _, err := Run(context.Background(), fs.options(file)); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "not in the catalogue") {
		t.Errorf("unknown type: %v", err)
	}
	if _, calls, _ := fs.stats(); calls != 0 {
		t.Errorf("%d issue calls", calls)
	}
}

func TestRunIsolatesRecordsRefusedWhole(t *testing.T) {
	for _, located := range []bool{true, false} {
		t.Run(fmt.Sprintf("located=%v", located), func(t *testing.T) {
			fs := newFakeServer(t)
			fs.located = located
			poison := map[string]bool{"holder 13": true, "holder 14": true, "holder 77": true}
			fs.whole = func(ins []map[string]any) int {
				for i, in := range ins {
					if poison[in["holder"].(map[string]any)["name"].(string)] {
						return i
					}
				}
				return -1
			}
			file := writeFile(t, "stock.jsonl", holderRows(100))
			sum, err := Run(context.Background(), fs.options(file))
			if err != nil {
				t.Fatal(err)
			}
			created, _, _ := fs.stats()
			if sum.Created != 97 || sum.Rejected != 3 || created != 97 {
				t.Errorf("summary %+v, server created %d", sum, created)
			}
			var lines []int
			for _, r := range readRejects(t, RejectsFile(file)) {
				lines = append(lines, r.Line)
				if r.Stage != stageServer || r.Code != "INVALID_INPUT" {
					t.Errorf("reject %+v", r)
				}
			}
			if fmt.Sprint(lines) != "[14 15 78]" {
				t.Errorf("rejected lines %v, want [14 15 78]", lines)
			}
		})
	}
}

func TestRunStopsWhenEveryRequestIsRefused(t *testing.T) {
	fs := newFakeServer(t)
	fs.whole = func([]map[string]any) int { return 0 }
	file := writeFile(t, "stock.jsonl", holderRows(200))
	_, err := Run(context.Background(), fs.options(file))
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "refuse every request") {
		t.Fatalf("error = %v", err)
	}
	if _, calls, _ := fs.stats(); calls > 30 {
		t.Errorf("%d calls before giving up", calls)
	}
}

func TestRunSplitsOnRequestTooLarge(t *testing.T) {
	fs := newFakeServer(t)
	fs.maxBody = 5000
	file := writeFile(t, "stock.jsonl", holderRows(100))
	sum, err := Run(context.Background(), fs.options(file))
	if err != nil || sum.Created != 100 || sum.Rejected != 0 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	opts := fs.options(file)
	opts.MaxRequestBytes = 5000
	fs.configure(func() { fs.maxBody, fs.calls = 1<<20, 0 })
	if sum, err = Run(context.Background(), opts); err != nil || sum.Duplicates != 100 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	if _, calls, _ := fs.stats(); calls < 5 {
		t.Errorf("%d calls for 100 records of about 200 bytes under a 5000-byte limit", calls)
	}
}

// A run cancelled in the middle (as by kill or Ctrl-C) resumes after its
// last acknowledged batch; the batches in flight come back as duplicates.
func TestRunResumesAfterCrash(t *testing.T) {
	fs := newFakeServer(t)
	fs.itemErr = areaIsNumber
	fs.delay = func(call int) time.Duration { return time.Duration(call%3) * 2 * time.Millisecond }
	const n = 1000
	file := writeFile(t, "stock.jsonl", holderRows(n, 5, 555))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fs.onIssue = func(call int) bool {
		if call == 9 {
			cancel()
			return false
		}
		return true
	}
	first, err := Run(ctx, fs.options(file))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	p, err := loadProgress(ProgressFile(file))
	if err != nil || p == nil || p.Rows != first.Rows || p.Rows%50 != 0 || p.Rows == 0 {
		t.Fatalf("progress %+v (%v) after %+v", p, err, first)
	}
	firstRejects := len(readRejects(t, RejectsFile(file)))

	fs.configure(func() { fs.onIssue = nil })
	second, err := Run(context.Background(), fs.options(file))
	if err != nil {
		t.Fatal(err)
	}
	created, _, twice := fs.stats()
	if created != n-2 {
		t.Errorf("server created %d, want %d", created, n-2)
	}
	if first.Created+second.Created+second.Duplicates != n-2 || first.Rejected+second.Rejected != 2 {
		t.Errorf("runs: %+v then %+v", first, second)
	}
	if second.Skipped != first.Rows || second.Rows != n {
		t.Errorf("second run skipped %d of %d, first acknowledged %d", second.Skipped, second.Rows, first.Rows)
	}
	// Only batches in flight or not yet committed may be sent twice, and
	// they came back as duplicates.
	if twice > 3*50 || second.Duplicates > twice {
		t.Errorf("%d keys sent twice, %d duplicates", twice, second.Duplicates)
	}
	rejects := readRejects(t, RejectsFile(file))
	if len(rejects) != 2 || rejects[0].Line != 6 || rejects[1].Line != 556 {
		t.Errorf("rejects after resume (%d before): %+v", firstRejects, rejects)
	}
	if _, err := os.Stat(ProgressFile(file)); !os.IsNotExist(err) {
		t.Error("progress file left after the resumed run completed")
	}
}

func TestRunIgnoresProgressOfAnotherFile(t *testing.T) {
	fs := newFakeServer(t)
	file := writeFile(t, "stock.jsonl", holderRows(60))
	if err := saveProgress(ProgressFile(file), &progress{Version: progressVersion, Server: fs.srv.URL + "/graphql", TypeCode: testType, Size: 1, Offset: 1, Rows: 50}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := fs.options(file)
	opts.Progress = &out
	sum, err := Run(context.Background(), opts)
	if err != nil || sum.Skipped != 0 || sum.Created != 60 {
		t.Errorf("summary %+v, %v", sum, err)
	}
	if !strings.Contains(out.String(), "ignoring") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunOptions(t *testing.T) {
	file := writeFile(t, "x.jsonl", "")
	for _, o := range []Options{
		{Server: "127.0.0.1:8080", TypeCode: testType, File: file},
		{Server: "http://h", File: file},
		{Server: "http://h", TypeCode: testType},
		{Server: "http://h", TypeCode: testType, File: file, BatchSize: 1001},
		{Server: "http://h", TypeCode: testType, File: file, Concurrency: -1},
		{Server: "http://h", TypeCode: testType, File: file + ".missing"},
	} {
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrInput) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	o := Options{Server: "https://certd.example/api/", TypeCode: testType, File: file}
	u, err := o.normalise()
	if err != nil || u != "https://certd.example/api/graphql" || o.BatchSize != 500 || o.Retries != 5 || o.Concurrency != 2 || o.MaxRequestBytes != DefaultMaxRequestBytes || o.HTTPClient == nil {
		t.Errorf("normalised %q %+v %v", u, o, err)
	}
	o = Options{Server: "http://h/graphql", TypeCode: testType, File: file, Retries: -1}
	if u, _ := o.normalise(); u != "http://h/graphql" || o.Retries != 0 {
		t.Errorf("normalised %q, retries %d", u, o.Retries)
	}
}

func TestRunEmptyFile(t *testing.T) {
	fs := newFakeServer(t)
	file := writeFile(t, "empty.jsonl", "\n\n")
	var out bytes.Buffer
	opts := fs.options(file)
	opts.Progress = &out
	sum, err := Run(context.Background(), opts)
	if err != nil || sum.Rows != 0 {
		t.Fatalf("%+v, %v", sum, err)
	}
	if _, calls, _ := fs.stats(); calls != 0 {
		t.Errorf("%d calls for an empty file", calls)
	}
}

// TestMain lets the test binary act as an importer process for
// TestRunResumesAfterKill.
func TestMain(m *testing.M) {
	if url := os.Getenv("IMPORTER_TEST_SERVER"); url != "" {
		_, err := Run(context.Background(), Options{Server: url, Token: "good", TypeCode: testType,
			File: os.Getenv("IMPORTER_TEST_FILE"), BatchSize: 50, retryBase: time.Millisecond})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// An importer process killed with SIGKILL resumes after its last
// acknowledged batch.
func TestRunResumesAfterKill(t *testing.T) {
	fs := newFakeServer(t)
	fs.itemErr = areaIsNumber
	const n = 1000
	file := writeFile(t, "stock.jsonl", holderRows(n, 3, 444, 999))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IMPORTER_TEST_SERVER="+fs.srv.URL, "IMPORTER_TEST_FILE="+file)
	var proc atomic.Pointer[os.Process]
	fs.configure(func() {
		fs.onIssue = func(call int) bool {
			if call == 12 {
				if p := proc.Load(); p != nil {
					_ = p.Kill()
				}
				return false
			}
			return true
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	proc.Store(cmd.Process)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("the importer process was not killed: %v", err)
	}
	p, err := loadProgress(ProgressFile(file))
	if err != nil || p == nil || p.Rows == 0 || p.Rows >= n {
		t.Fatalf("progress after the kill: %+v, %v", p, err)
	}
	fs.configure(func() { fs.onIssue = nil })
	sum, err := Run(context.Background(), fs.options(file))
	if err != nil {
		t.Fatal(err)
	}
	created, _, twice := fs.stats()
	// Resent after the kill: the batches in flight and those the server
	// had answered before the progress file recorded them — a handful of
	// batches, never the whole file; correctness rests on the keys.
	if created != n-3 || sum.Skipped != p.Rows || sum.Rows != n || twice > 6*50 || sum.Duplicates > twice {
		t.Errorf("after the kill: %+v; server created %d, %d keys sent twice", sum, created, twice)
	}
	var lines []int
	for _, r := range readRejects(t, RejectsFile(file)) {
		lines = append(lines, r.Line)
	}
	if fmt.Sprint(lines) != "[4 445 1000]" {
		t.Errorf("rejected lines %v", lines)
	}
}
