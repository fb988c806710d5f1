package importer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fileIDOf(t *testing.T, path string) fileID {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := identify(f)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestProgressRoundTrip(t *testing.T) {
	in := writeFile(t, "in.jsonl", strings.Repeat(`{"holder":{"code":"x","name":"y"}}`+"\n", 10))
	id := fileIDOf(t, in)
	p := &progress{Version: progressVersion, File: in, Server: "http://h/graphql", TypeCode: testType,
		Size: id.Size, ModTime: id.ModTime, Head: id.Head, Offset: 72, Rows: 2, RejectsSize: 10, Updated: time.Now().UTC().Round(0)}
	path := ProgressFile(in)
	if err := saveProgress(path, p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	got, err := loadProgress(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *p {
		t.Errorf("loaded %+v\nwant %+v", got, p)
	}
	if !got.matches(id, "http://h/graphql", testType) {
		t.Error("progress does not match its own file")
	}
	if got.matches(id, "http://other/graphql", testType) || got.matches(id, "http://h/graphql", "other") {
		t.Error("progress matches another server or type")
	}

	// Another file of the same size, or the same file touched, or changed
	// beyond the first 64 KiB (the size tells), is not this one.
	if err := os.WriteFile(in, []byte(strings.Replace(mustRead(t, in), `"y"`, `"z"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if got.matches(fileIDOf(t, in), "http://h/graphql", testType) {
		t.Error("progress matches a different file of the same size")
	}
	other := fileIDOf(t, in)
	if !(&progress{Version: progressVersion, Server: "s", TypeCode: "t", Size: other.Size, ModTime: other.ModTime, Head: other.Head}).matches(other, "s", "t") {
		t.Error("fresh progress does not match")
	}
	touched := other
	touched.ModTime++
	if (&progress{Version: progressVersion, Server: "s", TypeCode: "t", Size: other.Size, ModTime: other.ModTime, Head: other.Head}).matches(touched, "s", "t") {
		t.Error("progress matches a file with another mtime")
	}
	bad := *got
	bad.Offset = id.Size + 1
	if bad.matches(id, bad.Server, bad.TypeCode) {
		t.Error("progress past the end of the file matches")
	}
	bad = *got
	bad.Version = 2
	if bad.matches(id, bad.Server, bad.TypeCode) {
		t.Error("progress of another version matches")
	}
}

func TestLoadProgressMissingOrTorn(t *testing.T) {
	dir := t.TempDir()
	if p, err := loadProgress(filepath.Join(dir, "none")); p != nil || err != nil {
		t.Errorf("missing = %v, %v", p, err)
	}
	torn := filepath.Join(dir, "torn")
	_ = os.WriteFile(torn, []byte(`{"version":1,"off`), 0o644)
	if p, err := loadProgress(torn); p != nil || err == nil {
		t.Errorf("torn = %v, %v", p, err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readRejects parses a rejects file.
func readRejects(t *testing.T, path string) []rejectRecord {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []rejectRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &keys); err != nil {
			t.Fatalf("rejects line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"line", "row", "reason", "code", "stage"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("rejects line %s lacks %q", sc.Text(), k)
			}
		}
		var r rejectRecord
		_ = json.Unmarshal(sc.Bytes(), &r)
		out = append(out, r)
	}
	return out
}

func TestRejectsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.csv.rejects.jsonl")
	_ = os.WriteFile(path, []byte("stale\n"), 0o644)
	rj, err := openRejects(path, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a fresh run keeps the old rejects file")
	}
	recs := []rejectRecord{
		{Line: 3, Row: json.RawMessage(`{"holderCode":"x","area":"12"}`), Reason: "holder name is missing", Code: "INVALID_INPUT", Stage: stageLocal},
		{Line: 9, Row: json.RawMessage(`"not json"`), Reason: "not a JSON object", Code: "INVALID_INPUT", Stage: stageLocal},
		{Line: 12, Reason: "field area must be a number", Code: "INVALID_INPUT", Stage: stageServer},
	}
	for _, r := range recs[:2] {
		if err := rj.add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := rj.sync(); err != nil {
		t.Fatal(err)
	}
	keep := rj.size
	if err := rj.add(recs[2]); err != nil {
		t.Fatal(err)
	}
	if err := rj.close(); err != nil {
		t.Fatal(err)
	}
	got := readRejects(t, path)
	if len(got) != 3 || got[0].Line != 3 || string(got[0].Row) != `{"holderCode":"x","area":"12"}` || got[1].Row == nil || string(got[2].Row) != "null" || got[2].Stage != stageServer {
		t.Fatalf("rejects = %+v", got)
	}
	if line := strings.SplitN(mustRead(t, path), "\n", 2)[0]; line != `{"line":3,"row":{"holderCode":"x","area":"12"},"reason":"holder name is missing","code":"INVALID_INPUT","stage":"local"}` {
		t.Errorf("first line = %s", line)
	}

	// Resuming keeps the records of acknowledged batches only.
	rj, err = openRejects(path, true, keep)
	if err != nil {
		t.Fatal(err)
	}
	if err := rj.add(recs[2]); err != nil {
		t.Fatal(err)
	}
	if err := rj.close(); err != nil {
		t.Fatal(err)
	}
	if got := readRejects(t, path); len(got) != 3 || got[2].Line != 12 {
		t.Fatalf("after resume: %+v", got)
	}

	// A run without rejects leaves no file.
	rj, _ = openRejects(path, false, 0)
	if err := rj.close(); err != nil || rj.exists() {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("empty rejects file left behind")
	}
}
