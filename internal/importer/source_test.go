package importer

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	testType   = "11350100MB00000025001"
	orgCode    = "91310110666007217T"
	personCode = "321083197812162119"
	personX    = "33010219200403064X"
)

// writeFile writes content to a file named name in a fresh directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll opens path like Run does and returns every record.
func readAll(t *testing.T, path string, off int64, fieldTypes map[string]string) []row {
	t.Helper()
	rows, err := readAllErr(path, off, fieldTypes)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readAllErr(path string, off int64, fieldTypes map[string]string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, _ := f.Stat()
	head := make([]byte, min(st.Size(), 4096))
	_, _ = f.ReadAt(head, 0)
	ft, err := detectFormat(path, head)
	if err != nil {
		return nil, err
	}
	src, err := openSource(f, st.Size(), ft, off, testType, fieldTypes)
	if err != nil {
		return nil, err
	}
	var rows []row
	for {
		r, err := src.next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
}

// decoded is a record's encoded IssueInput, decoded.
func decoded(t *testing.T, r row) map[string]any {
	t.Helper()
	if r.input == nil {
		t.Fatalf("line %d rejected: %s", r.line, r.reason)
	}
	var m map[string]any
	if err := json.Unmarshal(r.input, &m); err != nil {
		t.Fatalf("line %d: input %s: %v", r.line, r.input, err)
	}
	return m
}

func TestDetectFormat(t *testing.T) {
	for _, tt := range []struct {
		path, head string
		want       format
		err        bool
	}{
		{"a.jsonl", "x", formatJSONL, false},
		{"a.NDJSON", "", formatJSONL, false},
		{"a.json", `{"a":1}`, formatJSONL, false},
		{"a.json", ` [{"a":1}]`, 0, true},
		{"a.csv", "{", formatCSV, false},
		{"a.txt", "\xEF\xBB\xBF \n {\"holder\":{}}", formatJSONL, false},
		{"a", "holderCode,holderName", formatCSV, false},
		{"a", "", formatCSV, false},
	} {
		got, err := detectFormat(tt.path, []byte(tt.head))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("detectFormat(%q, %q) = %v, %v; want %v, error %v", tt.path, tt.head, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrInput) {
			t.Errorf("error %v is not ErrInput", err)
		}
	}
}

func TestJSONL(t *testing.T) {
	content := "\xEF\xBB\xBF" + `{"holder":{"code":"` + orgCode + `","name":" 福州示例 ","kind":"organization"},"data":{"area":12.5,"open":true,"name":"x"},"validFrom":"2020-01-01","validUntil":"2030-12-31","businessCompletedAt":"2019-12-30T09:00:00+08:00"}` + "\n" +
		"\n   \r\n" +
		`{"holderCode":"` + strings.ToLower(personX) + `","holderName":"示例个人乙","data":{"n":12345678901234567890},"idempotencyKey":"paper-42"}` + "\r\n" +
		`{"holder":{"code":"` + personCode + `"},"data":{}}` + "\n" +
		`not json` + "\n" +
		`[1,2]` + "\n" +
		`{"holder":{"code":"X1","name":"n"},"data":{}}` + "\n" +
		`{"holder":{"code":"` + personCode + `","name":"n"},"data":[1]}` + "\n" +
		`{"holder":{"code":"` + personCode + `","name":"n"},"validFrom":"2020-13-01"}` + "\n" +
		`{"holder":{"code":"` + personCode + `","name":"n"},"valid_from":"2020-01-01"}` + "\n" +
		`{"holder":{"code":"` + personCode + `","name":"n"},"businessCompletedAt":"2020-01-01"}` + "\n" +
		`{"holder":{"code":"` + personCode + `","name":"n"},"holderName":"m"}` + "\n" +
		`{"holder":{"code":"` + personCode + `","name":"n"},"typeCode":"other"}` + "\n" +
		`{"holder":{"code":"` + personCode + `","name":"n","kind":"ROBOT"}}` // no final newline
	p := writeFile(t, "in.jsonl", content)
	rows := readAll(t, p, 0, nil)

	wantReject := map[int]string{
		5:  "holder name is missing",
		6:  "not a JSON object",
		7:  "not a JSON object",
		8:  "holder kind is missing",
		9:  "data must be a JSON object",
		10: "validFrom",
		11: `unknown key "valid_from"`,
		12: "RFC 3339",
		13: "contradicts",
		14: "differs from the imported type",
		15: `"ROBOT" must be PERSON or ORGANIZATION`,
	}
	if len(rows) != 2+len(wantReject) {
		t.Fatalf("got %d rows, want %d", len(rows), 2+len(wantReject))
	}
	first := decoded(t, rows[0])
	if rows[0].line != 1 || rows[1].line != 4 {
		t.Errorf("lines = %d, %d; want 1, 4", rows[0].line, rows[1].line)
	}
	want := map[string]any{
		"typeCode": testType, "mode": "STOCK", "idempotencyKey": rows[0].key,
		"holder":              map[string]any{"code": orgCode, "name": "福州示例", "kind": "ORGANIZATION"},
		"data":                map[string]any{"area": 12.5, "open": true, "name": "x"},
		"validFrom":           "2020-01-01",
		"validUntil":          "2030-12-31",
		"businessCompletedAt": "2019-12-30T09:00:00+08:00",
	}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first input = %v\nwant %v", first, want)
	}
	if !strings.HasPrefix(rows[0].key, "import:"+testType+":") || len(rows[0].key) != len("import:"+testType+":")+32 {
		t.Errorf("derived key %q", rows[0].key)
	}
	second := decoded(t, rows[1])
	if h := second["holder"].(map[string]any); h["code"] != personX || h["kind"] != "PERSON" {
		t.Errorf("second holder = %v; want code upper-cased and kind PERSON", h)
	}
	if rows[1].key != "paper-42" {
		t.Errorf("own key = %q", rows[1].key)
	}
	if !strings.Contains(string(rows[1].input), `"n":12345678901234567890`) {
		t.Errorf("big number lost its digits: %s", rows[1].input)
	}
	for _, r := range rows[2:] {
		w, ok := wantReject[r.line]
		if !ok {
			t.Errorf("unexpected row on line %d: %s", r.line, r.reason)
			continue
		}
		if r.input != nil || !strings.Contains(r.reason, w) {
			t.Errorf("line %d: reason %q, want it to contain %q", r.line, r.reason, w)
		}
		if !json.Valid(r.raw) {
			t.Errorf("line %d: raw %q is not JSON", r.line, r.raw)
		}
	}
	if got := string(rows[3].raw); got != `"not json"` {
		t.Errorf("raw of a non-JSON line = %s", got)
	}
	if got := string(rows[4].raw); got != `[1,2]` {
		t.Errorf("raw of a JSON line = %s", got)
	}
	if end := rows[len(rows)-1].end; end != int64(len(content)) {
		t.Errorf("last end = %d, want %d", end, len(content))
	}
}

func TestParseJSONObjectErrors(t *testing.T) {
	for line, want := range map[string]string{
		`{"holder":`:                        "not valid JSON",
		`null`:                              "not a JSON object",
		`"x"`:                               "not a JSON object",
		`{"holder":"x"}`:                    "holder must be an object",
		`{"holder":{"code":1,"nick":"x"}}`:  "unknown key holder.nick",
		`{"holder":{"code":true}}`:          "holder.code must be a string",
		`{"holderName":["x"]}`:              "holderName must be a string",
		`{"data":{"a":1},"data2":{}}`:       `unknown key "data2"`,
		`{"idempotencyKey":{"k":1}}`:        "idempotencyKey must be a string",
		`{"holder":null,"holderCode":null}`: "",
	} {
		_, reason := parseJSONObject([]byte(line), testType)
		if (want == "") != (reason == "") || !strings.Contains(reason, want) {
			t.Errorf("%s: reason %q, want %q", line, reason, want)
		}
	}
	f, reason := parseJSONObject([]byte(`{"holder":{"code":350102198001010011,"name":"n"}}`), testType)
	if reason != "" || f.holderCode != "350102198001010011" {
		t.Errorf("an unquoted all-digit code reads as %q (%s)", f.holderCode, reason)
	}
	_, _, reason = newBuilder(testType).build(&fields{holderCode: personCode, holderName: "n", key: strings.Repeat("k", 201)})
	if !strings.Contains(reason, "idempotencyKey") {
		t.Errorf("a 201-byte key: %q", reason)
	}
}

func TestJSONLResumeAtOffset(t *testing.T) {
	var b strings.Builder
	for i := range 5 {
		b.WriteString(`{"holder":{"code":"` + personCode + `","name":"n` + string(rune('a'+i)) + `"}}` + "\n")
		if i == 1 {
			b.WriteString("\n")
		}
	}
	p := writeFile(t, "in.jsonl", b.String())
	all := readAll(t, p, 0, nil)
	rest := readAll(t, p, all[1].end, nil)
	if len(rest) != 3 {
		t.Fatalf("resumed rows = %d, want 3", len(rest))
	}
	for i, r := range rest {
		if r.line != all[i+2].line || r.key != all[i+2].key || r.end != all[i+2].end {
			t.Errorf("resumed row %d = line %d end %d, want line %d end %d", i, r.line, r.end, all[i+2].line, all[i+2].end)
		}
	}
}

func TestCSV(t *testing.T) {
	content := "\xEF\xBB\xBFholderCode, HolderName ,holderKind,validFrom,validUntil,idempotencyKey,area,open,licenceNo,note,\n" +
		orgCode + `,"Acme, ""Ltd""",,2020-01-01,,,12.50,TRUE,00123,"two` + "\nlines\"," + "\r\n" +
		personCode + ",示例个人甲,PERSON,,,k-1,-3e2,false,12345,,\n" +
		",,,,,,,,,,\n" +
		"\n" +
		",nobody,,,,,1,true,1,,\n" +
		personCode + ",short\n" +
		personCode + `,bad "quote",,,,,1,true,1,,` + "\n" +
		personCode + ",extra,,,,,1,true,1,,oops\n" +
		personCode + ",types,,,,,abc,yes,1e3,,\n"
	p := writeFile(t, "in.csv", content)

	t.Run("template", func(t *testing.T) {
		ft := map[string]string{"area": typeNumber, "open": typeBoolean, "licenceNo": typeString, "note": typeString}
		rows := readAll(t, p, 0, ft)
		if len(rows) != 7 {
			t.Fatalf("got %d rows, want 7", len(rows))
		}
		first := decoded(t, rows[0])
		wantData := map[string]any{"area": 12.5, "open": true, "licenceNo": "00123", "note": "two\nlines"}
		if !reflect.DeepEqual(first["data"], wantData) {
			t.Errorf("data = %#v, want %#v", first["data"], wantData)
		}
		if h := first["holder"].(map[string]any); h["name"] != `Acme, "Ltd"` || h["kind"] != "ORGANIZATION" {
			t.Errorf("holder = %v", h)
		}
		if first["validFrom"] != "2020-01-01" || first["validUntil"] != nil {
			t.Errorf("validity = %v, %v", first["validFrom"], first["validUntil"])
		}
		if !strings.Contains(string(rows[0].input), `"area":12.50`) {
			t.Errorf("number not sent as written: %s", rows[0].input)
		}
		second := decoded(t, rows[1])
		wantData = map[string]any{"area": -300.0, "open": false, "licenceNo": "12345"}
		if !reflect.DeepEqual(second["data"], wantData) || second["idempotencyKey"] != "k-1" {
			t.Errorf("second = %v", second)
		}
		if rows[0].line != 2 || rows[1].line != 4 {
			t.Errorf("lines = %d, %d; want 2, 4", rows[0].line, rows[1].line)
		}
		var raw map[string]string
		if err := json.Unmarshal(rows[0].raw, &raw); err != nil || raw["HolderName"] != `Acme, "Ltd"` || raw["note"] != "two\nlines" {
			t.Errorf("raw = %s (%v)", rows[0].raw, err)
		}
		if !strings.HasPrefix(string(rows[0].raw), `{"holderCode":`) {
			t.Errorf("raw not in column order: %s", rows[0].raw)
		}
		for i, want := range []struct {
			line   int
			reason string
		}{
			{7, "holder code is missing"},
			{8, "row has 2 cells, the header 11"},
			{9, "bare \" in non-quoted-field"},
			{10, "under no named column"},
		} {
			r := rows[2+i]
			if r.line != want.line || r.input != nil || !strings.Contains(r.reason, want.reason) {
				t.Errorf("row %d = line %d %q; want line %d %q", 2+i, r.line, r.reason, want.line, want.reason)
			}
		}
		if got := string(rows[4].raw); !strings.Contains(got, `bad \"quote\"`) {
			t.Errorf("raw of a broken record = %s", got)
		}
		// A template NUMBER or BOOLEAN that does not parse stays a string
		// for the server to refuse; a STRING that looks like a number stays
		// a string.
		last := decoded(t, rows[6])
		wantData = map[string]any{"area": "abc", "open": "yes", "licenceNo": "1e3"}
		if !reflect.DeepEqual(last["data"], wantData) {
			t.Errorf("last data = %#v, want %#v", last["data"], wantData)
		}
	})

	t.Run("no template", func(t *testing.T) {
		rows := readAll(t, p, 0, nil)
		first := decoded(t, rows[0])
		wantData := map[string]any{"area": 12.5, "open": true, "licenceNo": "00123", "note": "two\nlines"}
		if !reflect.DeepEqual(first["data"], wantData) {
			t.Errorf("data = %#v, want %#v", first["data"], wantData)
		}
		second := decoded(t, rows[1])
		if second["data"].(map[string]any)["licenceNo"] != 12345.0 {
			t.Errorf("without a template a numeric cell is a number: %v", second["data"])
		}
	})

	t.Run("resume", func(t *testing.T) {
		all := readAll(t, p, 0, nil)
		rest := readAll(t, p, all[1].end, nil)
		if len(rest) != len(all)-2 {
			t.Fatalf("resumed %d rows, want %d", len(rest), len(all)-2)
		}
		for i, r := range rest {
			if w := all[i+2]; r.line != w.line || r.end != w.end || r.reason != w.reason || r.key != w.key {
				t.Errorf("resumed row %d = line %d end %d %q, want line %d end %d %q", i, r.line, r.end, r.reason, w.line, w.end, w.reason)
			}
		}
	})
}

func TestCSVHeaderErrors(t *testing.T) {
	for _, tt := range []struct{ header, want string }{
		{"holderName,area", "no holderCode column"},
		{"holderCode,holderName,area,Area", ""},
		{"holderCode,holderName,area,area", `column "area" twice`},
		{"holderCode,holderName,holdercode", `column "holderCode" twice`},
		{"holderCode,holderName,area,colour", "colour are not fields of the template"},
		{`holderCode,"holderName`, "CSV header"},
	} {
		p := writeFile(t, "h.csv", tt.header+"\n")
		_, err := readAllErr(p, 0, map[string]string{"area": typeNumber, "Area": typeString})
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.header, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want ErrInput with %q", tt.header, err, tt.want)
		}
	}
	p := writeFile(t, "empty.csv", "")
	if rows, err := readAllErr(p, 0, nil); err != nil || len(rows) != 0 {
		t.Errorf("empty CSV = %d rows, %v", len(rows), err)
	}
}

func TestConvertCell(t *testing.T) {
	for _, tt := range []struct {
		cell, typ string
		want      any
		ok        bool
	}{
		{"", typeNumber, nil, false},
		{"", "", nil, false},
		{"12", "", json.Number("12"), true},
		{"-0.5e3", "", json.Number("-0.5e3"), true},
		{"007", "", "007", true},
		{"+1", "", "+1", true},
		{"1.", "", "1.", true},
		{"1e999", "", "1e999", true},
		{"NaN", "", "NaN", true},
		{"True", "", true, true},
		{"false", "", false, true},
		{"12", typeString, "12", true},
		{"true", typeString, "true", true},
		{"2020-01-01", typeDate, "2020-01-01", true},
		{"12", typeNumber, json.Number("12"), true},
		{"12 kg", typeNumber, "12 kg", true},
		{"FALSE", typeBoolean, false, true},
		{"1", typeBoolean, "1", true},
	} {
		got, ok := convertCell(tt.cell, tt.typ)
		if got != tt.want || ok != tt.ok {
			t.Errorf("convertCell(%q, %q) = %#v, %v; want %#v, %v", tt.cell, tt.typ, got, ok, tt.want, tt.ok)
		}
	}
}

func TestKindInference(t *testing.T) {
	b := newBuilder(testType)
	for _, tt := range []struct{ code, kind, want string }{
		{orgCode, "", "ORGANIZATION"},
		{personCode, "", "PERSON"},
		{strings.ToLower(personX), "", "PERSON"},
		{"ABC", "", ""},
		{"ABC", "person", "PERSON"},
		{orgCode, " Person ", "PERSON"}, // an explicit kind wins; the server checks it
	} {
		_, in, reason := b.build(&fields{holderCode: tt.code, holderName: "n", holderKind: tt.kind})
		got := ""
		if in != nil {
			var m struct{ Holder wireHolder }
			_ = json.Unmarshal(in, &m)
			got = m.Holder.Kind
		}
		if got != tt.want {
			t.Errorf("kind of %q/%q = %q (%s), want %q", tt.code, tt.kind, got, reason, tt.want)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	key := func(line string) string {
		t.Helper()
		f, reason := parseJSONObject([]byte(line), testType)
		if reason != "" {
			t.Fatalf("%s: %s", line, reason)
		}
		k, _, reason := newBuilder(testType).build(f)
		if reason != "" {
			t.Fatalf("%s: %s", line, reason)
		}
		return k
	}
	base := key(`{"holder":{"code":"` + personCode + `","name":"示例个人甲"},"data":{"a":1.50,"b":"x","c":{"y":1,"z":2}},"validFrom":"2020-01-01","businessCompletedAt":"2020-01-01T08:00:00+08:00"}`)
	same := []string{
		// key order, white space, number spelling, flat holder keys, an
		// explicit kind equal to the inferred one, the same instant in
		// another zone, surrounding spaces
		`{"validFrom":"2020-01-01","data":{"c":{"z":2,"y":1},"b":"x","a":1.5},  "holder":{"name":"示例个人甲","code":"` + personCode + `"},"businessCompletedAt":"2020-01-01T00:00:00Z"}`,
		`{"holderCode":" ` + personCode + `","holderName":"示例个人甲 ","holderKind":"PERSON","data":{"a":15e-1,"b":"x","c":{"y":1,"z":2}},"validFrom":"2020-01-01","businessCompletedAt":"2020-01-01T00:00:00.000Z"}`,
	}
	for _, s := range same {
		if k := key(s); k != base {
			t.Errorf("key of %s = %s, want %s", s, k, base)
		}
	}
	different := []string{
		`{"holder":{"code":"` + personCode + `","name":"示例个人戊"},"data":{"a":1.50,"b":"x","c":{"y":1,"z":2}},"validFrom":"2020-01-01","businessCompletedAt":"2020-01-01T08:00:00+08:00"}`,
		`{"holder":{"code":"` + personCode + `","name":"示例个人甲"},"data":{"a":1.51,"b":"x","c":{"y":1,"z":2}},"validFrom":"2020-01-01","businessCompletedAt":"2020-01-01T08:00:00+08:00"}`,
		`{"holder":{"code":"` + personCode + `","name":"示例个人甲"},"data":{"a":"1.50","b":"x","c":{"y":1,"z":2}},"validFrom":"2020-01-01","businessCompletedAt":"2020-01-01T08:00:00+08:00"}`,
		`{"holder":{"code":"` + personCode + `","name":"示例个人甲"},"data":{"a":1.50,"b":"x","c":{"y":1,"z":2}},"validFrom":"2020-01-02","businessCompletedAt":"2020-01-01T08:00:00+08:00"}`,
		`{"holder":{"code":"` + personCode + `","name":"示例个人甲"},"data":{"a":1.50,"b":"x","c":{"y":1,"z":2}},"validUntil":"2020-01-01","businessCompletedAt":"2020-01-01T08:00:00+08:00"}`,
		`{"holder":{"code":"` + personCode + `","name":"示例个人甲"},"data":{"a":1.50,"b":"x","c":{"y":1,"z":2}},"validFrom":"2020-01-01"}`,
		`{"holder":{"code":"` + personCode + `","name":"示例个人甲","kind":"ORGANIZATION"},"data":{"a":1.50,"b":"x","c":{"y":1,"z":2}},"validFrom":"2020-01-01","businessCompletedAt":"2020-01-01T08:00:00+08:00"}`,
	}
	seen := map[string]string{base: "base"}
	for _, s := range different {
		k := key(s)
		if prev, dup := seen[k]; dup {
			t.Errorf("key of %s equals that of %s", s, prev)
		}
		seen[k] = s
	}
	other, _, _ := newBuilder("11350100MB00000038001").build(&fields{holderCode: personCode, holderName: "示例个人甲"})
	mine, _, _ := newBuilder(testType).build(&fields{holderCode: personCode, holderName: "示例个人甲"})
	if other == mine || !strings.Contains(other, ":11350100MB00000038001:") {
		t.Errorf("keys of two types: %s, %s", other, mine)
	}

	// The same records in another order, on other lines and in another
	// format, get the same keys.
	jsonl := `{"holder":{"code":"` + personCode + `","name":"A"},"data":{"n":1,"s":"x"}}` + "\n" +
		`{"holder":{"code":"` + orgCode + `","name":"B"},"data":{"n":2}}` + "\n"
	csv := "holderCode,holderName,n,s\n\n" + orgCode + ",B,2,\n" + personCode + ",A,1,x\n"
	a := readAll(t, writeFile(t, "a.jsonl", jsonl), 0, nil)
	c := readAll(t, writeFile(t, "c.csv", csv), 0, map[string]string{"n": typeNumber, "s": typeString})
	if a[0].key != c[1].key || a[1].key != c[0].key || a[0].key == a[1].key {
		t.Errorf("keys jsonl %s %s, csv %s %s", a[0].key, a[1].key, c[0].key, c[1].key)
	}
}

func TestLongLine(t *testing.T) {
	long := `{"holder":{"code":"` + personCode + `","name":"` + strings.Repeat("x", maxLineBytes) + `"}}`
	p := writeFile(t, "long.jsonl", long+"\n"+`{"holder":{"code":"`+personCode+`","name":"ok"}}`+"\n")
	rows := readAll(t, p, 0, nil)
	if len(rows) != 2 || rows[0].input != nil || !strings.Contains(rows[0].reason, "longer than") || rows[1].input == nil || rows[1].line != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	if len(rows[0].raw) > 2048 {
		t.Errorf("raw of a long line is %d bytes", len(rows[0].raw))
	}
}

func TestEstimateRows(t *testing.T) {
	for _, tt := range []struct {
		content string
		ft      format
		want    int64
	}{
		{"", formatJSONL, 0},
		{"a\nb\n", formatJSONL, 2},
		{"a\nb", formatJSONL, 2},
		{"h\na\nb\n", formatCSV, 2},
		{"h", formatCSV, 0},
	} {
		p := writeFile(t, "e", tt.content)
		f, _ := os.Open(p)
		got, err := estimateRows(f, int64(len(tt.content)), tt.ft)
		f.Close()
		if err != nil || got != tt.want {
			t.Errorf("estimateRows(%q) = %d, %v; want %d", tt.content, got, err, tt.want)
		}
	}
}
