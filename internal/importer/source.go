package importer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"certd/internal/codes"
)

// format is the layout of an input file.
type format int

const (
	formatJSONL format = iota + 1
	formatCSV
)

func (f format) String() string {
	if f == formatCSV {
		return "CSV"
	}
	return "JSON Lines"
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// detectFormat picks the file's format from its extension, or else from its
// first non-blank byte: '{' means JSON Lines, anything else CSV.
func detectFormat(path string, head []byte) (format, error) {
	b := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n")
	if len(b) > 0 && b[0] == '[' {
		return 0, fmt.Errorf("%w: %s holds a JSON array; write one JSON object per line (JSON Lines)", ErrInput, path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return formatJSONL, nil
	case ".csv":
		return formatCSV, nil
	}
	if len(b) > 0 && b[0] == '{' {
		return formatJSONL, nil
	}
	return formatCSV, nil
}

// Column and key names of the input formats. Every other CSV column is a
// field of the template.
const (
	keyHolder      = "holder"
	keyHolderCode  = "holderCode"
	keyHolderName  = "holderName"
	keyHolderKind  = "holderKind"
	keyData        = "data"
	keyValidFrom   = "validFrom"
	keyValidUntil  = "validUntil"
	keyCompletedAt = "businessCompletedAt"
	keyIdempotency = "idempotencyKey"
	keyTypeCode    = "typeCode"
)

// reservedColumns are the CSV columns that are not template fields; their
// names match case-insensitively.
var reservedColumns = []string{keyHolderCode, keyHolderName, keyHolderKind, keyValidFrom, keyValidUntil, keyCompletedAt, keyIdempotency}

// Holder kinds of the schema's HolderKind enum.
const (
	kindPerson       = "PERSON"
	kindOrganization = "ORGANIZATION"
)

// maxKeyLen is the server's limit on idempotency keys.
const maxKeyLen = 200

// row is one record of the input file, ready to send or rejected locally.
type row struct {
	line   int             // first physical line of the record, from 1
	end    int64           // byte offset just past the record
	raw    json.RawMessage // the record as it was, for the rejects file
	key    string          // idempotency key
	input  []byte          // the encoded IssueInput; nil when rejected locally
	reason string          // why the record was rejected locally
}

// fields are the parts of a record before validation.
type fields struct {
	holderCode, holderName, holderKind string
	data                               map[string]any
	validFrom, validUntil, completedAt string
	key                                string
}

type wireHolder struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// wireInput is IssueInput as sent to the server.
type wireInput struct {
	TypeCode            string         `json:"typeCode"`
	Holder              wireHolder     `json:"holder"`
	Data                map[string]any `json:"data"`
	ValidFrom           string         `json:"validFrom,omitempty"`
	ValidUntil          string         `json:"validUntil,omitempty"`
	IdempotencyKey      string         `json:"idempotencyKey"`
	Mode                string         `json:"mode"`
	BusinessCompletedAt string         `json:"businessCompletedAt,omitempty"`
}

// canonRow is the content an idempotency key is derived from: no line
// number, maps encoded with sorted keys, numbers in one spelling.
type canonRow struct {
	Holder [3]string      `json:"h"`
	Data   map[string]any `json:"d"`
	From   string         `json:"f"`
	Until  string         `json:"u"`
	Done   string         `json:"c"`
}

// builder validates records and encodes them as IssueInputs.
type builder struct {
	typeCode string
	buf      bytes.Buffer
	enc      *json.Encoder
}

func newBuilder(typeCode string) *builder {
	b := &builder{typeCode: typeCode}
	b.enc = json.NewEncoder(&b.buf)
	b.enc.SetEscapeHTML(false)
	return b
}

// encode returns v as compact JSON without a trailing newline, in a fresh
// slice.
func (b *builder) encode(v any) ([]byte, error) {
	b.buf.Reset()
	if err := b.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.Clone(bytes.TrimSuffix(b.buf.Bytes(), []byte{'\n'})), nil
}

// build checks f the way the GraphQL layer would (so that one bad record
// cannot fail a whole request) and returns its idempotency key and encoded
// input, or the reason it is rejected.
func (b *builder) build(f *fields) (key string, input []byte, reason string) {
	code := strings.ToUpper(strings.TrimSpace(f.holderCode))
	name := strings.TrimSpace(f.holderName)
	kind := strings.ToUpper(strings.TrimSpace(f.holderKind))
	switch {
	case code == "":
		return "", nil, "holder code is missing"
	case name == "":
		return "", nil, "holder name is missing"
	case !utf8.ValidString(code) || !utf8.ValidString(name):
		return "", nil, "holder code and name must be valid UTF-8"
	}
	if kind == "" {
		org, person := codes.ValidCreditCode(code), codes.ValidResidentID(code)
		switch {
		case org && !person:
			kind = kindOrganization
		case person && !org:
			kind = kindPerson
		default:
			return "", nil, fmt.Sprintf("holder kind is missing and %q is not recognisably a unified social credit code or a resident identity number; give PERSON or ORGANIZATION", code)
		}
	}
	if kind != kindPerson && kind != kindOrganization {
		return "", nil, fmt.Sprintf("holder kind %q must be PERSON or ORGANIZATION", f.holderKind)
	}
	from, until := strings.TrimSpace(f.validFrom), strings.TrimSpace(f.validUntil)
	for _, d := range []struct{ name, v string }{{keyValidFrom, from}, {keyValidUntil, until}} {
		if d.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d.v); err != nil {
			return "", nil, fmt.Sprintf("%s %q is not a date YYYY-MM-DD", d.name, d.v)
		}
	}
	done, canonDone := strings.TrimSpace(f.completedAt), ""
	if done != "" {
		t, err := time.Parse(time.RFC3339Nano, done)
		if err != nil {
			return "", nil, fmt.Sprintf("%s %q is not an RFC 3339 time such as 2019-05-01T09:00:00+08:00", keyCompletedAt, done)
		}
		canonDone = t.UTC().Format(time.RFC3339Nano)
	}
	data := f.data
	if data == nil {
		data = map[string]any{}
	}
	key = strings.TrimSpace(f.key)
	if len(key) > maxKeyLen || !utf8.ValidString(key) {
		return "", nil, fmt.Sprintf("idempotencyKey is longer than %d bytes or not valid UTF-8", maxKeyLen)
	}
	if key == "" {
		c, err := b.encode(canonRow{Holder: [3]string{code, name, kind}, Data: canonical(data).(map[string]any), From: from, Until: until, Done: canonDone})
		if err != nil {
			return "", nil, "data cannot be encoded: " + err.Error()
		}
		key = deriveKey(b.typeCode, c)
	}
	input, err := b.encode(wireInput{
		TypeCode: b.typeCode, Holder: wireHolder{Code: code, Name: name, Kind: kind}, Data: data,
		ValidFrom: from, ValidUntil: until, IdempotencyKey: key, Mode: "STOCK", BusinessCompletedAt: done,
	})
	if err != nil {
		return "", nil, "data cannot be encoded: " + err.Error()
	}
	return key, input, ""
}

// deriveKey is the idempotency key of a record without one.
func deriveKey(typeCode string, canon []byte) string {
	sum := sha256.Sum256(canon)
	return "import:" + typeCode + ":" + hex.EncodeToString(sum[:16])
}

// canonical returns v with every number in one spelling (1.50 and 1.5 are
// the same number), for hashing.
func canonical(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = canonical(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = canonical(e)
		}
		return s
	case json.Number:
		if f, err := strconv.ParseFloat(string(x), 64); err == nil && !math.IsInf(f, 0) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
		return x
	}
	return v
}

// source yields the records of an input file; next returns io.EOF at the
// end and other errors only when the file cannot be read on.
type source interface {
	next() (row, error)
}

// maxLineBytes bounds one JSON line; longer lines are rejected unread.
const maxLineBytes = 4 << 20

// jsonlSource reads JSON Lines.
type jsonlSource struct {
	r    *bufio.Reader
	off  int64 // file offset of the next byte of r
	line int   // physical lines read so far
	b    *builder
	buf  []byte
}

func newJSONLSource(r io.Reader, off int64, line int, b *builder) *jsonlSource {
	return &jsonlSource{r: bufio.NewReaderSize(r, 256<<10), off: off, line: line, b: b}
}

// readLine returns the next line without its newline, reporting whether it
// was longer than maxLineBytes (then only a prefix is returned).
func (s *jsonlSource) readLine() (line []byte, tooLong bool, err error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.off += int64(len(chunk))
		if len(s.buf)+len(chunk) <= maxLineBytes {
			s.buf = append(s.buf, chunk...)
		} else {
			tooLong = true
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (len(s.buf) > 0 || tooLong):
			return s.buf, tooLong, nil
		case err != nil:
			return nil, false, err
		}
		return s.buf, tooLong, nil
	}
}

func (s *jsonlSource) next() (row, error) {
	for {
		first := s.off == 0
		line, tooLong, err := s.readLine()
		if err != nil {
			return row{}, err
		}
		s.line++
		if first {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		text := bytes.TrimSpace(line)
		if len(text) == 0 && !tooLong {
			continue
		}
		r := row{line: s.line, end: s.off}
		if tooLong {
			r.raw = rawText(text[:min(len(text), 1024)])
			r.reason = fmt.Sprintf("line is longer than %d bytes", maxLineBytes)
			return r, nil
		}
		if json.Valid(text) {
			r.raw = json.RawMessage(bytes.Clone(text))
		} else {
			r.raw = rawText(text)
		}
		f, reason := parseJSONObject(text, s.b.typeCode)
		if reason != "" {
			r.reason = reason
			return r, nil
		}
		r.key, r.input, r.reason = s.b.build(f)
		return r, nil
	}
}

// rawText is text as a JSON string, for records that are not valid JSON.
func rawText(text []byte) json.RawMessage {
	b, _ := json.Marshal(string(text))
	return b
}

var jsonKeys = []string{keyHolder, keyHolderCode, keyHolderName, keyHolderKind, keyData, keyValidFrom, keyValidUntil, keyCompletedAt, keyIdempotency, keyTypeCode}

// parseJSONObject reads one JSON Lines record.
func parseJSONObject(text []byte, typeCode string) (*fields, string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil || obj == nil {
		if err != nil && bytes.HasPrefix(text, []byte("{")) {
			return nil, "not valid JSON: " + err.Error()
		}
		return nil, "not a JSON object"
	}
	f := &fields{}
	str := func(key string, raw json.RawMessage, dst *string) string {
		v, ok := jsonString(raw)
		if !ok {
			return key + " must be a string"
		}
		if *dst != "" && v != "" && v != *dst {
			// holder (sorted first) already set it
			return fmt.Sprintf("%s %q contradicts holder: %q", key, v, *dst)
		}
		if v != "" {
			*dst = v
		}
		return ""
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		raw := obj[k]
		var reason string
		switch k {
		case keyHolder:
			reason = parseHolder(raw, f)
		case keyHolderCode:
			reason = str(k, raw, &f.holderCode)
		case keyHolderName:
			reason = str(k, raw, &f.holderName)
		case keyHolderKind:
			reason = str(k, raw, &f.holderKind)
		case keyValidFrom:
			reason = str(k, raw, &f.validFrom)
		case keyValidUntil:
			reason = str(k, raw, &f.validUntil)
		case keyCompletedAt:
			reason = str(k, raw, &f.completedAt)
		case keyIdempotency:
			reason = str(k, raw, &f.key)
		case keyTypeCode:
			var tc string
			if reason = str(k, raw, &tc); reason == "" && tc != "" && tc != typeCode {
				reason = fmt.Sprintf("typeCode %q differs from the imported type %q", tc, typeCode)
			}
		case keyData:
			if isNull(raw) {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				reason = "data: " + err.Error()
			} else if m, ok := v.(map[string]any); ok {
				f.data = m
			} else {
				reason = "data must be a JSON object of the template's fields"
			}
		default:
			reason = fmt.Sprintf("unknown key %q (known: %s)", k, strings.Join(jsonKeys, ", "))
		}
		if reason != "" {
			return nil, reason
		}
	}
	return f, ""
}

// parseHolder reads {"code", "name", "kind"}; flat holderCode etc. keys
// of the same record fill what it leaves empty.
func parseHolder(raw json.RawMessage, f *fields) string {
	if isNull(raw) {
		return ""
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(raw, &h); err != nil || h == nil {
		return "holder must be an object {code, name, kind}"
	}
	for k, v := range h {
		var dst *string
		switch k {
		case "code":
			dst = &f.holderCode
		case "name":
			dst = &f.holderName
		case "kind":
			dst = &f.holderKind
		default:
			return fmt.Sprintf("unknown key holder.%s (known: code, name, kind)", k)
		}
		s, ok := jsonString(v)
		if !ok {
			return "holder." + k + " must be a string"
		}
		if *dst == "" {
			*dst = s
		}
	}
	return ""
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// jsonString reads a JSON string; null reads as empty and a number as its
// text (an all-digit code written without quotes).
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return "", true
	}
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return string(raw), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// Field types of the schema's FieldType enum.
const (
	typeString  = "STRING"
	typeNumber  = "NUMBER"
	typeDate    = "DATE"
	typeBoolean = "BOOLEAN"
)

// convertCell turns a CSV cell into the JSON value the template wants.
// With the field's type known (from the catalogue), NUMBER cells that are
// JSON numbers become numbers and BOOLEAN cells true/false become
// booleans; anything else stays a string for the server to judge. With the
// type unknown, any JSON number becomes a number and true/false a boolean.
// Empty cells are omitted (ok false).
func convertCell(cell, typ string) (v any, ok bool) {
	if cell == "" {
		return nil, false
	}
	switch typ {
	case typeString, typeDate:
		return cell, true
	case typeNumber:
		if isJSONNumber(cell) {
			return json.Number(cell), true
		}
		return cell, true
	case typeBoolean:
		if b, ok := parseBool(cell); ok {
			return b, true
		}
		return cell, true
	}
	if isJSONNumber(cell) {
		return json.Number(cell), true
	}
	if b, ok := parseBool(cell); ok {
		return b, true
	}
	return cell, true
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// isJSONNumber reports whether s is a number in JSON's grammar, so that
// "007" and "+1" stay strings.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i != len(s) {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

// csvHeader maps the columns of a CSV file.
type csvHeader struct {
	names    []string       // trimmed column names; "" for unnamed columns
	reserved map[string]int // reserved column (canonical name) → index
	types    []string       // template field type of each data column, "" if unknown
}

// parseHeader checks a CSV header row. fieldTypes, when not nil, is the
// template (field name → type): columns outside it are an error, since the
// server would reject every row.
func parseHeader(rec []string, fieldTypes map[string]string) (*csvHeader, error) {
	h := &csvHeader{names: make([]string, len(rec)), reserved: map[string]int{}, types: make([]string, len(rec))}
	seen := map[string]bool{}
	var unknown []string
	for i, n := range rec {
		n = strings.TrimSpace(n)
		if i == 0 {
			n = strings.TrimPrefix(n, "\uFEFF")
		}
		h.names[i] = n
		if n == "" {
			continue
		}
		if res := reservedName(n); res != "" {
			n = res
			h.reserved[res] = i
		} else if fieldTypes != nil {
			t, ok := fieldTypes[n]
			if !ok {
				unknown = append(unknown, n)
			}
			h.types[i] = t
		}
		if seen[n] {
			return nil, fmt.Errorf("%w: CSV header names column %q twice", ErrInput, n)
		}
		seen[n] = true
	}
	for _, need := range []string{keyHolderCode, keyHolderName} {
		if _, ok := h.reserved[need]; !ok {
			return nil, fmt.Errorf("%w: CSV header has no %s column (header: %s)", ErrInput, need, strings.Join(h.names, ","))
		}
	}
	if len(unknown) > 0 {
		names := make([]string, 0, len(fieldTypes))
		for n := range fieldTypes {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("%w: CSV columns %s are not fields of the template (fields: %s)", ErrInput, strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	return h, nil
}

func reservedName(n string) string {
	for _, r := range reservedColumns {
		if strings.EqualFold(n, r) {
			return r
		}
	}
	return ""
}

// csvSource reads CSV records after the header.
type csvSource struct {
	f        io.ReaderAt // the file, to quote records that do not parse
	cr       *csv.Reader
	base     int64 // file offset where cr starts
	lineBase int   // physical lines before base
	prev     int64 // file offset past the previous record
	h        *csvHeader
	b        *builder
}

func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

func (s *csvSource) next() (row, error) {
	for {
		rec, err := s.cr.Read()
		end := s.base + s.cr.InputOffset()
		start := s.prev
		s.prev = end
		if err == io.EOF {
			return row{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return row{line: s.lineBase + pe.StartLine, end: end, raw: s.rawBetween(start, end), reason: "CSV: " + pe.Err.Error()}, nil
		}
		if err != nil {
			return row{}, err
		}
		if blank(rec) {
			continue
		}
		line, _ := s.cr.FieldPos(0)
		r := row{line: s.lineBase + line, end: end, raw: s.h.rawRecord(rec)}
		f, reason := s.h.fields(rec)
		if reason != "" {
			r.reason = reason
			return r, nil
		}
		r.key, r.input, r.reason = s.b.build(f)
		return r, nil
	}
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// rawBetween quotes the file's bytes [start, end) (at most 4 KiB), for a
// record that did not parse.
func (s *csvSource) rawBetween(start, end int64) json.RawMessage {
	n := min(end-start, 4<<10)
	buf := make([]byte, max(n, 0))
	k, _ := s.f.ReadAt(buf, start)
	return rawText(bytes.TrimSpace(buf[:k]))
}

// rawRecord is the record as an object of column name → cell, in column
// order; unnamed columns are called "column N".
func (h *csvHeader) rawRecord(rec []string) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range rec {
		name := ""
		if i < len(h.names) {
			name = h.names[i]
		}
		if name == "" {
			if c == "" {
				continue
			}
			name = fmt.Sprintf("column %d", i+1)
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		v, _ := json.Marshal(c)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// fields reads a record by the header; cells are trimmed of surrounding
// white space.
func (h *csvHeader) fields(rec []string) (*fields, string) {
	if len(rec) < len(h.names) {
		return nil, fmt.Sprintf("row has %d cells, the header %d", len(rec), len(h.names))
	}
	f := &fields{data: map[string]any{}}
	for i, c := range rec {
		c = strings.TrimSpace(c)
		if i >= len(h.names) || h.names[i] == "" {
			if c != "" {
				return nil, fmt.Sprintf("cell %d (%q) is under no named column", i+1, c)
			}
			continue
		}
		name := h.names[i]
		switch reservedName(name) {
		case keyHolderCode:
			f.holderCode = c
		case keyHolderName:
			f.holderName = c
		case keyHolderKind:
			f.holderKind = c
		case keyValidFrom:
			f.validFrom = c
		case keyValidUntil:
			f.validUntil = c
		case keyCompletedAt:
			f.completedAt = c
		case keyIdempotency:
			f.key = c
		default:
			if v, ok := convertCell(c, h.types[i]); ok {
				f.data[name] = v
			}
		}
	}
	return f, ""
}

// openSource opens the records of f from offset off (0, or a record
// boundary from a progress file). fieldTypes is the template, or nil.
func openSource(f *os.File, size int64, ft format, off int64, typeCode string, fieldTypes map[string]string) (source, error) {
	b := newBuilder(typeCode)
	bom := int64(0)
	head := make([]byte, 3)
	if n, _ := f.ReadAt(head, 0); n == 3 && bytes.Equal(head, utf8BOM) {
		bom = 3
	}
	if ft == formatJSONL {
		start := max(off, bom)
		line := 0
		if start > bom {
			var err error
			if line, err = countLines(io.NewSectionReader(f, 0, start)); err != nil {
				return nil, err
			}
		}
		return newJSONLSource(io.NewSectionReader(f, start, size-start), start, line, b), nil
	}
	cr := newCSVReader(io.NewSectionReader(f, bom, size-bom))
	rec, err := cr.Read()
	if err == io.EOF {
		return emptySource{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: CSV header: %v", ErrInput, err)
	}
	h, err := parseHeader(rec, fieldTypes)
	if err != nil {
		return nil, err
	}
	s := &csvSource{f: f, cr: cr, base: bom, h: h, b: b}
	s.prev = bom + cr.InputOffset()
	if off > s.prev {
		line, err := countLines(io.NewSectionReader(f, 0, off))
		if err != nil {
			return nil, err
		}
		s.cr = newCSVReader(io.NewSectionReader(f, off, size-off))
		s.base, s.prev, s.lineBase = off, off, line
	}
	return s, nil
}

type emptySource struct{}

func (emptySource) next() (row, error) { return row{}, io.EOF }

// countLines counts the newlines of r.
func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 256<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// estimateRows is the quick first pass for the progress bar: the lines of
// the file, less the header of a CSV file.
func estimateRows(f *os.File, size int64, ft format) (int64, error) {
	n, err := countLines(io.NewSectionReader(f, 0, size))
	if err != nil {
		return 0, err
	}
	total := int64(n)
	if size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err == nil && last[0] != '\n' {
			total++
		}
	}
	if ft == formatCSV && total > 0 {
		total--
	}
	return total, nil
}
