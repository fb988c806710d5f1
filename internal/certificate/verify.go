package certificate

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/identity"
	"certd/internal/ratelimit"
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

// Unverified is the reason of the answer every public verification
// without the right code gets, whatever the identifier: whether a licence
// has it, its state and its issuer stay unknown.
const Unverified = "nothing can be shown: the identifier is unknown, or the verification code printed on the licence is missing or wrong"

// Verify answers verifyCertificate and GET /verify. A caller the policy
// lets read the licence (certificate.read: its holder, its issuer)
// verifies it by identifier alone. Anyone else needs the licence's
// verification code, and without the right one gets the same answer for
// every identifier, existing or not, in any state; nothing is read from
// the store for it, so it takes the same time too. These public attempts
// are throttled per client address (RATE_LIMITED), each alias of a
// request on its own.
func (s *Service) Verify(ctx context.Context, id, code string) (Verification, error) {
	// A verification counts against the request's licence budget like a
	// read, so aliases cannot enumerate licences in bulk.
	if err := authz.Spend(ctx, 1); err != nil {
		return Verification{}, err
	}
	if v, ok, err := s.verifyAsReader(ctx, id); ok || err != nil {
		return v, err
	}
	if ok, retry := s.throttle.Allow(ratelimit.Client(ctx)); !ok {
		return Verification{}, apperr.RateLimitedAfter(retry,
			"too many verifications from this address; try again in %d s", int(retry/time.Second)+1)
	}
	if _, err := ParseID(id); err != nil {
		_, msg, _ := apperr.CodeOf(err)
		return Verification{ID: id, Reasons: []string{msg}}, nil
	}
	if code == "" || s.codes == nil || !s.codes.Match(id, code) {
		return Verification{ID: id, Reasons: []string{Unverified}}, nil
	}
	return s.check(ctx, id)
}

// verifyAsReader verifies licence id for an authenticated caller the
// policy lets read it; ok is false for anyone else, who is answered as
// the public is.
func (s *Service) verifyAsReader(ctx context.Context, id string) (v Verification, ok bool, err error) {
	if _, authed := identity.FromContext(ctx); !authed {
		return v, false, nil
	}
	if _, err := ParseID(id); err != nil {
		return v, false, nil
	}
	c, err := s.repo.Get(ctx, id)
	if apperr.CodeIs(err, apperr.NotFound) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	if s.authz.Authorize(ctx, "certificate.read", resource(&c)) != nil {
		return v, false, nil
	}
	return s.judge(ctx, &c, c.Document, c.Seal), true, nil
}

// Judge verifies licence v, which the caller has been allowed to read
// (e.g. through a case that shows it), against its whole sealed document
// even when the caller may not see it.
func (s *Service) Judge(ctx context.Context, v *View) Verification {
	return s.judge(ctx, &v.Certificate, v.document(), v.Seal)
}

// VerificationCode is the code printed on licence version v, which public
// verification needs, for the callers the policy gives it to
// (certificate.verification_code: its holder and its issuer); nil for
// anyone else.
//
// A code withheld is noted on v (View.Shows): the null that reaches the
// reader is not a read of it.
func (s *Service) VerificationCode(ctx context.Context, v *View) *string {
	c := &v.Certificate
	if s.codes == nil || c.ID == "" || s.authz.Authorize(ctx, "certificate.verification_code", resource(c)) != nil {
		atomic.StoreUint32(&v.codeWithheld, 1)
		return nil
	}
	code := s.codes.For(c.ID)
	return &code
}

// check verifies licence id in full: that it exists, that its seal is
// valid for its issuer's key over its stored document, and whether it may
// be cited today. The caller has established that the answer may be shown.
func (s *Service) check(ctx context.Context, id string) (Verification, error) {
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

// NotSealed is the reason of the answer to a document whose seal is not
// valid: it tells nothing about the licence the document names, so that
// made-up documents cannot enumerate licences.
const NotSealed = "this is not a validly sealed document: nothing can be shown about the licence it names"

// VerifyDocument checks a document, for anyone: either a licence's
// sealedDocument, exactly as stored, or an envelope {"document": ...,
// "seal": {...}} carrying its own seal, valid for the issuer's key over
// exactly these bytes, or an annotated copy under the platform's seal.
// Only a document that passes says anything about the licence it names
// (found, state, issuer, citable today); any other gets the same answer.
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

// notSealed is the answer to a document that does not pass.
func notSealed() Verification { return Verification{Reasons: []string{NotSealed}} }

func (s *Service) verifyAgainst(ctx context.Context, doc string, sl *Seal) (Verification, error) {
	id, ok := DocumentID(doc)
	if !ok {
		return Verification{Reasons: []string{"this is not a sealed licence document"}}, nil
	}
	parsed, err := ParseID(id)
	if err != nil {
		return notSealed(), nil
	}
	if sl != nil {
		// The envelope's own seal must hold before the store is asked.
		if ok, _ := s.checkSeal(ctx, parsed.IssuerCode, doc, *sl); !ok {
			return notSealed(), nil
		}
	}
	c, err := s.repo.Get(ctx, id)
	if apperr.CodeIs(err, apperr.NotFound) {
		return notSealed(), nil
	}
	if err != nil {
		return Verification{}, err
	}
	if sl == nil {
		// The stored seal signs exactly the stored document.
		if subtle.ConstantTimeCompare([]byte(doc), []byte(c.Document)) != 1 {
			return notSealed(), nil
		}
		sl = &c.Seal
	}
	return s.judge(ctx, &c, doc, *sl), nil
}
