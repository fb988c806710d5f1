package certificate

import (
	"strings"
	"testing"
	"time"

	"certd/internal/apperr"
)

func TestParseIDPublicExamples(t *testing.T) {
	for _, s := range []string{
		"1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y",
		"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
	} {
		id, err := ParseID(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if id.String() != s {
			t.Fatalf("round trip: %s != %s", id.String(), s)
		}
	}
}

func TestParseIDRefuses(t *testing.T) {
	for _, s := range []string{
		"",
		"1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Z", // check
		"1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003",   // no check
		"1.2.156.3005.3.11100000000013338W011.11110000000021135M.20230329701.003.Y", // root
		"1.2.156.3005.2.11100000000013338X011.11110000000021135M.20230329701.003.Y", // type credit code
		"1.2.156.3005.2.11100000000013338W011.11110000000021135X.20230329701.003.Y", // issuer
		"1.2.156.3005.2.11100000000013338W011.11110000000021135M.2023a.003.Y",       // serial
		"1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.03.Y",  // version
		`1.2.156.3005.2.{"$gt":""}`,
	} {
		if _, err := ParseID(s); !apperr.CodeIs(err, apperr.InvalidInput) {
			t.Errorf("%q: got %v, want INVALID_INPUT", s, err)
		}
	}
}

func TestVersionsHaveTheirOwnID(t *testing.T) {
	id := ID{TypeCode: "11100000000013338W011", IssuerCode: "11110000000021135M", Serial: FormatSerial(2026, 42), Version: 1}
	v2 := id
	v2.Version = 2
	if id.String() == v2.String() || id.Lineage() != v2.Lineage() {
		t.Fatalf("%s / %s", id, v2)
	}
	if _, err := ParseID(v2.String()); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y")
	f.Add("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F")
	f.Add("1.2.156.3005.2....")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		// Anything accepted formats back to itself.
		if id.String() != s {
			t.Fatalf("accepted %q but formats as %q", s, id.String())
		}
	})
}

func TestCanonicalIsSortedAndStable(t *testing.T) {
	until := time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC)
	c := &Certificate{ID: "X", TypeCode: "T", IssuerCode: "I", Version: 2, TypeVersion: 3,
		Holder: Holder{Code: "H", Name: "示例个人甲 <&>", Kind: Person}, ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ValidUntil: &until,
		IssuedAt: time.Date(2026, 3, 1, 8, 0, 0, 5e6, time.UTC), Data: map[string]any{"z": 1.5, "a": "甲", "m": true}}
	got, err := Canonical(c, "类型", "单位")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"data":{"a":"甲","m":true,"z":1.5},"format":"certd-licence/1","holder":{"code":"H","kind":"PERSON","name":"示例个人甲 <&>"},` +
		`"id":"X","issuedAt":"2026-03-01T08:00:00.005Z","issuer":{"code":"I","name":"单位"},"type":{"code":"T","name":"类型","version":3},` +
		`"validFrom":"2026-01-01","validUntil":"2030-12-31","version":2}`
	if got != want {
		t.Fatalf("canonical document\n got %s\nwant %s", got, want)
	}
	if id, ok := DocumentID(got); !ok || id != "X" {
		t.Fatalf("DocumentID: %q %v", id, ok)
	}
	c.Nonce = "00112233445566778899aabbccddeeff"
	withNonce, _ := Canonical(c, "类型", "单位")
	if !strings.Contains(withNonce, `"nonce":"00112233445566778899aabbccddeeff","type"`) {
		t.Fatalf("the nonce is sealed in, in key order: %s", withNonce)
	}
	if _, ok := DocumentID(`{"format":"other/1","id":"X"}`); ok {
		t.Fatal("a document of another format was accepted")
	}
}
