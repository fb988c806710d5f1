package certificate

import (
	"bytes"
	"encoding/json"
	"time"
)

// DocumentFormat names the canonical document's layout.
const DocumentFormat = "certd-licence/1"

// document is the canonical form of a licence version that the seal
// signs: JSON with keys in sorted order, no insignificant space, no HTML
// escaping, dates as YYYY-MM-DD and times as RFC 3339 UTC.
type document struct {
	Format     string         `json:"format"`
	ID         string         `json:"id"`
	Type       docType        `json:"type"`
	Issuer     docUnit        `json:"issuer"`
	Holder     Holder         `json:"holder"`
	Version    int            `json:"version"`
	ValidFrom  string         `json:"validFrom"`
	ValidUntil *string        `json:"validUntil"`
	IssuedAt   string         `json:"issuedAt"`
	Data       map[string]any `json:"data"`
}

type docType struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	Version int    `json:"version"`
}

type docUnit struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Canonical renders the canonical document of c; typeName and issuerName
// are the catalogue names at issuance.
func Canonical(c *Certificate, typeName, issuerName string) (string, error) {
	d := document{
		Format: DocumentFormat, ID: c.ID,
		Type:   docType{Code: c.TypeCode, Name: typeName, Version: c.TypeVersion},
		Issuer: docUnit{Code: c.IssuerCode, Name: issuerName},
		Holder: c.Holder, Version: c.Version,
		ValidFrom: c.ValidFrom.Format(time.DateOnly),
		IssuedAt:  c.IssuedAt.UTC().Format(time.RFC3339Nano),
		Data:      c.Data,
	}
	if c.ValidUntil != nil {
		s := c.ValidUntil.Format(time.DateOnly)
		d.ValidUntil = &s
	}
	// Marshal to a generic value first so that every object, the fixed
	// ones included, comes out with sorted keys.
	raw, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
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
