package certificate

import (
	"bytes"
	"encoding/json"
	"time"
)

// DocumentFormat names the canonical document's layout.
const DocumentFormat = "certd-licence/1"

// Canonical renders the canonical document of c that the seal signs:
// JSON with the keys of every object in sorted order, no insignificant
// space, no HTML escaping, dates as YYYY-MM-DD and times as RFC 3339 UTC.
// typeName and issuerName are the catalogue names at issuance.
//
//	{"data":{...},"format":"certd-licence/1","holder":{"code","kind","name"},
//	 "id":...,"issuedAt":...,"issuer":{"code","name"},
//	 "type":{"code","name","version"},"validFrom":...,"validUntil":...|null,"version":N}
func Canonical(c *Certificate, typeName, issuerName string) (string, error) {
	var until any
	if c.ValidUntil != nil {
		until = c.ValidUntil.Format(time.DateOnly)
	}
	data := c.Data
	if data == nil {
		data = map[string]any{}
	}
	// encoding/json writes map keys in sorted order, which makes the
	// document canonical.
	d := map[string]any{
		"format":     DocumentFormat,
		"id":         c.ID,
		"type":       map[string]any{"code": c.TypeCode, "name": typeName, "version": c.TypeVersion},
		"issuer":     map[string]any{"code": c.IssuerCode, "name": issuerName},
		"holder":     map[string]any{"code": c.Holder.Code, "name": c.Holder.Name, "kind": string(c.Holder.Kind)},
		"version":    c.Version,
		"validFrom":  c.ValidFrom.Format(time.DateOnly),
		"validUntil": until,
		"issuedAt":   c.IssuedAt.UTC().Format(time.RFC3339Nano),
		"data":       data,
	}
	if c.Nonce != "" {
		d["nonce"] = c.Nonce
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// DocumentID reads the licence id a canonical document names.
func DocumentID(doc string) (string, bool) {
	var d struct {
		Format string `json:"format"`
		ID     string `json:"id"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil || d.Format != DocumentFormat || d.ID == "" {
		return "", false
	}
	return d.ID, true
}
