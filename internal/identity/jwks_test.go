package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwk returns the JWKS JSON object of a public key.
func jwk(t *testing.T, kid, alg string, pub crypto.PublicKey) map[string]string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	m := map[string]string{"kid": kid, "use": "sig"}
	if alg != "" {
		m["alg"] = alg
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", enc(k)
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(b) - 1) / 2
		m["kty"], m["crv"], m["x"], m["y"] = "EC", k.Params().Name, enc(b[1:1+size]), enc(b[1+size:])
	default:
		rk := rsaKey()
		if !rk.PublicKey.Equal(pub) {
			t.Fatalf("jwk: unexpected key %T", pub)
		}
		m["kty"], m["n"], m["e"] = "RSA", enc(rk.N.Bytes()), enc(big.NewInt(int64(rk.E)).Bytes())
	}
	return m
}

func writeJWKS(t *testing.T, keys ...map[string]string) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestJWKS(t *testing.T) {
	enc := jwk(t, "enc-1", "", otherEd().Public())
	enc["use"] = "enc"
	path := writeJWKS(t,
		jwk(t, "ed-1", "", edKey().Public()),
		jwk(t, "rsa-1", "RS256", rsaKey().Public()),
		jwk(t, "ec-1", "", p256Key().Public()),
		jwk(t, "ec-2", "ES384", p384Key().Public()),
		enc,
	)
	set, err := LoadJWKSFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 4 {
		t.Fatalf("JWKS has %d keys, want 4 (enc key skipped)", len(set.Keys))
	}
	v := newVerifier(t, func(c *VerifierConfig) { c.JWKS = set })
	now := time.Now()
	runVerifyCases(t, v, []verifyCase{
		{"OKP", sign(t, jwt.SigningMethodEdDSA, edKey(), "ed-1", claimsAt(now)), ""},
		{"RSA", sign(t, jwt.SigningMethodRS256, rsaKey(), "rsa-1", claimsAt(now)), ""},
		{"EC P-256", sign(t, jwt.SigningMethodES256, p256Key(), "ec-1", claimsAt(now)), ""},
		{"EC P-384", sign(t, jwt.SigningMethodES384, p384Key(), "ec-2", claimsAt(now)), ""},
		{"RSA alg pinned by JWK", sign(t, jwt.SigningMethodRS384, rsaKey(), "rsa-1", claimsAt(now)), "token signing algorithm not accepted"},
		{"skipped enc key", sign(t, jwt.SigningMethodEdDSA, otherEd(), "enc-1", claimsAt(now)), "token signed by an unknown key"},
		{"PEM kid not used for JWKS keys", sign(t, jwt.SigningMethodEdDSA, edKey(), mustKID(t, edKey().Public()), claimsAt(now)), "token signed by an unknown key"},
	})
}

func TestJWKSErrors(t *testing.T) {
	edit := func(f func(map[string]string)) map[string]string {
		m := jwk(t, "k", "", p256Key().Public())
		f(m)
		return m
	}
	tests := map[string]string{
		"private key":      `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(edKey().Public().(ed25519.PublicKey)) + `","d":"AAAA"}]}`,
		"symmetric key":    `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`,
		"no keys":          `{"keys":[]}`,
		"not json":         `{`,
		"bad curve":        mustJSON(t, edit(func(m map[string]string) { m["crv"] = "P-521" })),
		"point off curve":  mustJSON(t, edit(func(m map[string]string) { m["y"] = m["x"] })),
		"short coordinate": mustJSON(t, edit(func(m map[string]string) { m["x"] = "AAAA" })),
		"alg mismatch":     mustJSON(t, edit(func(m map[string]string) { m["alg"] = "RS256" })),
	}
	for name, doc := range tests {
		if _, err := ParseJWKS([]byte(doc)); err == nil {
			t.Errorf("%s: ParseJWKS succeeded, want error", name)
		}
	}
	small := jwk(t, "r", "", rsaKey().Public())
	small["n"] = base64.RawURLEncoding.EncodeToString(genRSA(1024).N.Bytes())
	set, err := ParseJWKS([]byte(mustJSON(t, small)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(VerifierConfig{JWKS: set, Issuer: "i", Audience: "a"}); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("NewVerifier with a 1024-bit JWKS key: %v, want too small", err)
	}
}

func mustJSON(t *testing.T, key map[string]string) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": []any{key}})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
