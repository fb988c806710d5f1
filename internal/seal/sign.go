package seal

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"certd/internal/apperr"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Seal is an electronic seal over one document. Its fields and JSON names
// match certificate.Seal.
type Seal struct {
	Algorithm string    `json:"algorithm"` // always Algorithm
	Signature string    `json:"signature"` // standard base64 of the DER SM2 signature
	KeyID     string    `json:"keyId"`     // KeyID of the signing key
	SealedAt  time.Time `json:"sealedAt"`
}

// Signer seals documents with one unit's key. It holds the decrypted
// private key in memory and is safe for concurrent use.
type Signer struct {
	unitCode string
	keyID    string
	priv     *sm2.PrivateKey
	now      func() time.Time // the clock of SealedAt
}

// Signer decrypts kp's private key once and returns a Signer for it. The
// decrypted key must match kp.KeyID and kp.PublicKeyPEM, so a record whose
// parts were mixed up cannot produce seals under a wrong key id.
func (m *MasterKey) Signer(kp KeyPair) (*Signer, error) {
	priv, err := m.DecryptPrivateKey(kp.EncryptedPrivateKey, kp.UnitCode)
	if err != nil {
		return nil, fmt.Errorf("seal: key %s of unit %q: %w", kp.KeyID, kp.UnitCode, err)
	}
	der, err := smx509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("seal: encode public key: %w", err)
	}
	id := keyIDOf(der)
	if id != kp.KeyID {
		return nil, fmt.Errorf("seal: key pair of unit %q is inconsistent: private key has key id %s, record says %q", kp.UnitCode, id, kp.KeyID)
	}
	pub, err := ParsePublicKeyPEM(kp.PublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("seal: key pair of unit %q: public key: %w", kp.UnitCode, err)
	}
	if !pub.Equal(&priv.PublicKey) {
		return nil, fmt.Errorf("seal: key pair of unit %q is inconsistent: public key does not match the private key", kp.UnitCode)
	}
	return &Signer{unitCode: kp.UnitCode, keyID: id, priv: priv, now: time.Now}, nil
}

// KeyID returns the key id of the signer's key.
func (s *Signer) KeyID() string { return s.keyID }

// UnitCode returns the unit whose key signs.
func (s *Signer) UnitCode() string { return s.unitCode }

// Sign seals doc: an SM2 signature over SM3(Z || doc), DER encoded and
// base64'd, stamped with the current time in UTC. An empty doc is an
// INVALID_INPUT error: a licence always has a document.
func (s *Signer) Sign(doc []byte) (Seal, error) {
	if len(doc) == 0 {
		return Seal{}, apperr.Invalid("document to seal is empty")
	}
	// DefaultSM2SignerOpts: doc is the message, hashed as SM3(Z || doc)
	// with the default distinguishing ID. (Computing Z once per Signer
	// instead was measured: no gain, Z is one SM3 over 210 bytes.)
	der, err := sm2.SignASN1(rand.Reader, s.priv, doc, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return Seal{}, fmt.Errorf("seal: SM2 sign: %w", err)
	}
	return Seal{
		Algorithm: Algorithm,
		Signature: base64.StdEncoding.EncodeToString(der),
		KeyID:     s.keyID,
		SealedAt:  s.now().UTC(),
	}, nil
}
