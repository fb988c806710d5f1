package identity

import (
	"net/http"
	"strings"

	"certd/internal/apperr"
)

// Middleware authenticates requests that carry "Authorization: Bearer
// <token>" and puts the principal into the request context.
//
// A request without an Authorization header passes through anonymously, so
// public operations keep working; resolvers that need a caller use
// Require. A malformed header (another scheme, no token, several headers)
// or a token that fails verification is answered by onError with an
// UNAUTHENTICATED error, and next is not called. A nil onError answers 401
// with a WWW-Authenticate challenge and the client-safe message.
func (v *Verifier) Middleware(next http.Handler, onError func(w http.ResponseWriter, r *http.Request, err error)) http.Handler {
	if onError == nil {
		onError = defaultOnError
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values("Authorization")
		if len(values) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		token, err := bearerToken(values)
		if err != nil {
			onError(w, r, err)
			return
		}
		p, err := v.Verify(r.Context(), token)
		if err != nil {
			onError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// bearerToken extracts the token of a single "Bearer" Authorization header.
// The scheme is case-insensitive (RFC 9110, section 11.1).
func bearerToken(values []string) (string, error) {
	if len(values) != 1 {
		return "", apperr.New(apperr.Unauthenticated, "several Authorization headers")
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", apperr.New(apperr.Unauthenticated, "Authorization header must use the Bearer scheme")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", apperr.New(apperr.Unauthenticated, "empty bearer token")
	}
	return token, nil
}

func defaultOnError(w http.ResponseWriter, _ *http.Request, err error) {
	_, msg, _ := apperr.CodeOf(err)
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	http.Error(w, msg, http.StatusUnauthorized)
}
