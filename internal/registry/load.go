package registry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Load reads registry entries from r — JSON Lines ({"code","name","kind"})
// or CSV with a header naming code, name and kind — and stores them in
// batches. It returns how many entries were stored; a bad line stops the
// load with its line number, after the lines before it were stored.
func Load(ctx context.Context, repo Repository, r io.Reader, source string) (int, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(1)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var batch []Entry
	total := 0
	flush := func() error {
		if err := repo.PutRegistryEntries(ctx, batch); err != nil {
			return err
		}
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	add := func(line int, e Entry) error {
		e.Code, e.Name, e.Kind = strings.TrimSpace(e.Code), strings.TrimSpace(e.Name), strings.ToUpper(strings.TrimSpace(e.Kind))
		if e.Code == "" || e.Name == "" || (e.Kind != Person && e.Kind != Organization) {
			return fmt.Errorf("line %d: need code, name and kind PERSON or ORGANIZATION", line)
		}
		e.Source, e.UpdatedAt = source, now
		batch = append(batch, e)
		if len(batch) == 1000 {
			return flush()
		}
		return nil
	}
	if len(head) == 1 && head[0] == '{' {
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var e Entry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				return total, fmt.Errorf("line %d: %w", line, err)
			}
			if err := add(line, e); err != nil {
				return total, err
			}
		}
		if err := sc.Err(); err != nil {
			return total, err
		}
		return total, flush()
	}
	cr := csv.NewReader(br)
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("read CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"code", "name", "kind"} {
		if _, ok := col[need]; !ok {
			return 0, fmt.Errorf("CSV header must name code, name and kind; it has %v", header)
		}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, fmt.Errorf("line %d: %w", line, err)
		}
		if err := add(line, Entry{Code: rec[col["code"]], Name: rec[col["name"]], Kind: rec[col["kind"]]}); err != nil {
			return total, err
		}
	}
	return total, flush()
}
