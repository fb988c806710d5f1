package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// jsonCanonicalRecord is the definition of the canonical bytes: Go's
// encoding/json Marshal of canonRecord. appendCanonicalRecord must write
// the same bytes for every record, or stored hashes stop verifying.
func jsonCanonicalRecord(t testing.TB, r *Record) []byte {
	b, err := json.Marshal(canonicalRecordOf(r))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// awkward are strings the encodings must agree on: every ASCII byte,
// HTML characters, U+2028/U+2029, invalid and truncated UTF-8, NUL.
var awkward = []string{
	"", "plain", "u<1>&\"q\"\\", "\b\f\n\r\t\x00\x01\x1f\x7f", "地址 ✓ 😀", "\u2028\u2029", "\xff", "a\xc3", "\xe2\x80",
	"\xed\xa0\x80", "\xf4\x90\x80\x80", "\u00a0\ufffd", strings.Repeat("<é>", 50),
}

func TestCanonicalRecordMatchesJSON(t *testing.T) {
	var ascii strings.Builder
	for c := range 0x80 {
		ascii.WriteByte(byte(c))
	}
	strs := append([]string{ascii.String()}, awkward...)
	at := time.Date(2026, 3, 1, 16, 4, 5, 678912000, time.FixedZone("CST", 8*3600))
	for i, s := range strs {
		for _, r := range []Record{
			{Chain: s, Seq: int64(i), PrevHash: s, At: at, Kind: s, Subject: s, Org: s, Roles: []string{s, s}, Operation: s,
				Action: s, CaseID: s, MatterCode: s, HolderCode: s, CertificateID: s, IssuerCode: s, Fields: []string{s},
				Decision: s, Reason: s, PolicyVersion: -i, RequestID: s, Client: s, Basis: s, Count: i - 3},
			{V: 1, Chain: s, Reason: s, Basis: s, Count: 9},
			{Reason: s, Roles: []string{}, Seq: -1 << 63, PolicyVersion: 1<<31 - 1},
			{At: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), Fields: strs},
			{At: time.Date(10000, 1, 1, 0, 0, 0, 999999999, time.UTC)},
		} {
			if got, want := CanonicalRecord(&r), jsonCanonicalRecord(t, &r); !bytes.Equal(got, want) {
				t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
}

func FuzzCanonicalRecord(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, s, int64(1), 0, int64(0))
	}
	f.Fuzz(func(t *testing.T, a, b string, seq int64, pv int, ms int64) {
		r := Record{Chain: a, Seq: seq, PrevHash: b, At: time.UnixMilli(ms), Kind: a, Subject: b, Roles: []string{a, b},
			Fields: []string{b}, Reason: a + b, PolicyVersion: pv, Client: b, Basis: a, Count: pv, V: 1 + int(seq&1)}
		if got, want := CanonicalRecord(&r), jsonCanonicalRecord(t, &r); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
		var h recordHasher
		for range 2 { // fresh, then reused
			if h.hash(&r) != RecordHash(&r) {
				t.Fatal("a reused hasher differs")
			}
		}
	})
}
