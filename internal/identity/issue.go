package identity

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/apperr"
)

// MaxTokenTTL is the longest lifetime Issue grants a token.
const MaxTokenTTL = 30 * 24 * time.Hour

// TokenRequest describes a token for Issue.
type TokenRequest struct {
	Subject string        // sub, required
	Name    string        // name
	Org     string        // org: unified social credit code of the unit
	Roles   []string      // at least one; every entry a known role
	Holder  string        // required with the holder role
	AMR     []string      // authentication methods, e.g. pwd, cert, bio
	TTL     time.Duration // lifetime, > 0 and <= MaxTokenTTL
}

// tokenClaims is the JWT claim set of a certd token.
type tokenClaims struct {
	jwt.RegisteredClaims
	Name   string   `json:"name,omitempty"`
	Org    string   `json:"org,omitempty"`
	Roles  []string `json:"roles,omitempty"`
	Holder string   `json:"holder,omitempty"`
	AMR    []string `json:"amr,omitempty"`
}

// Issue signs an embedded-mode token (EdDSA) for the `certd token` command.
// key must be an Ed25519 signer (an ed25519.PrivateKey, for instance). The
// token carries iss and aud EmbeddedIssuer/EmbeddedAudience, iat and nbf
// now, exp now+TTL, a random jti, and the key's KeyID as "kid" header.
// An invalid request is an INVALID_INPUT error.
func Issue(key crypto.Signer, req TokenRequest) (string, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return "", fmt.Errorf("identity: issue: signing key is %T, want Ed25519", key.Public())
	}
	if req.TTL <= 0 || req.TTL > MaxTokenTTL {
		return "", apperr.Invalid("token lifetime must be positive and at most 30 days, got %s", req.TTL)
	}
	if msg := checkPrincipalClaims(req.Subject, req.Roles, req.Holder); msg != "" {
		return "", apperr.Invalid("%s", msg)
	}
	kid, err := KeyID(pub)
	if err != nil {
		return "", err
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("identity: issue: %w", err)
	}
	now := time.Now().Truncate(time.Second)
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    EmbeddedIssuer,
			Subject:   req.Subject,
			Audience:  jwt.ClaimStrings{EmbeddedAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(req.TTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(jti[:]),
		},
		Name:   req.Name,
		Org:    req.Org,
		Roles:  req.Roles,
		Holder: req.Holder,
		AMR:    req.AMR,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = kid
	signed, err := tok.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("identity: issue: %w", err)
	}
	return signed, nil
}
