package certificate

import (
	"encoding/json"
	"testing"
	"time"

	"certd/internal/catalogue"
)

// fuzzType is a template with one field of each type.
var fuzzType = catalogue.CertificateType{Code: "11100000000013338W011", Fields: []catalogue.TemplateField{
	{Name: "name", Label: "名称", Type: catalogue.FieldString, Required: true},
	{Name: "capital", Label: "资本", Type: catalogue.FieldNumber},
	{Name: "since", Label: "日期", Type: catalogue.FieldDate},
	{Name: "chain", Label: "连锁", Type: catalogue.FieldBoolean},
}}

// FuzzValidateData: no panic, and accepted data holds only template
// fields of the right Go types.
func FuzzValidateData(f *testing.F) {
	f.Add(`{"name":"某店","capital":12.5,"since":"2020-01-02","chain":true}`)
	f.Add(`{"name":""}`)
	f.Add(`{"name":"x","$where":"1"}`)
	f.Add(`{"name":{"$gt":""}}`)
	f.Add(`{"name":"x","capital":"1e999"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var data map[string]any
		if json.Unmarshal([]byte(raw), &data) != nil {
			return
		}
		out, err := ValidateData(fuzzType, data)
		if err != nil {
			return
		}
		if _, ok := out["name"].(string); !ok {
			t.Fatalf("accepted without the required string: %v", out)
		}
		for k, v := range out {
			f, ok := fuzzType.Field(k)
			if !ok {
				t.Fatalf("accepted unknown field %q", k)
			}
			switch f.Type {
			case catalogue.FieldNumber:
				if _, ok := v.(float64); !ok {
					t.Fatalf("%s is %T", k, v)
				}
			case catalogue.FieldBoolean:
				if _, ok := v.(bool); !ok {
					t.Fatalf("%s is %T", k, v)
				}
			case catalogue.FieldDate:
				if s, ok := v.(string); !ok {
					t.Fatalf("%s is %T", k, v)
				} else if _, err := time.Parse(time.DateOnly, s); err != nil {
					t.Fatalf("accepted date %q", s)
				}
			}
		}
	})
}

// FuzzDecodeCursor: no panic, and an accepted cursor encodes back to
// itself.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor(Cursor{IssuedAt: time.UnixMilli(1767225600000).UTC(), ID: "1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y"}))
	f.Add("AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			return
		}
		if EncodeCursor(c) != s {
			t.Fatalf("accepted %q but it encodes as %q", s, EncodeCursor(c))
		}
	})
}

// FuzzCanonical: the canonical document of any data is valid JSON that
// names the licence, and rendering is deterministic.
func FuzzCanonical(f *testing.F) {
	f.Add("某店", 12.5, true, "<script>&")
	f.Fuzz(func(t *testing.T, name string, capital float64, chain bool, note string) {
		c := &Certificate{ID: "X", TypeCode: "T", IssuerCode: "I", Version: 1, Holder: Holder{Code: "H", Name: name, Kind: Person},
			ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), IssuedAt: time.Unix(0, 0).UTC(),
			Data: map[string]any{"name": name, "capital": capital, "chain": chain, "note": note}}
		a, err := Canonical(c, "类型", "单位")
		if err != nil {
			return // NaN and infinities cannot be rendered; ValidateData refuses them first
		}
		b, _ := Canonical(c, "类型", "单位")
		if a != b || !json.Valid([]byte(a)) {
			t.Fatalf("not canonical: %s / %s", a, b)
		}
		if id, ok := DocumentID(a); !ok || id != "X" {
			t.Fatalf("DocumentID(%s) = %q %v", a, id, ok)
		}
	})
}
