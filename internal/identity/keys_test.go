package identity

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/apperr"
)

// selfSigned returns a PEM CERTIFICATE block for key.
func selfSigned(t *testing.T, key crypto.Signer) *pem.Block {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "certd test idp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "CERTIFICATE", Bytes: der}
}

// verifyCase is a token and the message Verify must answer ("" = accept).
type verifyCase struct {
	name  string
	token string
	msg   string
}

func runVerifyCases(t *testing.T, v *Verifier, tests []verifyCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if tt.msg == "" {
				if err != nil || p.Subject != "user-1" {
					t.Fatalf("Verify = %+v, %v", p, err)
				}
				return
			}
			wantErr(t, err, apperr.Unauthenticated, tt.msg)
		})
	}
}

func TestPEMKeys(t *testing.T) {
	dir := t.TempDir()
	rsaPath := writePEM(t, dir, "rsa.pem", pubBlock(t, rsaKey().Public()))
	ecPath := writePEM(t, dir, "ec.pem", selfSigned(t, p256Key()), pubBlock(t, p384Key().Public()))
	keys, err := LoadPublicKeysPEM(rsaPath, ecPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("loaded %d keys, want 3", len(keys))
	}
	v := newVerifier(t, nil, keys...)
	now := time.Now()
	rsaKID, p384KID := mustKID(t, rsaKey().Public()), mustKID(t, p384Key().Public())
	runVerifyCases(t, v, []verifyCase{
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey(), rsaKID, claimsAt(now)), ""},
		{"RS512 without kid", sign(t, jwt.SigningMethodRS512, rsaKey(), "", claimsAt(now)), ""},
		{"PS256", sign(t, jwt.SigningMethodPS256, rsaKey(), rsaKID, claimsAt(now)), ""},
		{"ES256 from certificate", sign(t, jwt.SigningMethodES256, p256Key(), mustKID(t, p256Key().Public()), claimsAt(now)), ""},
		{"ES256 without kid", sign(t, jwt.SigningMethodES256, p256Key(), "", claimsAt(now)), ""},
		{"ES384", sign(t, jwt.SigningMethodES384, p384Key(), p384KID, claimsAt(now)), ""},
		{"ES256 header on P-384 key", sign(t, jwt.SigningMethodES256, p256Key(), p384KID, claimsAt(now)), "token signing algorithm not accepted"},
		{"PS384 not accepted", sign(t, jwt.SigningMethodPS384, rsaKey(), rsaKID, claimsAt(now)), "token signing algorithm not accepted"},
		{"HS256 keyed with RSA PEM", sign(t, jwt.SigningMethodHS256, pem.EncodeToMemory(pubBlock(t, rsaKey().Public())), rsaKID, claimsAt(now)), "token signing algorithm not accepted"},
		{"other RSA key without kid", sign(t, jwt.SigningMethodRS256, otherRSA(), "", claimsAt(now)), "token signed by an unknown key"},
		{"other RSA key with trusted kid", sign(t, jwt.SigningMethodRS256, otherRSA(), rsaKID, claimsAt(now)), "invalid token signature"},
	})
}

func TestPEMAndKeyErrors(t *testing.T) {
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(edKey())
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"private key": writePEM(t, dir, "priv.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"empty file":  writePEM(t, dir, "empty.pem"),
		"missing":     filepath.Join(dir, "nope.pem"),
	} {
		if _, err := LoadPublicKeysPEM(path); err == nil {
			t.Errorf("%s: LoadPublicKeysPEM succeeded, want error", name)
		}
	}
	bad := map[string]VerifierConfig{
		"small RSA key":   {Keys: []crypto.PublicKey{genRSA(1024).Public()}, Issuer: "i", Audience: "a"},
		"P-521 key":       {Keys: []crypto.PublicKey{genEC(elliptic.P521()).Public()}, Issuer: "i", Audience: "a"},
		"no issuer":       {Keys: []crypto.PublicKey{edKey().Public()}, Audience: "a"},
		"no audience":     {Keys: []crypto.PublicKey{edKey().Public()}, Issuer: "i"},
		"no keys":         {Issuer: "i", Audience: "a"},
		"negative leeway": {Keys: []crypto.PublicKey{edKey().Public()}, Issuer: "i", Audience: "a", Leeway: -time.Second},
	}
	for name, cfg := range bad {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: NewVerifier succeeded, want error", name)
		}
	}
}
