package server

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"

	"certd/internal/apperr"
)

// writeError answers with a GraphQL-shaped error body carrying a contract
// code, for failures before the GraphQL handler runs.
func writeError(w http.ResponseWriter, status int, code apperr.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": string(code)}}},
	})
}

// writeAuthError answers a request whose token was refused.
func writeAuthError(w http.ResponseWriter, _ *http.Request, err error) {
	_, msg, _ := apperr.CodeOf(err)
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, msg)
}

// limitBody refuses, with INVALID_INPUT and before anything executes,
// what is not one GraphQL request: a media type other than
// application/json (415), a body over max bytes (413), and a body that is
// not one JSON object, such as a batch (400). A JSON object whose fields
// have the wrong types (a query that is not a string, variables that are
// not an object) is refused by gqlgen's own decoding, which presentError
// turns into the same 400 INVALID_INPUT.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, apperr.InvalidInput, "send the request as Content-Type: application/json")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, apperr.InvalidInput, "request body is larger than the limit")
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, apperr.InvalidInput, "request body could not be read")
			return
		}
		if msg := checkRequestShape(body); msg != "" {
			writeError(w, http.StatusBadRequest, apperr.InvalidInput, msg)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// checkRequestShape says what is wrong with a request body, or "".
func checkRequestShape(body []byte) string {
	if !json.Valid(body) {
		return "request body is not valid JSON"
	}
	switch bytes.TrimLeft(body, " \t\r\n")[0] {
	case '{':
		return ""
	case '[':
		return "request body must be one JSON object {query, operationName, variables}; batches are not accepted"
	}
	return "request body must be one JSON object {query, operationName, variables}"
}

// securityHeaders sets headers every response should carry.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// requestID makes a random request id, returned in X-Request-Id and kept
// in the audit records of the request.
func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ClientAddress is the request's peer address without the port.
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
