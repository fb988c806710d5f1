// Package server is certd's HTTP face: the GraphQL endpoint with its limits,
// error presenter and metrics, GraphiQL outside production, health and
// readiness probes, Prometheus metrics and graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"

	"certd/internal/graphiql"
)

// Config holds the HTTP server's settings.
type Config struct {
	Addr string
	// Listener, when set, is where Run serves instead of listening on
	// Addr (certd serve listens first, to say where everything is).
	Listener net.Listener
	// MetricsAddr is where Run serves Prometheus's GET /metrics, apart
	// from the API so the public cannot read it; "" serves no metrics.
	// MetricsListener, when set, is used instead of listening on it.
	MetricsAddr     string
	MetricsListener net.Listener
	Production      bool // no GraphiQL, no introspection
	MaxBodyBytes    int64
	MaxDepth        int
	MaxComplexity   int
	Logger          *slog.Logger
	// PerRequest, when set, prepares each GraphQL request (the app gives
	// every request its licence budget and audit trail there); it runs
	// after authentication.
	PerRequest func(r *http.Request, requestID string) *http.Request
	// FieldMiddleware and ResponseMiddleware, when set, wrap every field
	// and every response (the app's field audit and its fail-closed gate).
	FieldMiddleware    graphql.FieldMiddleware
	ResponseMiddleware graphql.ResponseMiddleware
	// Authenticated are further routes (pattern → handler) served with
	// the caller's identity and PerRequest's context, e.g. GET /print/{id}.
	Authenticated map[string]http.Handler
	// Public are further routes served without authentication, e.g.
	// GET /verify.
	Public map[string]http.Handler
	// Collectors are further Prometheus series served at /metrics, e.g.
	// the background jobs' runs and leases.
	Collectors []prometheus.Collector
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (ClientAddress); empty: the peer is the client.
	TrustedProxies []netip.Prefix
}

// Defaults for the request limits.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxDepth      = 12
	DefaultMaxComplexity = 2000
)

// Authenticator wraps a handler so that requests carry the caller's
// identity; onError answers a request whose credentials are bad.
type Authenticator interface {
	Middleware(next http.Handler, onError func(http.ResponseWriter, *http.Request, error)) http.Handler
}

// Pinger reports whether the store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server serves certd over HTTP.
type Server struct {
	cfg     Config
	handler http.Handler
	metrics http.Handler
	log     *slog.Logger
}

// New builds the server around an executable schema.
func New(cfg Config, es graphql.ExecutableSchema, auth Authenticator, store Pinger) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.MaxComplexity <= 0 {
		cfg.MaxComplexity = DefaultMaxComplexity
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cfg.Collectors...)
	m := newMetrics(reg)

	gql := handler.New(es)
	gql.AddTransport(postTransport{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	gql.SetParserTokenLimit(15000)
	gql.SetDisableSuggestion(cfg.Production)
	if cfg.Production {
		gql.Use(noIntrospection{})
	} else {
		gql.Use(extension.Introspection{})
	}
	gql.Use(depthLimit{max: cfg.MaxDepth})
	gql.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	gql.SetErrorPresenter(presentError(cfg.Logger))
	gql.SetRecoverFunc(recoverPanic(cfg.Logger))
	gql.AroundResponses(m.observe)
	if cfg.ResponseMiddleware != nil {
		gql.AroundResponses(cfg.ResponseMiddleware)
	}
	if cfg.FieldMiddleware != nil {
		gql.AroundFields(cfg.FieldMiddleware)
	}

	mux := http.NewServeMux()
	// withRequest gives an authenticated request its id and its context.
	withRequest := func(h http.Handler) http.Handler {
		return auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := requestID()
			w.Header().Set("X-Request-Id", id)
			if cfg.PerRequest != nil {
				r = cfg.PerRequest(r, id)
			}
			h.ServeHTTP(w, r)
		}), writeAuthError)
	}
	mux.Handle("POST /graphql", limitBody(cfg.MaxBodyBytes, withRequest(gql)))
	for pattern, h := range cfg.Authenticated {
		mux.Handle(pattern, withRequest(h))
	}
	for pattern, h := range cfg.Public {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := store.Ping(ctx); err != nil {
			cfg.Logger.Warn("readiness check failed", "err", err)
			http.Error(w, "store unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if !cfg.Production {
		g := graphiql.Handler()
		mux.Handle("GET /{$}", g)
		mux.Handle("GET "+graphiql.Prefix, g)
	}
	metrics := http.NewServeMux()
	metrics.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &Server{cfg: cfg, handler: withClient(cfg.TrustedProxies, securityHeaders(mux)), metrics: securityHeaders(metrics), log: cfg.Logger}
}

// Handler is the server's root handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves GET /metrics, which Run serves on MetricsAddr.
func (s *Server) MetricsHandler() http.Handler { return s.metrics }

// Run listens on cfg.Addr and serves until ctx is cancelled, then shuts
// down gracefully, letting requests in flight finish for up to 20 seconds.
// ready, when not nil, receives the bound address once listening.
func (s *Server) Run(ctx context.Context, ready func(addr net.Addr)) error {
	ln, mln := s.cfg.Listener, s.cfg.MetricsListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
		}
	}
	if mln == nil && s.cfg.MetricsAddr != "" {
		var err error
		if mln, err = net.Listen("tcp", s.cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (--metrics-addr): %w", s.cfg.MetricsAddr, err)
		}
	}
	srv := s.httpServer(s.handler)
	var msrv *http.Server
	attrs := []any{"addr", ln.Addr().String(), "production", s.cfg.Production}
	if mln != nil {
		msrv = s.httpServer(s.metrics)
		attrs = append(attrs, "metrics", mln.Addr().String())
	}
	s.log.Info("certd listening", attrs...)
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if msrv != nil {
		go func() { errc <- msrv.Serve(mln) }()
	}
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", serr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
