package mongo

import (
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"certd/internal/certificate"
	"certd/internal/keyring"
	"certd/internal/registry"
)

// certDoc is a document of the certificates collection: one licence
// version, with its id as _id. The holder's fields are top-level
// (holderCode first among them) because holder-scoped reads are the
// common case and holderCode is the planned shard key.
type certDoc struct {
	ID          string `bson:"_id"`
	Lineage     string `bson:"lineage"`
	TypeCode    string `bson:"typeCode"`
	IssuerCode  string `bson:"issuerCode"`
	Serial      string `bson:"serial"`
	Version     int    `bson:"version"`
	TypeVersion int    `bson:"typeVersion"`
	HolderCode  string `bson:"holderCode"`
	HolderName  string `bson:"holderName"`
	HolderKind  string `bson:"holderKind"`
	State       string `bson:"state"`
	Current     bool   `bson:"current"`
	Successor   string `bson:"successor"`
	// Data is an embedded document. It is written from the map and read
	// back as bson.D, which plainData turns back into JSON-like values.
	Data      any       `bson:"data"`
	ValidFrom time.Time `bson:"validFrom"`
	// ValidUntil is absent when the licence is valid without limit; an
	// absent field never matches the $lt of DueForExpiry.
	ValidUntil *time.Time `bson:"validUntil,omitempty"`
	// DueOn is ValidUntil while the licence is due to expire one day:
	// current, with an end of validity, and not in a final state. It is
	// absent otherwise, so the index on it (dueOn_id) holds only the
	// licences the expiry sweep still has to look at (DueForExpiry).
	DueOn       *time.Time      `bson:"dueOn,omitempty"`
	IssuedAt    time.Time       `bson:"issuedAt"`
	Seal        sealDoc         `bson:"seal"`
	Document    string          `bson:"document"`
	History     []historyDoc    `bson:"history"`
	Inspections []inspectionDoc `bson:"inspections"`
	Timeliness  timelinessDoc   `bson:"timeliness"`
	// IdempotencyKey is absent when the licence has none. The key's
	// uniqueness per issuer is kept by idempotency_keys (idempotency.go).
	IdempotencyKey string `bson:"idempotencyKey,omitempty"`
	IssuedBy       string `bson:"issuedBy"`
	Rev            int    `bson:"rev"`
}

type sealDoc struct {
	Algorithm string    `bson:"algorithm"`
	Signature string    `bson:"signature"`
	KeyID     string    `bson:"keyId"`
	SealedAt  time.Time `bson:"sealedAt"`
}

type historyDoc struct {
	At     time.Time `bson:"at"`
	Action string    `bson:"action"`
	By     string    `bson:"by"`
	Reason string    `bson:"reason,omitempty"`
}

type inspectionDoc struct {
	At     time.Time `bson:"at"`
	Passed bool      `bson:"passed"`
	Note   string    `bson:"note,omitempty"`
	By     string    `bson:"by"`
}

type timelinessDoc struct {
	Mode        string    `bson:"mode"`
	CompletedAt time.Time `bson:"completedAt"`
	BatchSize   int       `bson:"batchSize"`
	// Deadline is absent for stock licences.
	Deadline *time.Time `bson:"deadline,omitempty"`
	Late     bool       `bson:"late"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func toHistoryDocs(hs []certificate.StateChange) []historyDoc {
	out := make([]historyDoc, len(hs))
	for i, h := range hs {
		out[i] = historyDoc{At: h.At.UTC(), Action: h.Action, By: h.By, Reason: h.Reason}
	}
	return out
}

func toInspectionDocs(is []certificate.Inspection) []inspectionDoc {
	out := make([]inspectionDoc, len(is))
	for i, in := range is {
		out[i] = inspectionDoc{At: in.At.UTC(), Passed: in.Passed, Note: in.Note, By: in.By}
	}
	return out
}

// dueOn is the dueOn field of c: its end of validity while it is due to
// expire, else nil.
func dueOn(c *certificate.Certificate) *time.Time {
	if !c.Current || c.State.Final() {
		return nil
	}
	return utcPtr(c.ValidUntil)
}

func toCertDoc(c *certificate.Certificate) certDoc {
	data := c.Data
	if data == nil {
		data = map[string]any{}
	}
	t := c.Timeliness
	return certDoc{
		ID: c.ID, Lineage: c.Lineage, TypeCode: c.TypeCode, IssuerCode: c.IssuerCode, Serial: c.Serial,
		Version: c.Version, TypeVersion: c.TypeVersion,
		HolderCode: c.Holder.Code, HolderName: c.Holder.Name, HolderKind: string(c.Holder.Kind),
		State: string(c.State), Current: c.Current, Successor: c.Successor, Data: data,
		ValidFrom: c.ValidFrom.UTC(), ValidUntil: utcPtr(c.ValidUntil), DueOn: dueOn(c), IssuedAt: c.IssuedAt.UTC(),
		Seal:     sealDoc{Algorithm: c.Seal.Algorithm, Signature: c.Seal.Signature, KeyID: c.Seal.KeyID, SealedAt: c.Seal.SealedAt.UTC()},
		Document: c.Document, History: toHistoryDocs(c.History), Inspections: toInspectionDocs(c.Inspections),
		Timeliness: timelinessDoc{Mode: string(t.Mode), CompletedAt: t.CompletedAt.UTC(), BatchSize: t.BatchSize,
			Deadline: utcPtr(t.Deadline), Late: t.Late},
		IdempotencyKey: c.IdempotencyKey, IssuedBy: c.IssuedBy, Rev: c.Rev,
	}
}

func (d *certDoc) certificate() certificate.Certificate {
	c := certificate.Certificate{
		ID: d.ID, Lineage: d.Lineage, TypeCode: d.TypeCode, IssuerCode: d.IssuerCode, Serial: d.Serial,
		Version: d.Version, TypeVersion: d.TypeVersion,
		Holder: certificate.Holder{Code: d.HolderCode, Name: d.HolderName, Kind: certificate.HolderKind(d.HolderKind)},
		State:  certificate.State(d.State), Current: d.Current, Successor: d.Successor,
		ValidFrom: d.ValidFrom.UTC(), ValidUntil: utcPtr(d.ValidUntil), IssuedAt: d.IssuedAt.UTC(),
		Seal:     certificate.Seal{Algorithm: d.Seal.Algorithm, Signature: d.Seal.Signature, KeyID: d.Seal.KeyID, SealedAt: d.Seal.SealedAt.UTC()},
		Document: d.Document,
		Timeliness: certificate.Timeliness{Mode: certificate.Mode(d.Timeliness.Mode), CompletedAt: d.Timeliness.CompletedAt.UTC(),
			BatchSize: d.Timeliness.BatchSize, Deadline: utcPtr(d.Timeliness.Deadline), Late: d.Timeliness.Late},
		IdempotencyKey: d.IdempotencyKey, IssuedBy: d.IssuedBy, Rev: d.Rev,
	}
	if m, ok := plainData(d.Data).(map[string]any); ok {
		c.Data = m
	} else {
		c.Data = map[string]any{}
	}
	for _, h := range d.History {
		c.History = append(c.History, certificate.StateChange{At: h.At.UTC(), Action: h.Action, By: h.By, Reason: h.Reason})
	}
	for _, in := range d.Inspections {
		c.Inspections = append(c.Inspections, certificate.Inspection{At: in.At.UTC(), Passed: in.Passed, Note: in.Note, By: in.By})
	}
	return c
}

// plainData turns a decoded BSON value into what encoding/json would have
// produced from the licence's JSON data: objects become map[string]any,
// arrays []any and every number float64, so the data reads back the same
// from every store. Dates (which JSON input cannot produce) become
// time.Time.
func plainData(v any) any {
	switch x := v.(type) {
	case bson.D:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = plainData(e.Value)
		}
		return m
	case bson.M:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plainData(e)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plainData(e)
		}
		return m
	case bson.A:
		return plainSlice(x)
	case []any:
		return plainSlice(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case bson.Decimal128:
		if f, err := strconv.ParseFloat(x.String(), 64); err == nil {
			return f
		}
		return x.String()
	case bson.DateTime:
		return x.Time().UTC()
	}
	return v
}

func plainSlice(x []any) []any {
	out := make([]any, len(x))
	for i, e := range x {
		out[i] = plainData(e)
	}
	return out
}

// idemKeyDoc is a document of the idempotency_keys collection: the
// reservation of one issuer's idempotency key for one licence id.
type idemKeyDoc struct {
	// ID is the issuer code, a NUL byte and the key. Issuer codes have
	// no NUL, so the split is unambiguous.
	ID         string    `bson:"_id"`
	IssuerCode string    `bson:"issuerCode"`
	Key        string    `bson:"key"`
	CertID     string    `bson:"certId"`
	At         time.Time `bson:"at"`
}

func idemKeyID(issuer, key string) string { return issuer + "\x00" + key }

// serialBlockDoc is a document of the serials collection: serials start
// to end (inclusive) of an issuer's year, handed out by one NextSerials.
type serialBlockDoc struct {
	// ID is issuer/year/start (see serialBlockID).
	ID         string    `bson:"_id"`
	IssuerCode string    `bson:"issuerCode"`
	Year       int       `bson:"year"`
	Start      int64     `bson:"start"`
	End        int64     `bson:"end"`
	At         time.Time `bson:"at"`
}

// sealKeyDoc is a document of the seal_keys collection.
type sealKeyDoc struct {
	KeyID        string `bson:"_id"`
	UnitCode     string `bson:"unitCode"`
	PublicKeyPEM string `bson:"publicKeyPem"`
	// EncryptedPrivateKey is BSON binary, so it round-trips byte-exact.
	EncryptedPrivateKey []byte    `bson:"encryptedPrivateKey"`
	CreatedAt           time.Time `bson:"createdAt"`
}

func toSealKeyDoc(k keyring.Key) sealKeyDoc {
	return sealKeyDoc{KeyID: k.KeyID, UnitCode: k.UnitCode, PublicKeyPEM: k.PublicKeyPEM,
		EncryptedPrivateKey: nonNil(k.EncryptedPrivateKey), CreatedAt: k.CreatedAt.UTC()}
}

func (d sealKeyDoc) key() keyring.Key {
	return keyring.Key{KeyID: d.KeyID, UnitCode: d.UnitCode, PublicKeyPEM: d.PublicKeyPEM,
		EncryptedPrivateKey: d.EncryptedPrivateKey, CreatedAt: d.CreatedAt.UTC()}
}

// registryDoc is a document of the base_registry collection.
type registryDoc struct {
	Code      string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	Name      string    `bson:"name"`
	Source    string    `bson:"source"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

func toRegistryDoc(e registry.Entry) registryDoc {
	return registryDoc{Code: e.Code, Kind: e.Kind, Name: e.Name, Source: e.Source, UpdatedAt: e.UpdatedAt.UTC()}
}

func (d registryDoc) entry() registry.Entry {
	return registry.Entry{Code: d.Code, Kind: d.Kind, Name: d.Name, Source: d.Source, UpdatedAt: d.UpdatedAt.UTC()}
}
