package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
)

// JWK is one trusted key of a JSON Web Key Set.
type JWK struct {
	// KeyID is the key's "kid". Tokens name it in their header; when it is
	// empty the key is only tried for tokens without a kid.
	KeyID string
	// Algorithm is the key's "alg"; when set, it is the only algorithm
	// accepted for the key.
	Algorithm string
	// Key is an ed25519.PublicKey, *rsa.PublicKey or *ecdsa.PublicKey.
	Key crypto.PublicKey
}

// JWKS is a parsed JSON Web Key Set (RFC 7517) of trusted signing keys.
type JWKS struct {
	Keys []JWK
}

// rawJWK is the JSON form of a key; only the members certd uses.
type rawJWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
}

// LoadJWKSFile reads and parses a JWKS JSON file (see ParseJWKS).
func LoadJWKSFile(path string) (*JWKS, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: read JWKS: %w", err)
	}
	set, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return set, nil
}

// ParseJWKS parses a JWKS document. It supports kty OKP (crv Ed25519),
// RSA and EC (crv P-256, P-384). Keys whose "use" is not "sig" are
// skipped; unsupported or malformed signing keys, and keys that carry
// private material, are errors, as is a set without usable keys.
func ParseJWKS(data []byte) (*JWKS, error) {
	var doc struct {
		Keys []rawJWK `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("identity: parse JWKS: %w", err)
	}
	set := &JWKS{}
	for i, raw := range doc.Keys {
		if raw.Use != "" && raw.Use != "sig" {
			continue
		}
		key, err := raw.publicKey()
		if err != nil {
			return nil, fmt.Errorf("identity: JWKS key %d (kid %q): %w", i, raw.Kid, err)
		}
		if raw.Alg != "" {
			methods, err := keyMethods(key)
			if err != nil {
				return nil, fmt.Errorf("identity: JWKS key %d (kid %q): %w", i, raw.Kid, err)
			}
			if !slices.Contains(methods, raw.Alg) {
				return nil, fmt.Errorf("identity: JWKS key %d (kid %q): alg %q does not fit kty %q", i, raw.Kid, raw.Alg, raw.Kty)
			}
		}
		set.Keys = append(set.Keys, JWK{KeyID: raw.Kid, Algorithm: raw.Alg, Key: key})
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("identity: JWKS holds no signing keys")
	}
	return set, nil
}

func (r rawJWK) publicKey() (crypto.PublicKey, error) {
	if r.D != "" {
		return nil, errors.New("holds private key material; publish public keys only")
	}
	switch r.Kty {
	case "OKP":
		if r.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q", r.Crv)
		}
		x, err := b64(r.X, "x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	case "RSA":
		n, err := b64(r.N, "n")
		if err != nil {
			return nil, err
		}
		e, err := b64(r.E, "e")
		if err != nil {
			return nil, err
		}
		exp := new(big.Int).SetBytes(e)
		if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
			return nil, errors.New("unsupported RSA public exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch r.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("unsupported EC curve %q", r.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err := b64(r.X, "x")
		if err != nil {
			return nil, err
		}
		y, err := b64(r.Y, "y")
		if err != nil {
			return nil, err
		}
		if len(x) != size || len(y) != size {
			return nil, errors.New("malformed EC coordinates")
		}
		point := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(curve, point)
	}
	return nil, fmt.Errorf("unsupported kty %q", r.Kty)
}

// b64 decodes a base64url member, tolerating trailing padding.
func b64(s, member string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("missing %q", member)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("malformed %q: %w", member, err)
	}
	return b, nil
}
