package identity

import (
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// maxTokenLen bounds the tokens a Verifier looks at.
const maxTokenLen = 8 << 10

// VerifierConfig configures NewVerifier.
type VerifierConfig struct {
	// Keys are trusted public keys: ed25519.PublicKey, *rsa.PublicKey of
	// at least 2048 bits, or *ecdsa.PublicKey on P-256 or P-384. Their
	// key id is KeyID.
	Keys []crypto.PublicKey
	// JWKS holds further trusted keys, identified by their own kid.
	JWKS *JWKS
	// Issuer and Audience are required; tokens must match them.
	Issuer   string
	Audience string
	// Leeway is the tolerated clock skew; zero means DefaultLeeway.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
	// CacheSize bounds the cache of verified tokens; zero means
	// DefaultCacheSize and a negative value disables the cache.
	CacheSize int
}

// Verifier checks bearer tokens and turns them into principals. It is safe
// for concurrent use.
type Verifier struct {
	byKID  map[string]*trustedKey // keys with a key id
	keys   []*trustedKey          // every key, tried for tokens without kid
	leeway time.Duration
	now    func() time.Time
	cache  *tokenCache
}

// trustedKey is a verification key with the algorithms it accepts and a
// parser restricted to them.
type trustedKey struct {
	kid     string
	key     crypto.PublicKey
	methods []string
	parser  *jwt.Parser
}

// NewVerifier checks cfg and returns a Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("identity: verifier needs an issuer and an audience")
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("identity: negative leeway")
	}
	v := &Verifier{
		byKID:  make(map[string]*trustedKey),
		leeway: cmp.Or(cfg.Leeway, DefaultLeeway),
		now:    cfg.Now,
		cache:  newTokenCache(cmp.Or(cfg.CacheSize, DefaultCacheSize)),
	}
	if v.now == nil {
		v.now = time.Now
	}
	add := func(kid string, key crypto.PublicKey, alg string) error {
		methods, err := keyMethods(key)
		if err != nil {
			return err
		}
		if alg != "" {
			if !slices.Contains(methods, alg) {
				return fmt.Errorf("identity: algorithm %q does not fit key %q", alg, kid)
			}
			methods = []string{alg}
		}
		if old, dup := v.byKID[kid]; dup && kid != "" {
			if sameKey(old.key, key) {
				return nil
			}
			return fmt.Errorf("identity: two different keys share key id %q", kid)
		}
		k := &trustedKey{kid: kid, key: key, methods: methods, parser: jwt.NewParser(
			jwt.WithValidMethods(methods),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithLeeway(v.leeway),
			jwt.WithTimeFunc(v.now),
		)}
		if kid != "" {
			v.byKID[kid] = k
		}
		v.keys = append(v.keys, k)
		return nil
	}
	for _, key := range cfg.Keys {
		kid, err := KeyID(key)
		if err != nil {
			return nil, err
		}
		if err := add(kid, key, ""); err != nil {
			return nil, err
		}
	}
	if cfg.JWKS != nil {
		for _, k := range cfg.JWKS.Keys {
			if err := add(k.KeyID, k.Key, k.Algorithm); err != nil {
				return nil, err
			}
		}
	}
	if len(v.keys) == 0 {
		return nil, errors.New("identity: verifier needs at least one trusted key")
	}
	return v, nil
}

// Verify checks a bearer token and returns its principal. Tokens verified
// before are served from a cache until they expire. Every failure is an
// UNAUTHENTICATED *apperr.Error.
func (v *Verifier) Verify(_ context.Context, token string) (*Principal, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, unauthenticated(nil, "malformed token")
	}
	sum := sha256.Sum256([]byte(token))
	if p, ok := v.cache.get(sum, v.now(), v.leeway); ok {
		return p, nil
	}
	claims, err := v.parse(token)
	if err != nil {
		return nil, err
	}
	if msg := checkPrincipalClaims(claims.Subject, claims.Roles, claims.Holder); msg != "" {
		return nil, unauthenticated(nil, msg)
	}
	p := &Principal{
		Subject:   claims.Subject,
		Name:      claims.Name,
		Org:       claims.Org,
		Roles:     claims.Roles,
		Holder:    claims.Holder,
		AMR:       claims.AMR,
		ExpiresAt: claims.ExpiresAt.Time, // required by the parser
		TokenID:   claims.ID,
	}
	v.cache.put(sum, p, v.now(), v.leeway)
	return p, nil
}

// sameKey reports whether a and b are the same public key.
func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
