package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

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
// not an object) is refused by postTransport's decoding with the same 400
// INVALID_INPUT.
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

type clientKey struct{}

// ClientAddress is the address of the client that sent r: the peer's
// address without the port, or, when the peer is one of the trusted
// proxies (Config.TrustedProxies), the address that proxy reported in
// X-Forwarded-For. The server resolves it once per request.
func ClientAddress(r *http.Request) string {
	if a, ok := r.Context().Value(clientKey{}).(string); ok {
		return a
	}
	return peerAddress(r)
}

func peerAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// resolveClient returns the client address of r. X-Forwarded-For is read
// only when the peer is a trusted proxy, from the right: each trusted
// proxy appends the address it received the request from, so the first
// address from the right that is not a trusted proxy is the client; what
// the client itself wrote further left is ignored. Without a trusted peer
// the headers are ignored, as anyone can write them.
func resolveClient(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddress(r)
	if len(trusted) == 0 || !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, part := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // a malformed hop: trust nothing further left
		}
		client = a.Unmap().String()
		if !isTrusted(client, trusted) {
			break
		}
	}
	return client
}

func isTrusted(addr string, trusted []netip.Prefix) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// withClient resolves each request's client address once, for
// ClientAddress.
func withClient(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), clientKey{}, resolveClient(r, trusted))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ParseTrustedProxies reads addresses and CIDR prefixes ("10.0.0.0/8",
// "192.0.2.10") of trusted reverse proxies.
func ParseTrustedProxies(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, it := range items {
		for _, s := range strings.Split(it, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if p, err := netip.ParsePrefix(s); err == nil {
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix", s)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, nil
}
