package seal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"certd/internal/apperr"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// blobVersion is the first byte of an encrypted private key blob: SM4-GCM
// under the HKDF-SM3 derived wrapping key, 12-byte nonce, unit code as
// additional data, PKCS #8 DER plaintext.
const blobVersion byte = 1

// nonceSize is the SM4-GCM nonce size of blobVersion.
const nonceSize = 12

// ErrKeyDecrypt is the error (matched with errors.Is) of DecryptPrivateKey
// when a blob does not open: the master key is not the one that encrypted
// it, the blob belongs to another unit, or it was altered or truncated.
var ErrKeyDecrypt = errors.New("seal key cannot be decrypted (wrong master key?)")

// KeyPair is a unit's seal key as it is stored: the public half in the
// clear and the private half encrypted under the master key for that unit.
type KeyPair struct {
	UnitCode            string    `json:"unitCode"`
	KeyID               string    `json:"keyId"`
	PublicKeyPEM        string    `json:"publicKeyPem"`
	EncryptedPrivateKey []byte    `json:"encryptedPrivateKey"`
	CreatedAt           time.Time `json:"createdAt"`
}

// NewKeyPair generates a fresh SM2 seal key for unitCode, created at now,
// with its private key encrypted under m.
func (m *MasterKey) NewKeyPair(unitCode string, now time.Time) (KeyPair, error) {
	if unitCode == "" {
		return KeyPair{}, apperr.Invalid("seal key: unit code is required")
	}
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("seal: generate SM2 key: %w", err)
	}
	der, err := smx509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("seal: encode public key: %w", err)
	}
	blob, err := m.EncryptPrivateKey(priv, unitCode)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{
		UnitCode:            unitCode,
		KeyID:               keyIDOf(der),
		PublicKeyPEM:        encodePublicKeyPEM(der),
		EncryptedPrivateKey: blob,
		CreatedAt:           now,
	}, nil
}

// EncryptPrivateKey encrypts priv for storage, bound to unitCode. The blob
// is
//
//	version (1 byte, 1) || nonce (12 random bytes) || SM4-GCM ciphertext
//
// of the PKCS #8 DER encoding of priv, with unitCode as the additional
// authenticated data, so a blob copied to another unit does not decrypt.
func (m *MasterKey) EncryptPrivateKey(priv *sm2.PrivateKey, unitCode string) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if unitCode == "" {
		return nil, apperr.Invalid("seal key: unit code is required")
	}
	if priv == nil || !sm2.IsSM2PublicKey(&priv.PublicKey) {
		return nil, errors.New("seal: encrypt private key: not an SM2 private key")
	}
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("seal: encode private key: %w", err)
	}
	defer clear(der)
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(der)+m.aead.Overhead())
	out[0] = blobVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return m.aead.Seal(out, out[1:], der, []byte(unitCode)), nil
}

// DecryptPrivateKey opens a blob made by EncryptPrivateKey for the same
// unitCode. Any failure to open it (another master key, another unit, an
// altered, truncated or unknown-version blob) is ErrKeyDecrypt.
func (m *MasterKey) DecryptPrivateKey(blob []byte, unitCode string) (*sm2.PrivateKey, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if len(blob) < 1+nonceSize+m.aead.Overhead() {
		return nil, fmt.Errorf("%w: blob of %d bytes is too short", ErrKeyDecrypt, len(blob))
	}
	if blob[0] != blobVersion {
		return nil, fmt.Errorf("%w: unknown blob version %d", ErrKeyDecrypt, blob[0])
	}
	nonce, ciphertext := blob[1:1+nonceSize], blob[1+nonceSize:]
	der, err := m.aead.Open(nil, nonce, ciphertext, []byte(unitCode))
	if err != nil {
		return nil, ErrKeyDecrypt
	}
	defer clear(der)
	key, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		// Authentic but unparsable: written by a broken encoder, not altered.
		return nil, fmt.Errorf("seal: decrypted private key: %w", err)
	}
	priv, ok := key.(*sm2.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("seal: decrypted private key is %T, want SM2", key)
	}
	return priv, nil
}

// check reports a nil or zero MasterKey, which would otherwise panic.
func (m *MasterKey) check() error {
	if m == nil || m.aead == nil {
		return errors.New("seal: master key not loaded (use ParseMasterKey or LoadOrCreateMasterKey)")
	}
	return nil
}
