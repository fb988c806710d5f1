package importer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// testRow is a record whose encoded input is n bytes long; reject makes
// it a local reject.
func testRow(i, n int, reject bool) row {
	r := row{line: i + 1, end: int64(100 * (i + 1)), raw: json.RawMessage(`{}`)}
	if reject {
		r.reason = "bad"
		return r
	}
	pad := max(n-len(`{"i":,"p":""}`)-len(fmt.Sprint(i)), 0)
	r.input = []byte(fmt.Sprintf(`{"i":%d,"p":"%s"}`, i, strings.Repeat("x", pad)))
	return r
}

func split(sp *splitter, rows []row) []*batch {
	var out []*batch
	for _, r := range rows {
		out = append(out, sp.add(r)...)
	}
	if b := sp.flush(); b != nil {
		out = append(out, b)
	}
	return out
}

// checkBatches verifies that batches hold rows in order, in sequence, and
// that each body is the valid request for its records.
func checkBatches(t *testing.T, batches []*batch, rows []row, maxBytes int) {
	t.Helper()
	next := 0
	for s, b := range batches {
		if b.seq != s {
			t.Errorf("batch %d has seq %d", s, b.seq)
		}
		if len(b.body) > maxBytes {
			t.Errorf("batch %d body is %d bytes, limit %d", s, len(b.body), maxBytes)
		}
		var req struct {
			Query     string
			Variables struct{ Inputs []map[string]any }
		}
		if err := json.Unmarshal(b.body, &req); err != nil {
			t.Fatalf("batch %d body: %v", s, err)
		}
		if req.Query != issueMutation || len(req.Variables.Inputs) != len(b.send) {
			t.Errorf("batch %d: query %q, %d inputs for %d records to send", s, req.Query, len(req.Variables.Inputs), len(b.send))
		}
		for j, i := range b.send {
			if got := int(req.Variables.Inputs[j]["i"].(float64)); got != b.rows[i].line-1 {
				t.Errorf("batch %d input %d is record %d, want %d", s, j, got, b.rows[i].line-1)
			}
		}
		for _, r := range b.rows {
			if r.line != rows[next].line {
				t.Fatalf("batch %d holds line %d, want %d", s, r.line, rows[next].line)
			}
			next++
		}
		if b.end != b.rows[len(b.rows)-1].end || b.first != b.rows[0].line {
			t.Errorf("batch %d end %d first %d", s, b.end, b.first)
		}
	}
	if next != len(rows) {
		t.Errorf("batches hold %d records, want %d", next, len(rows))
	}
}

func TestSplitByCount(t *testing.T) {
	var rows []row
	for i := range 1201 {
		rows = append(rows, testRow(i, 50, i%100 == 7))
	}
	sp := &splitter{maxRows: 500, maxBytes: DefaultMaxRequestBytes}
	batches := split(sp, rows)
	checkBatches(t, batches, rows, DefaultMaxRequestBytes)
	if len(batches) != 3 || len(batches[0].rows) != 500 || len(batches[2].rows) != 201 {
		t.Fatalf("got %d batches", len(batches))
	}
	if len(batches[0].send) != 495 {
		t.Errorf("first batch sends %d, want 495 (5 local rejects)", len(batches[0].send))
	}
}

func TestSplitByBytes(t *testing.T) {
	const limit = 10_000
	var rows []row
	for i := range 100 {
		rows = append(rows, testRow(i, 900+i%7*10, false))
	}
	sp := &splitter{maxRows: 1000, maxBytes: limit}
	batches := split(sp, rows)
	checkBatches(t, batches, rows, limit)
	if len(batches) < 10 {
		t.Errorf("only %d batches for 90 KB at 10 KB a request", len(batches))
	}
	for i, b := range batches[:len(batches)-1] {
		nextLen := len(batches[i+1].rows[0].input)
		if len(b.body)+nextLen+1 <= limit {
			t.Errorf("batch %d (%d bytes) closed although the next record (%d bytes) fits", i, len(b.body), nextLen)
		}
	}
}

func TestSplitOversizedRecord(t *testing.T) {
	rows := []row{testRow(0, 100, false), testRow(1, 20_000, false), testRow(2, 100, false)}
	batches := split(&splitter{maxRows: 10, maxBytes: 10_000}, rows)
	if len(batches) != 1 || len(batches[0].rows) != 3 || len(batches[0].send) != 2 {
		t.Fatalf("batches = %d", len(batches))
	}
	if r := batches[0].rows[1]; r.input != nil || !strings.Contains(r.reason, "too large") {
		t.Errorf("oversized record: %q", r.reason)
	}
}

func TestSplitOnlyRejects(t *testing.T) {
	rows := []row{testRow(0, 0, true), testRow(1, 0, true), testRow(2, 0, true)}
	batches := split(&splitter{maxRows: 2, maxBytes: 10_000}, rows)
	if len(batches) != 2 || len(batches[0].send) != 0 || batches[1].end != 300 {
		t.Fatalf("batches = %+v", batches)
	}
}

func TestBuildBodySubset(t *testing.T) {
	rows := []row{testRow(0, 30, false), testRow(1, 30, false), testRow(2, 30, false)}
	b := split(&splitter{maxRows: 10, maxBytes: 10_000}, rows)[0]
	body := b.buildBody([]int{0, 2})
	var req struct {
		Variables struct{ Inputs []map[string]any }
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Variables.Inputs) != 2 || req.Variables.Inputs[1]["i"] != 2.0 {
		t.Fatalf("body %s: %v", body, err)
	}
}
