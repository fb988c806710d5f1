// Package testkit runs a real certd for tests from the outside: a wired
// application on a temporary data directory (or a MongoDB URI), served over
// HTTP on loopback, with tokens signed by that directory's key and a small
// GraphQL client that keeps the contract's error codes.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/identity"
)

// Server is a running certd.
type Server struct {
	URL     string
	DataDir string
	App     *app.App
	t       testing.TB
}

// Option adjusts the configuration before the app is built.
type Option func(*app.Config)

// WithMongo runs against MongoDB (or FerretDB) at uri instead of SQLite.
func WithMongo(uri string) Option { return func(c *app.Config) { c.MongoURI = uri } }

// WithDemo seeds the demo catalogue.
func WithDemo() Option { return func(c *app.Config) { c.Demo = true } }

// Start builds and serves a certd for the test's lifetime.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := app.Config{
		DataDir: t.TempDir(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start certd: %v", err)
	}
	hs := httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() {
		hs.Close()
		a.Close()
	})
	return &Server{URL: hs.URL, DataDir: cfg.DataDir, App: a, t: t}
}

// Token signs a token with the server's key.
func (s *Server) Token(sub, org string, roles ...string) string {
	return s.TokenFor(identity.TokenRequest{Subject: sub, Org: org, Roles: roles, AMR: []string{"pwd"}, TTL: time.Hour})
}

// TokenFor signs a token for any request.
func (s *Server) TokenFor(req identity.TokenRequest) string {
	s.t.Helper()
	key, err := identity.LoadOrCreateSigningKey(s.DataDir)
	if err != nil {
		s.t.Fatal(err)
	}
	tok, err := identity.Issue(key, req)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// Response is a GraphQL response.
type Response struct {
	Status int
	Data   json.RawMessage
	Errors []Error
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e Error) Code() string { c, _ := e.Extensions["code"].(string); return c }

// Code returns the first error's code, or "" when there is none.
func (r *Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	return r.Errors[0].Code()
}

// Decode unmarshals data into v, failing the test on errors in the
// response.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// Do posts a GraphQL query with variables and an optional token.
func (s *Server) Do(token, query string, vars map[string]any) *Response {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return s.Post(token, body)
}

// Post sends a raw body to /graphql.
func (s *Server) Post(token string, body []byte) *Response {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &Response{Status: resp.StatusCode}
	var env struct {
		Data   json.RawMessage `json:"data"`
		Errors []Error         `json:"errors"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		s.t.Fatalf("response is not JSON (%d): %s", resp.StatusCode, raw)
	}
	out.Data, out.Errors = env.Data, env.Errors
	return out
}

// Get fetches a path and returns status and body.
func (s *Server) Get(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		s.t.Fatalf("get %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Metrics is what GET /metrics answers on the metrics address, which
// certd serves apart from the API (--metrics-addr).
func (s *Server) Metrics() string {
	s.t.Helper()
	rec := httptest.NewRecorder()
	s.App.Server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		s.t.Fatalf("metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// WithConfig lets a test change any setting.
func WithConfig(f func(*app.Config)) Option { return Option(f) }

// RunBackground runs the app's background work (expiry sweeps, policy
// polling) for the test's lifetime, as `certd serve` does.
func (s *Server) RunBackground(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.App.RunBackground(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}
