package certificate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"certd/internal/seal"
)

// Annotated copies (加注件): a copy of a licence stamped with the case,
// using unit and matter it was used for and an expiry, sealed by the
// platform. It carries only the fields its reader may see, and the SHA-256
// of the licence's sealed document and the issuer's seal, so that anyone
// can check it against the licence; verifyDocument accepts it until it
// expires.

// AnnotatedFormat names the annotated copy's layout.
const AnnotatedFormat = "certd-annotated/1"

// PlatformUnit is the keyring owner of the platform's own seal keys
// (keyring.PlatformUnit).
const PlatformUnit = "certd-platform"

// Annotation is what an annotated copy is stamped with.
type Annotation struct {
	CaseID, CaseNo     string
	Unit, UnitName     string
	Matter, MatterName string
	By                 string
	ExpiresAt          time.Time
}

// PlatformSealer seals documents with the platform's key.
type PlatformSealer interface {
	PlatformSigner(ctx context.Context) (*seal.Signer, error)
}

// AnnotatedCopy makes a sealed annotated copy of v as its reader sees it.
func (s *Service) AnnotatedCopy(ctx context.Context, v *View, a Annotation) (string, error) {
	if s.platform == nil {
		return "", fmt.Errorf("annotated copies need the platform seal")
	}
	c, data := &v.Certificate, v.Data
	if data == nil {
		data = map[string]any{}
	}
	var until any
	if c.ValidUntil != nil {
		until = c.ValidUntil.Format(time.DateOnly)
	}
	sum := sha256.Sum256([]byte(v.document()))
	now := s.stamp()
	doc := map[string]any{
		"format": AnnotatedFormat,
		"licence": map[string]any{
			"id": c.ID, "type": c.TypeCode, "issuer": c.IssuerCode, "version": c.Version,
			"holder":    map[string]any{"code": c.Holder.Code, "name": c.Holder.Name, "kind": string(c.Holder.Kind)},
			"validFrom": c.ValidFrom.Format(time.DateOnly), "validUntil": until, "data": data,
			"documentSHA256": hex.EncodeToString(sum[:]), "seal": c.Seal,
		},
		"annotation": map[string]any{
			"case": a.CaseID, "caseNo": a.CaseNo, "unit": a.Unit, "unitName": a.UnitName,
			"matter": a.Matter, "matterName": a.MatterName, "by": a.By,
			"issuedAt": now.Format(time.RFC3339Nano), "expiresAt": a.ExpiresAt.UTC().Format(time.RFC3339),
		},
	}
	body, err := canonicalJSON(doc)
	if err != nil {
		return "", err
	}
	signer, err := s.platform.PlatformSigner(ctx)
	if err != nil {
		return "", err
	}
	sl, err := signer.Sign(body)
	if err != nil {
		return "", err
	}
	out, err := canonicalJSON(map[string]any{"document": string(body), "seal": Seal{Algorithm: sl.Algorithm,
		Signature: sl.Signature, KeyID: sl.KeyID, SealedAt: sl.SealedAt.UTC().Truncate(time.Millisecond)}})
	return string(out), err
}

// AnnotatedFields are the field paths an annotated copy of v carries,
// for the audit record of the read.
func (v *View) AnnotatedFields() []string {
	out := make([]string, 0, len(v.Data)+12)
	out = append(out, "annotatedCopy", "id", "type", "issuer", "version", "holder.code", "holder.name", "holder.kind", "validFrom", "validUntil", "seal")
	for k := range v.Data {
		out = append(out, "data."+k)
	}
	return out
}

func canonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// annotated is the part of an annotated copy that verification reads.
type annotated struct {
	Format  string `json:"format"`
	Licence struct {
		ID             string `json:"id"`
		DocumentSHA256 string `json:"documentSHA256"`
		Seal           Seal   `json:"seal"`
	} `json:"licence"`
	Annotation struct {
		ExpiresAt time.Time `json:"expiresAt"`
	} `json:"annotation"`
}

// verifyAnnotated checks an annotated copy: the platform's seal over it,
// the licence it names (intact, sealed by its issuer, citable today) and
// its expiry.
func (s *Service) verifyAnnotated(ctx context.Context, doc string, sl Seal) (Verification, error) {
	var a annotated
	if err := json.Unmarshal([]byte(doc), &a); err != nil || a.Format != AnnotatedFormat {
		return Verification{Reasons: []string{"this is not an annotated copy"}}, nil
	}
	// The platform's seal must hold before anything about the licence is
	// shown.
	if unit, pub, err := s.keys.PublicKey(ctx, sl.KeyID); err != nil || unit != PlatformUnit || seal.Verify(pub, []byte(doc), sl.Signature) != nil {
		return notSealed(), nil
	}
	v, err := s.check(ctx, a.Licence.ID)
	if err != nil || !v.Found {
		return v, err
	}
	c, err := s.repo.Get(ctx, a.Licence.ID)
	if err != nil {
		return v, err
	}
	var why []string
	platformOK := true
	sum := sha256.Sum256([]byte(c.Document))
	if a.Licence.DocumentSHA256 != hex.EncodeToString(sum[:]) || a.Licence.Seal != c.Seal {
		platformOK = false
		why = append(why, "the annotated copy does not match the licence it names")
	}
	if !a.Annotation.ExpiresAt.IsZero() && s.now().After(a.Annotation.ExpiresAt) {
		why = append(why, "the annotated copy expired at "+a.Annotation.ExpiresAt.UTC().Format(time.RFC3339))
	}
	v.SealValid = v.SealValid && platformOK
	v.Citable = v.Citable && len(why) == 0
	v.Reasons = append(why, v.Reasons...)
	return v, nil
}
