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

// graphQLRequest is the shape of a GraphQL-over-HTTP POST body. Variables
// and extensions stay raw: only that they are objects is checked here.
type graphQLRequest struct {
	Query         string          `json:"query"`
	OperationName *string         `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// limitBody refuses, with INVALID_INPUT and before anything executes,
// what is not one GraphQL request: a media type other than
// application/json (415), a body over max bytes (413), and a body that is
// not a JSON object of the request's shape — a batch (array), a query that
// is not a string, variables that are not an object (400).
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
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] != '{' {
		switch {
		case !json.Valid(trimmed):
			return "request body is not valid JSON"
		case trimmed[0] == '[':
			return "request body must be one JSON object {query, operationName, variables}; batches are not accepted"
		}
		return "request body must be one JSON object {query, operationName, variables}"
	}
	var req graphQLRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || len(trimmed) == 0 {
			return "request body is not valid JSON"
		}
		return "request body does not have the shape {query: string, operationName: string, variables: object}"
	}
	for name, raw := range map[string]json.RawMessage{"variables": req.Variables, "extensions": req.Extensions} {
		v := bytes.TrimLeft(raw, " \t\r\n")
		if len(v) > 0 && v[0] != '{' && !bytes.Equal(v, []byte("null")) {
			return name + " must be a JSON object"
		}
	}
	return ""
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
