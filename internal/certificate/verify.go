package certificate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strings"
	"sync"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/seal"
)

// MaxDocument bounds a document sent for verification.
const MaxDocument = 256 << 10

// Verification is the public answer about a licence or document.
type Verification struct {
	ID         string
	Found      bool
	Citable    bool
	SealValid  bool
	State      State
	IssuerCode string
	Reasons    []string
}

// Verify checks a licence by its identifier, for anyone: that it exists,
// that its seal is valid for its issuer's key over its stored document, and
// whether it may be cited today.
func (s *Service) Verify(ctx context.Context, id string) (Verification, error) {
	// A verification counts against the request's licence budget like a
	// read, so aliases cannot enumerate licences in bulk.
	if err := authz.Spend(ctx, 1); err != nil {
		return Verification{}, err
	}
	v := Verification{ID: id}
	if _, err := ParseID(id); err != nil {
		_, msg, _ := apperr.CodeOf(err)
		v.Reasons = []string{msg}
		return v, nil
	}
	c, err := s.repo.Get(ctx, id)
	if apperr.CodeIs(err, apperr.NotFound) {
		v.Reasons = []string{"no licence has this identifier"}
		return v, nil
	}
	if err != nil {
		return v, err
	}
	return s.judge(ctx, &c, c.Document, c.Seal), nil
}

// judge fills a verification of doc, sealed by sl, about licence c.
func (s *Service) judge(ctx context.Context, c *Certificate, doc string, sl Seal) Verification {
	v := Verification{ID: c.ID, Found: true, State: c.State, IssuerCode: c.IssuerCode}
	v.SealValid, v.Reasons = s.checkSeal(ctx, c.IssuerCode, doc, sl)
	if docID, ok := DocumentID(doc); !ok || docID != c.ID {
		v.SealValid = false
		v.Reasons = append(v.Reasons, "the document does not name this licence")
	}
	var why []string
	v.Citable, why = c.Citability(s.Today())
	v.Citable = v.Citable && v.SealValid
	v.Reasons = append(v.Reasons, why...)
	return v
}

// checkSeal verifies sl over doc with the issuer's key.
func (s *Service) checkSeal(ctx context.Context, issuer, doc string, sl Seal) (bool, []string) {
	if sl.Algorithm != seal.Algorithm {
		return false, []string{"unknown seal algorithm " + sl.Algorithm}
	}
	unit, pub, err := s.keys.PublicKey(ctx, sl.KeyID)
	if err != nil {
		return false, []string{"the seal's key is not a known seal key"}
	}
	if unit != issuer {
		return false, []string{"the seal's key belongs to " + unit + ", not to the issuer " + issuer}
	}
	if !s.verified.check(pub, doc, sl.Signature) {
		return false, []string{"the seal does not match the document: it was altered or not sealed by the issuer"}
	}
	return true, nil
}

// sealCache remembers seals found valid, keyed by a hash of key, document
// and signature: verifying the same licence again costs a hash, not an SM2
// verification, and any change to the three is a different key.
type sealCache struct {
	mu    sync.Mutex
	valid map[[sha256.Size]byte]struct{}
}

const sealCacheSize = 100_000

func (c *sealCache) check(pub, doc, sig string) bool {
	h := sha256.New()
	for _, part := range []string{pub, doc, sig} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	c.mu.Lock()
	_, ok := c.valid[key]
	c.mu.Unlock()
	if ok {
		return true
	}
	if seal.Verify(pub, []byte(doc), sig) != nil {
		return false
	}
	c.mu.Lock()
	if c.valid == nil || len(c.valid) >= sealCacheSize {
		c.valid = make(map[[sha256.Size]byte]struct{}, 1024)
	}
	c.valid[key] = struct{}{}
	c.mu.Unlock()
	return true
}

// envelope is a self-contained sealed document: the document and its seal.
type envelope struct {
	Document *string `json:"document"`
	Seal     *Seal   `json:"seal"`
}

// VerifyDocument checks a document, for anyone: either a licence's
// sealedDocument, checked against the stored seal, or an envelope
// {"document": ..., "seal": {...}} carrying its own seal. Either way the
// seal must be valid over exactly these bytes, and the licence it names
// must be citable today.
func (s *Service) VerifyDocument(ctx context.Context, doc string) (Verification, error) {
	if err := authz.Spend(ctx, 1); err != nil {
		return Verification{}, err
	}
	if len(doc) > MaxDocument {
		return Verification{Reasons: []string{"the document is larger than 256 KiB"}}, nil
	}
	var env envelope
	if strings.HasPrefix(strings.TrimSpace(doc), "{") && json.Unmarshal([]byte(doc), &env) == nil && env.Document != nil && env.Seal != nil {
		if strings.Contains(*env.Document, `"format":"`+AnnotatedFormat+`"`) {
			return s.verifyAnnotated(ctx, *env.Document, *env.Seal)
		}
		return s.verifyAgainst(ctx, *env.Document, env.Seal)
	}
	return s.verifyAgainst(ctx, doc, nil)
}

func (s *Service) verifyAgainst(ctx context.Context, doc string, sl *Seal) (Verification, error) {
	id, ok := DocumentID(doc)
	if !ok {
		return Verification{Reasons: []string{"this is not a sealed licence document"}}, nil
	}
	v, err := s.Verify(ctx, id)
	if err != nil || !v.Found {
		return v, err
	}
	c, err := s.repo.Get(ctx, id)
	if err != nil {
		return v, err
	}
	if sl == nil {
		sl = &c.Seal
	}
	return s.judge(ctx, &c, doc, *sl), nil
}
