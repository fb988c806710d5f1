// Package catalogue is the licence catalogue of 第五条, 第六条 and 第十条:
// units (issuing and using), certificate types with their templates, and
// public-service matters with the types their guides require. It declares
// the Repository its stores implement.
package catalogue

import (
	"context"
	"time"
)

// Stamp records who made a catalogue entry and who changed it last.
type Stamp struct {
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedBy string    `json:"updatedBy"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Unit is an issuing or using unit, keyed by its unified social credit code.
type Unit struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	Issuing bool   `json:"issuing"`
	// SealPublicKey is the PEM SubjectPublicKeyInfo of the unit's SM2 seal
	// key; empty until the unit has a seal.
	SealPublicKey string `json:"sealPublicKey,omitempty"`
	Version       int    `json:"version"`
	Stamp
}

// FieldType is the type of a template field.
type FieldType string

// Field types of the contract.
const (
	FieldString  FieldType = "STRING"
	FieldNumber  FieldType = "NUMBER"
	FieldDate    FieldType = "DATE"
	FieldBoolean FieldType = "BOOLEAN"
)

// Valid reports whether t is one of the contract's field types.
func (t FieldType) Valid() bool {
	switch t {
	case FieldString, FieldNumber, FieldDate, FieldBoolean:
		return true
	}
	return false
}

// TemplateField is one field of a certificate type's template.
type TemplateField struct {
	Name      string    `json:"name"`
	Label     string    `json:"label"`
	Type      FieldType `json:"type"`
	Required  bool      `json:"required"`
	Sensitive bool      `json:"sensitive"`
}

// CertificateType is a catalogue entry (第六条): name, issuing unit, matter
// category, template and validity. Code is the defining unit's credit code
// followed by three digits.
type CertificateType struct {
	Code           string          `json:"code"`
	Name           string          `json:"name"`
	IssuerCode     string          `json:"issuer"`
	Category       string          `json:"category"`
	Fields         []TemplateField `json:"fields"`
	ValidityMonths *int            `json:"validityMonths"`
	// Version starts at 1 and grows by one on every update.
	Version int `json:"version"`
	Stamp
}

// Field returns the template field called name.
func (t *CertificateType) Field(name string) (TemplateField, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return TemplateField{}, false
}

// Matter is a public-service matter: the certificate types its guide
// requires and the units that handle it.
type Matter struct {
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	RequiredTypes []string `json:"requiredTypes"`
	HandlingUnits []string `json:"handlingUnits"`
	// DisclosedFields are the sensitive template fields the matter needs,
	// as "<type code>.<field>"; staff see no other sensitive field.
	DisclosedFields []string `json:"disclosedFields"`
	Version         int      `json:"version"`
	Stamp
}

// EntityKind names the kind of catalogue entry a Change is about.
type EntityKind string

// Kinds of catalogue entries.
const (
	KindUnit   EntityKind = "unit"
	KindType   EntityKind = "certificate_type"
	KindMatter EntityKind = "matter"
)

// Change is one entry of the catalogue's change history: who did what to
// which entry when, with the entry as it was after the change.
type Change struct {
	Seq      int64
	Kind     EntityKind
	Code     string
	Version  int
	Action   string // "create" or "update"
	By       string
	At       time.Time
	Snapshot []byte // JSON of the entry after the change
}

// Repository stores the catalogue. Creates fail with an apperr CONFLICT
// error when the code exists; updates are conditioned on the version the
// caller read and fail with CONFLICT when another update came first; gets
// fail with NOT_FOUND. The service appends a Change after each create and
// update; AppendChange is idempotent for one (kind, code, version).
type Repository interface {
	CreateUnit(ctx context.Context, u Unit) error
	UpdateUnit(ctx context.Context, u Unit, prevVersion int) error
	GetUnit(ctx context.Context, code string) (Unit, error)
	ListUnits(ctx context.Context) ([]Unit, error)

	CreateType(ctx context.Context, t CertificateType) error
	UpdateType(ctx context.Context, t CertificateType, prevVersion int) error
	GetType(ctx context.Context, code string) (CertificateType, error)
	ListTypes(ctx context.Context) ([]CertificateType, error)

	CreateMatter(ctx context.Context, m Matter) error
	UpdateMatter(ctx context.Context, m Matter, prevVersion int) error
	GetMatter(ctx context.Context, code string) (Matter, error)
	ListMatters(ctx context.Context) ([]Matter, error)

	AppendChange(ctx context.Context, c Change) error
	// Changes lists the history of one entry, oldest first; an empty code
	// lists every entry of that kind.
	Changes(ctx context.Context, kind EntityKind, code string) ([]Change, error)
}
