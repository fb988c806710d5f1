package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/apperr"
)

// Client-safe messages of signature and key failures.
const (
	msgMalformed    = "malformed token"
	msgUnknownKey   = "token signed by an unknown key"
	msgBadSignature = "invalid token signature"
	msgBadAlgorithm = "token signing algorithm not accepted"
)

// parse selects the trusted key(s) for token, verifies its signature with
// a parser restricted to the algorithms of the key, and validates its
// registered claims.
func (v *Verifier) parse(token string) (*tokenClaims, error) {
	alg, kid, err := peekHeader(token)
	if err != nil {
		return nil, unauthenticated(err, msgMalformed)
	}
	var candidates []*trustedKey
	if kid != "" {
		k, ok := v.byKID[kid]
		if !ok {
			return nil, unauthenticated(errors.New("kid "+quote(kid)), msgUnknownKey)
		}
		candidates = []*trustedKey{k}
	} else {
		candidates = v.keys
	}
	tried := 0
	for _, k := range candidates {
		if !slices.Contains(k.methods, alg) {
			continue
		}
		tried++
		claims := &tokenClaims{}
		_, err := k.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
			return k.key, nil
		})
		switch {
		case err == nil:
			return claims, nil
		case kid == "" && errors.Is(err, jwt.ErrTokenSignatureInvalid):
			continue // another trusted key may have signed it
		default:
			return nil, mapParseError(err)
		}
	}
	switch {
	case tried == 0:
		return nil, unauthenticated(errors.New("alg "+quote(alg)), msgBadAlgorithm)
	case kid != "":
		return nil, unauthenticated(nil, msgBadSignature)
	default:
		return nil, unauthenticated(nil, msgUnknownKey)
	}
}

// peekHeader decodes the JOSE header of a compact JWS to pick the key. It
// reads the header exactly as the jwt parser does (case-sensitive member
// names), and refuses a "crit" header, whose extensions certd does not
// implement (RFC 7515, section 4.1.11).
func peekHeader(token string) (alg, kid string, err error) {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", errors.New("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", "", err
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", "", err
	}
	if _, ok := h["crit"]; ok {
		return "", "", errors.New("unsupported crit header")
	}
	alg, ok = h["alg"].(string)
	if !ok || alg == "" {
		return "", "", errors.New("no alg header")
	}
	if k, present := h["kid"]; present {
		if kid, ok = k.(string); !ok || kid == "" {
			return "", "", errors.New("kid header is not a non-empty string")
		}
	}
	return alg, kid, nil
}

// mapParseError turns an error of the jwt parser into a client-safe
// UNAUTHENTICATED error that wraps it.
func mapParseError(err error) error {
	msg := "invalid token"
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = msgMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg = msgBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		msg = "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "token issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = "token issuer not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = "token audience not accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = "token lacks a required claim (exp, iss or aud)"
	}
	return unauthenticated(err, msg)
}

// unauthenticated returns an UNAUTHENTICATED error with a client-safe
// message that keeps cause for the logs.
func unauthenticated(cause error, msg string) *apperr.Error {
	if cause == nil {
		return apperr.New(apperr.Unauthenticated, "%s", msg)
	}
	return apperr.Wrap(cause, apperr.Unauthenticated, "%s", msg)
}
