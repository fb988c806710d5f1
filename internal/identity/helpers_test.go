package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/apperr"
)

// Test keys are generated once per test binary: RSA generation is slow.
var (
	edKey    = sync.OnceValue(func() ed25519.PrivateKey { return genEd() })
	otherEd  = sync.OnceValue(func() ed25519.PrivateKey { return genEd() })
	rsaKey   = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(2048) })
	otherRSA = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(2048) })
	p256Key  = sync.OnceValue(func() *ecdsa.PrivateKey { return genEC(elliptic.P256()) })
	p384Key  = sync.OnceValue(func() *ecdsa.PrivateKey { return genEC(elliptic.P384()) })
)

func genEd() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func genRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func genEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// clock is a settable time source for the Verifier's Now hook.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// newVerifier returns a verifier for the embedded issuer and audience
// trusting keys; edit may adjust the config.
func newVerifier(t testing.TB, edit func(*VerifierConfig), keys ...crypto.PublicKey) *Verifier {
	t.Helper()
	cfg := VerifierConfig{Keys: keys, Issuer: EmbeddedIssuer, Audience: EmbeddedAudience}
	if edit != nil {
		edit(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// claimsAt returns a valid staff claim set issued at now, valid for an hour.
func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   EmbeddedIssuer,
		"aud":   EmbeddedAudience,
		"sub":   "user-1",
		"name":  "Li Hua",
		"org":   "91310000MA1FL0000X",
		"roles": []string{RoleStaff},
		"amr":   []string{"pwd"},
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"jti":   "jti-1",
	}
}

// sign signs claims with method and key, setting the kid header if given.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func mustKID(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	kid, err := KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

// wantErr checks err is an *apperr.Error with code and exact message.
func wantErr(t *testing.T, err error, code apperr.Code, msg string) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *apperr.Error %s %q", err, err, code, msg)
	}
	if e.Code != code || e.Message != msg {
		t.Fatalf("error = %s %q (%v), want %s %q", e.Code, e.Message, err, code, msg)
	}
}

// writePEM writes blocks to a file in dir and returns its path.
func writePEM(t *testing.T, dir, name string, blocks ...*pem.Block) string {
	t.Helper()
	var data []byte
	for _, b := range blocks {
		data = append(data, pem.EncodeToMemory(b)...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func pubBlock(t *testing.T, pub crypto.PublicKey) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PUBLIC KEY", Bytes: der}
}
