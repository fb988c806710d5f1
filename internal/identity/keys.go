package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// minRSABits is the smallest RSA modulus a trusted key may have.
const minRSABits = 2048

// The JWS algorithms accepted for each key family. A token is only ever
// verified with an algorithm of the family of the key that verifies it, so
// algorithm-confusion attacks (HS256 keyed with a public key, RS256 against
// an Ed25519 key, "none") cannot succeed.
var (
	methodsEd25519 = []string{"EdDSA"}
	methodsRSA     = []string{"RS256", "RS384", "RS512", "PS256"}
	methodsP256    = []string{"ES256"}
	methodsP384    = []string{"ES384"}
)

// KeyID returns the key id certd uses for pub: the first 16 hex characters
// of the SHA-256 of its DER SubjectPublicKeyInfo. Issue puts it in the
// "kid" header and a Verifier uses it to find PEM-configured keys.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("identity: key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])[:16], nil
}

// keyMethods returns the JWS algorithms that key may verify, or an error
// when the key's type, size or curve is not accepted.
func keyMethods(key crypto.PublicKey) ([]string, error) {
	switch k := key.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("identity: malformed Ed25519 public key")
		}
		return methodsEd25519, nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return nil, errors.New("identity: malformed RSA public key")
		}
		if bits := k.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("identity: RSA key of %d bits is too small (minimum %d)", bits, minRSABits)
		}
		return methodsRSA, nil
	case *ecdsa.PublicKey:
		if k == nil {
			return nil, errors.New("identity: malformed ECDSA public key")
		}
		switch k.Curve {
		case elliptic.P256():
			return methodsP256, nil
		case elliptic.P384():
			return methodsP384, nil
		}
		return nil, errors.New("identity: ECDSA key must use curve P-256 or P-384")
	}
	return nil, fmt.Errorf("identity: unsupported public key type %T", key)
}

// LoadPublicKeysPEM reads trusted public keys from PEM files. Each file may
// hold several blocks: "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY" (PKCS #1) or
// "CERTIFICATE" (its subject public key is trusted; the certificate itself
// is not validated). Any other block, or a file without blocks, is an
// error. Key types and sizes are checked by NewVerifier.
func LoadPublicKeysPEM(paths ...string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("identity: read public keys: %w", err)
		}
		n := 0
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			key, err := parsePEMBlock(block)
			if err != nil {
				return nil, fmt.Errorf("identity: %s: block %d: %w", path, n+1, err)
			}
			keys = append(keys, key)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("identity: %s: no PEM public key or certificate found", path)
		}
	}
	return keys, nil
}

func parsePEMBlock(b *pem.Block) (crypto.PublicKey, error) {
	switch b.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(b.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	return nil, fmt.Errorf("unexpected PEM block %q (want PUBLIC KEY or CERTIFICATE)", b.Type)
}
