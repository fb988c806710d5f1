package seal

import (
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"

	"certd/internal/apperr"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// maxPublicKeyPEM bounds the public key text accepted; an SM2 key's PEM is
// about 180 bytes.
const maxPublicKeyPEM = 4096

// maxCachedKeys bounds the parsed public key cache.
const maxCachedKeys = 256

// publicKey is a parsed, validated SM2 public key. Verification reuses the
// same *ecdsa.PublicKey, which also lets gmsm reuse what it caches per key
// (the internal point form).
type publicKey struct {
	pub *ecdsa.PublicKey // shared: never handed to callers
	der []byte           // the DER SubjectPublicKeyInfo from the PEM
	id  string           // KeyID
}

// keyCache maps PEM text to its parsed key. It holds at most maxCachedKeys
// entries; when full, an arbitrary entry makes room. Verifying many
// licences of one issuer then parses its key once.
var keyCache = struct {
	sync.Mutex
	m map[string]*publicKey
}{m: make(map[string]*publicKey)}

// ParsePublicKeyPEM parses a PEM "PUBLIC KEY" block holding a DER
// SubjectPublicKeyInfo of an SM2 key. Anything else (other block types,
// trailing data, RSA or ECDSA keys, points off the curve) is an
// INVALID_INPUT error. The caller owns the returned key.
func ParsePublicKeyPEM(pubPEM string) (*ecdsa.PublicKey, error) {
	k, err := lookupPublicKey(pubPEM)
	if err != nil {
		return nil, err
	}
	// A fresh copy, so a caller cannot alter the cached key.
	key, err := smx509.ParsePKIXPublicKey(k.der)
	if err != nil {
		return nil, fmt.Errorf("seal: reparse cached public key: %w", err)
	}
	return key.(*ecdsa.PublicKey), nil
}

// KeyID returns the key id of the SM2 public key in pubPEM: the first 16
// lowercase hex characters of the SM3 hash of the DER SubjectPublicKeyInfo
// in the PEM block. The same key in the same encoding always has the same
// id; keys generated here (and by OpenSSL) use the uncompressed point.
func KeyID(pubPEM string) (string, error) {
	k, err := lookupPublicKey(pubPEM)
	if err != nil {
		return "", err
	}
	return k.id, nil
}

// keyIDOf returns the key id of a DER SubjectPublicKeyInfo.
func keyIDOf(spki []byte) string {
	sum := sm3.Sum(spki)
	return hex.EncodeToString(sum[:8])
}

// encodePublicKeyPEM wraps a DER SubjectPublicKeyInfo in a PEM block.
func encodePublicKeyPEM(spki []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
}

// lookupPublicKey returns the parsed key of pubPEM from the cache, parsing
// and caching it on a miss. Failures are not cached.
func lookupPublicKey(pubPEM string) (*publicKey, error) {
	keyCache.Lock()
	k, ok := keyCache.m[pubPEM]
	keyCache.Unlock()
	if ok {
		return k, nil
	}
	k, err := parsePublicKey(pubPEM)
	if err != nil {
		return nil, err
	}
	keyCache.Lock()
	defer keyCache.Unlock()
	if prev, ok := keyCache.m[pubPEM]; ok {
		return prev, nil // parsed concurrently: keep one
	}
	if len(keyCache.m) >= maxCachedKeys {
		for evict := range keyCache.m {
			delete(keyCache.m, evict)
			break
		}
	}
	keyCache.m[pubPEM] = k
	return k, nil
}

// parsePublicKey parses and validates pubPEM.
func parsePublicKey(pubPEM string) (*publicKey, error) {
	if strings.TrimSpace(pubPEM) == "" {
		return nil, apperr.Invalid("seal public key is empty")
	}
	if len(pubPEM) > maxPublicKeyPEM {
		return nil, apperr.Invalid("seal public key is too long (%d bytes, at most %d)", len(pubPEM), maxPublicKeyPEM)
	}
	block, rest := pem.Decode([]byte(pubPEM))
	if block == nil {
		return nil, apperr.Invalid("seal public key is not PEM encoded")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, apperr.Invalid("seal public key is a PEM %q block, want \"PUBLIC KEY\"", block.Type)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, apperr.Invalid("seal public key has data after its PEM block")
	}
	key, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.InvalidInput, "seal public key is not a valid SubjectPublicKeyInfo")
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, apperr.Invalid("seal public key is %s, want SM2", keyKind(key))
	}
	if !sm2.IsSM2PublicKey(pub) {
		return nil, apperr.Invalid("seal public key is %s, want SM2", keyKind(key))
	}
	return &publicKey{pub: pub, der: block.Bytes, id: keyIDOf(block.Bytes)}, nil
}

// keyKind names a parsed public key for error messages.
func keyKind(key any) string {
	if pub, ok := key.(*ecdsa.PublicKey); ok {
		return "an ECDSA key on curve " + pub.Curve.Params().Name
	}
	return fmt.Sprintf("a %T key", key)
}
