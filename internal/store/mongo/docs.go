package mongo

import (
	"time"

	"certd/internal/catalogue"
)

// The BSON documents stored in each collection. They are explicit so that
// the stored shape does not change when a domain type gains a field, and
// so that field names are lowerCamel. Times are BSON dates (UTC,
// millisecond precision); catalogue codes are the _id.

// stampDoc is inlined in every catalogue document. (An embedded field
// would be unexported and ignored by the BSON codec.)
type stampDoc struct {
	CreatedBy string    `bson:"createdBy"`
	CreatedAt time.Time `bson:"createdAt"`
	UpdatedBy string    `bson:"updatedBy"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

func toStamp(s catalogue.Stamp) stampDoc {
	return stampDoc{CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt.UTC(), UpdatedBy: s.UpdatedBy, UpdatedAt: s.UpdatedAt.UTC()}
}

func (d stampDoc) stamp() catalogue.Stamp {
	return catalogue.Stamp{CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC(), UpdatedBy: d.UpdatedBy, UpdatedAt: d.UpdatedAt.UTC()}
}

// unitDoc is a document of the units collection.
type unitDoc struct {
	Code          string   `bson:"_id"`
	Name          string   `bson:"name"`
	Issuing       bool     `bson:"issuing"`
	SealPublicKey string   `bson:"sealPublicKey"`
	Version       int      `bson:"version"`
	Stamp         stampDoc `bson:",inline"`
}

func toUnitDoc(u catalogue.Unit) unitDoc {
	return unitDoc{Code: u.Code, Name: u.Name, Issuing: u.Issuing, SealPublicKey: u.SealPublicKey, Version: u.Version, Stamp: toStamp(u.Stamp)}
}

func (d unitDoc) unit() catalogue.Unit {
	return catalogue.Unit{Code: d.Code, Name: d.Name, Issuing: d.Issuing, SealPublicKey: d.SealPublicKey, Version: d.Version, Stamp: d.Stamp.stamp()}
}

// fieldDoc is one template field inside a typeDoc.
type fieldDoc struct {
	Name      string `bson:"name"`
	Label     string `bson:"label"`
	Type      string `bson:"type"`
	Required  bool   `bson:"required"`
	Sensitive bool   `bson:"sensitive"`
}

// typeDoc is a document of the certificate_types collection.
type typeDoc struct {
	Code       string     `bson:"_id"`
	Name       string     `bson:"name"`
	IssuerCode string     `bson:"issuerCode"`
	Category   string     `bson:"category"`
	Fields     []fieldDoc `bson:"fields"`
	// ValidityMonths is absent when the type has no fixed validity.
	ValidityMonths *int     `bson:"validityMonths,omitempty"`
	Version        int      `bson:"version"`
	Stamp          stampDoc `bson:",inline"`
}

func toTypeDoc(t catalogue.CertificateType) typeDoc {
	fs := make([]fieldDoc, len(t.Fields))
	for i, f := range t.Fields {
		fs[i] = fieldDoc{Name: f.Name, Label: f.Label, Type: string(f.Type), Required: f.Required, Sensitive: f.Sensitive}
	}
	var vm *int
	if t.ValidityMonths != nil {
		m := *t.ValidityMonths
		vm = &m
	}
	return typeDoc{Code: t.Code, Name: t.Name, IssuerCode: t.IssuerCode, Category: t.Category, Fields: fs,
		ValidityMonths: vm, Version: t.Version, Stamp: toStamp(t.Stamp)}
}

func (d typeDoc) certificateType() catalogue.CertificateType {
	var fs []catalogue.TemplateField
	for _, f := range d.Fields {
		fs = append(fs, catalogue.TemplateField{Name: f.Name, Label: f.Label, Type: catalogue.FieldType(f.Type), Required: f.Required, Sensitive: f.Sensitive})
	}
	return catalogue.CertificateType{Code: d.Code, Name: d.Name, IssuerCode: d.IssuerCode, Category: d.Category, Fields: fs,
		ValidityMonths: d.ValidityMonths, Version: d.Version, Stamp: d.Stamp.stamp()}
}

// matterDoc is a document of the matters collection. Code lists are
// stored as arrays, never null.
type matterDoc struct {
	Code          string   `bson:"_id"`
	Name          string   `bson:"name"`
	RequiredTypes []string `bson:"requiredTypes"`
	HandlingUnits []string `bson:"handlingUnits"`
	// DisclosedFields is absent in documents written before it existed.
	DisclosedFields []string `bson:"disclosedFields"`
	Version         int      `bson:"version"`
	Stamp           stampDoc `bson:",inline"`
}

func toMatterDoc(m catalogue.Matter) matterDoc {
	return matterDoc{Code: m.Code, Name: m.Name, RequiredTypes: nonNil(m.RequiredTypes), HandlingUnits: nonNil(m.HandlingUnits),
		DisclosedFields: nonNil(m.DisclosedFields), Version: m.Version, Stamp: toStamp(m.Stamp)}
}

func (d matterDoc) matter() catalogue.Matter {
	return catalogue.Matter{Code: d.Code, Name: d.Name, RequiredTypes: d.RequiredTypes, HandlingUnits: d.HandlingUnits,
		DisclosedFields: nonNil(d.DisclosedFields), Version: d.Version, Stamp: d.Stamp.stamp()}
}

// changeDoc is a document of the catalogue_changes collection. Its _id is
// the change's sequence number, taken from the counters collection.
type changeDoc struct {
	Seq     int64     `bson:"_id"`
	Kind    string    `bson:"kind"`
	Code    string    `bson:"code"`
	Version int       `bson:"version"`
	Action  string    `bson:"action"`
	By      string    `bson:"by"`
	At      time.Time `bson:"at"`
	// Snapshot is BSON binary (subtype 0), so it round-trips byte-exact.
	Snapshot []byte `bson:"snapshot"`
}

func toChangeDoc(c catalogue.Change, seq int64) changeDoc {
	return changeDoc{Seq: seq, Kind: string(c.Kind), Code: c.Code, Version: c.Version, Action: c.Action, By: c.By,
		At: c.At.UTC(), Snapshot: nonNil(c.Snapshot)}
}

func (d changeDoc) change() catalogue.Change {
	return catalogue.Change{Seq: d.Seq, Kind: catalogue.EntityKind(d.Kind), Code: d.Code, Version: d.Version, Action: d.Action,
		By: d.By, At: d.At.UTC(), Snapshot: d.Snapshot}
}

// counterDoc is a document of the counters collection.
type counterDoc struct {
	Name string `bson:"_id"`
	Seq  int64  `bson:"seq"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
