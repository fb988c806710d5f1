package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/apperr"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	key := edKey()
	v := newVerifier(t, nil, key.Public())
	req := TokenRequest{
		Subject: "user-7", Name: "Wang Fang", Org: "91310000MA1FL0000X",
		Roles:  []string{RoleHolder, RoleAnalyst},
		Holder: "310101199001011234", AMR: []string{"pwd", "bio"},
		TTL: 2 * time.Hour,
	}
	before := time.Now().Truncate(time.Second)
	tok, err := Issue(key, req)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != req.Subject || p.Name != req.Name || p.Org != req.Org || p.Holder != req.Holder ||
		!slices.Equal(p.Roles, req.Roles) || !slices.Equal(p.AMR, req.AMR) {
		t.Errorf("principal = %+v, want claims of %+v", p, req)
	}
	if len(p.TokenID) != 32 {
		t.Errorf("TokenID = %q, want 32 hex characters", p.TokenID)
	}
	if exp := p.ExpiresAt.Sub(before); exp < req.TTL || exp > req.TTL+2*time.Second {
		t.Errorf("ExpiresAt - now = %s, want about %s", exp, req.TTL)
	}
	if !p.HasRole(RoleHolder) || p.HasRole(RoleIssuer) {
		t.Errorf("HasRole wrong for roles %v", p.Roles)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != mustKID(t, key.Public()) || parsed.Header["alg"] != "EdDSA" {
		t.Errorf("header = %v", parsed.Header)
	}
	iss, _ := parsed.Claims.GetIssuer()
	aud, _ := parsed.Claims.GetAudience()
	if iss != EmbeddedIssuer || !slices.Equal(aud, []string{EmbeddedAudience}) {
		t.Errorf("iss %q aud %v", iss, aud)
	}
}

func TestIssueRejects(t *testing.T) {
	ok := TokenRequest{Subject: "u", Roles: []string{RoleStaff}, TTL: time.Hour}
	tests := []struct {
		name string
		edit func(*TokenRequest)
		msg  string
	}{
		{"unknown role", func(r *TokenRequest) { r.Roles = []string{RoleStaff, "root"} }, `unknown role "root"`},
		{"no roles", func(r *TokenRequest) { r.Roles = nil }, "token has no roles"},
		{"no subject", func(r *TokenRequest) { r.Subject = "" }, "token has no subject"},
		{"holder without holder", func(r *TokenRequest) { r.Roles = []string{RoleHolder} }, "holder role requires a holder claim"},
		{"zero ttl", func(r *TokenRequest) { r.TTL = 0 }, "token lifetime must be positive and at most 30 days, got 0s"},
		{"ttl too long", func(r *TokenRequest) { r.TTL = MaxTokenTTL + time.Second }, "token lifetime must be positive and at most 30 days, got 720h0m1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			tt.edit(&req)
			_, err := Issue(edKey(), req)
			wantErr(t, err, apperr.InvalidInput, tt.msg)
		})
	}
	if _, err := Issue(p256Key(), ok); err == nil {
		t.Error("Issue with an ECDSA key succeeded, want error")
	}
}

func TestVerifyRejects(t *testing.T) {
	key := edKey()
	kid := mustKID(t, key.Public())
	now := time.Now()
	v := newVerifier(t, nil, key.Public())

	// edit returns a valid claim set modified by f.
	edit := func(f func(jwt.MapClaims)) jwt.MapClaims {
		c := claimsAt(now)
		f(c)
		return c
	}
	good := sign(t, jwt.SigningMethodEdDSA, key, kid, claimsAt(now))
	pubPEM := pem.EncodeToMemory(pubBlock(t, key.Public()))
	tests := []struct {
		name  string
		token string
		msg   string // "" means accepted
	}{
		{"valid", good, ""},
		{"valid without kid", sign(t, jwt.SigningMethodEdDSA, key, "", claimsAt(now)), ""},
		{"expired within leeway", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() })), ""},
		{"expired", sign(t, jwt.SigningMethodEdDSA, key, kid, claimsAt(now.Add(-2*time.Hour))), "token expired"},
		{"not yet valid", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })), "token not valid yet"},
		{"issued in the future", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })), "token issued in the future"},
		{"wrong issuer", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { c["iss"] = "evil" })), "token issuer not accepted"},
		{"wrong audience", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { c["aud"] = []string{"other"} })), "token audience not accepted"},
		{"missing exp", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { delete(c, "exp") })), "token lacks a required claim (exp, iss or aud)"},
		{"unknown role", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { c["roles"] = []string{RoleStaff, "root"} })), `unknown role "root"`},
		{"no roles", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { delete(c, "roles") })), "token has no roles"},
		{"no subject", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { delete(c, "sub") })), "token has no subject"},
		{"holder without holder claim", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { c["roles"] = []string{RoleHolder} })), "holder role requires a holder claim"},
		{"roles not a list", sign(t, jwt.SigningMethodEdDSA, key, kid, edit(func(c jwt.MapClaims) { c["roles"] = RoleStaff })), "malformed token"},
		{"alg none", noneToken(t, kid, claimsAt(now)), "token signing algorithm not accepted"},
		{"alg none without kid", noneToken(t, "", claimsAt(now)), "token signing algorithm not accepted"},
		{"HS256 keyed with public key bytes", sign(t, jwt.SigningMethodHS256, []byte(key.Public().(ed25519.PublicKey)), kid, claimsAt(now)), "token signing algorithm not accepted"},
		{"HS256 keyed with public key PEM", sign(t, jwt.SigningMethodHS256, pubPEM, "", claimsAt(now)), "token signing algorithm not accepted"},
		{"RS256 against Ed25519 kid", sign(t, jwt.SigningMethodRS256, otherRSA(), kid, claimsAt(now)), "token signing algorithm not accepted"},
		{"RS256 without kid", sign(t, jwt.SigningMethodRS256, otherRSA(), "", claimsAt(now)), "token signing algorithm not accepted"},
		{"unknown key", mustIssue(t, otherEd()), "token signed by an unknown key"},
		{"unknown key without kid", sign(t, jwt.SigningMethodEdDSA, otherEd(), "", claimsAt(now)), "token signed by an unknown key"},
		{"unknown kid", sign(t, jwt.SigningMethodEdDSA, key, "deadbeefdeadbeef", claimsAt(now)), "token signed by an unknown key"},
		{"tampered payload", tamperPayload(t, good), "invalid token signature"},
		{"tampered signature", good[:len(good)-2] + flipB64(good[len(good)-2]) + good[len(good)-1:], "invalid token signature"},
		{"crit header", critToken(t, key, claimsAt(now)), "malformed token"},
		{"garbage", "not a token", "malformed token"},
		{"empty", "", "malformed token"},
		{"two segments", "eyJhbGciOiJFZERTQSJ9.e30", "malformed token"},
		{"oversized", strings.Repeat("a", maxTokenLen+1), "malformed token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Subject != "user-1" || !p.HasRole(RoleStaff) {
					t.Fatalf("principal = %+v", p)
				}
				return
			}
			if p != nil {
				t.Fatalf("Verify returned principal %+v with error", p)
			}
			wantErr(t, err, apperr.Unauthenticated, tt.msg)
		})
	}
}

func mustIssue(t testing.TB, key ed25519.PrivateKey) string {
	t.Helper()
	tok, err := Issue(key, TokenRequest{Subject: "user-1", Roles: []string{RoleStaff}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func noneToken(t *testing.T, kid string, c jwt.MapClaims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, c)
}

// critToken signs a token whose header carries a "crit" member.
func critToken(t *testing.T, key ed25519.PrivateKey, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["crit"] = []string{"exp-ext"}
	tok.Header["exp-ext"] = true
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tamperPayload flips one byte of the decoded payload ("user-1" becomes
// "user-3") and re-encodes it, keeping the original signature.
func tamperPayload(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(payload, []byte("user-1"))
	if i < 0 {
		t.Fatalf("payload %s has no user-1", payload)
	}
	payload[i+5] ^= 0x02
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// flipB64 returns another base64url character than c.
func flipB64(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
