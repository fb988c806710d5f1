// Package app is the one place where certd's components are built, in
// order, from a Config: store, identity, policy, domain services, GraphQL
// and HTTP.
package app

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"certd/graph"
	"certd/internal/authz"
	"certd/internal/catalogue"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/server"
	"certd/internal/store/mongo"
	"certd/internal/store/sqlite"
)

// Config is everything `certd serve` can be told.
type Config struct {
	Addr       string
	DataDir    string
	MongoURI   string
	Demo       bool
	Production bool

	JWTPublicKeys []string // PEM files of trusted token keys
	JWKSFile      string
	JWTIssuer     string
	JWTAudience   string

	Limits server.Config // body, depth and complexity limits; Addr and Production are taken from above
	Logger *slog.Logger
}

// Store is what the application needs from a store implementation.
type Store interface {
	catalogue.Repository
	Ping(ctx context.Context) error
}

// App is a wired certd.
type App struct {
	Store     Store
	Verifier  *identity.Verifier
	Policy    *authz.Engine
	Catalogue *catalogue.Service
	Server    *server.Server

	closeStore func() error
	log        *slog.Logger
}

// ErrConfig marks a configuration mistake (exit code 2).
var ErrConfig = errors.New("configuration error")

// New builds the application. On error, whatever was opened is closed.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &App{log: cfg.Logger}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	var err error
	if err = a.openStore(ctx, cfg); err != nil {
		return nil, err
	}
	if a.Verifier, err = newVerifier(cfg); err != nil {
		return nil, err
	}
	mods, err := authz.DefaultModules()
	if err != nil {
		return nil, fmt.Errorf("load the embedded policy: %w", err)
	}
	if a.Policy, err = authz.NewEngine(ctx, mods, 1); err != nil {
		return nil, fmt.Errorf("compile the embedded policy: %w", err)
	}
	a.Catalogue = catalogue.NewService(a.Store, a.Policy)

	if cfg.Demo {
		seeded, err := demo.Seed(ctx, a.Catalogue, a.Store)
		if err != nil {
			return nil, fmt.Errorf("demo data: %w", err)
		}
		if seeded {
			a.log.Info("seeded the demo catalogue")
		}
	}

	es := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{Catalogue: a.Catalogue}})
	sc := cfg.Limits
	sc.Addr, sc.Production, sc.Logger = cfg.Addr, cfg.Production, cfg.Logger
	a.Server = server.New(sc, es, a.Verifier, a.Store)
	ok = true
	return a, nil
}

func (a *App) openStore(ctx context.Context, cfg Config) error {
	if cfg.MongoURI != "" {
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := mongo.Open(octx, cfg.MongoURI)
		if err != nil {
			return fmt.Errorf("open MongoDB store: %w", err)
		}
		a.Store = s
		a.closeStore = func() error {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return s.Close(cctx)
		}
		a.log.Info("store: MongoDB", "database", s.Database())
		return nil
	}
	s, err := sqlite.Open(ctx, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("open SQLite store: %w", err)
	}
	a.Store, a.closeStore = s, s.Close
	a.log.Info("store: embedded SQLite", "file", s.Path())
	return nil
}

// newVerifier trusts the external keys when given (required in
// production), else the data directory's own signing key.
func newVerifier(cfg Config) (*identity.Verifier, error) {
	external := len(cfg.JWTPublicKeys) > 0 || cfg.JWKSFile != ""
	if cfg.Production && !external {
		return nil, fmt.Errorf("%w: --production needs --jwt-public-key or --jwks-file", ErrConfig)
	}
	if !external {
		key, err := identity.LoadOrCreateSigningKey(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		return identity.NewVerifier(identity.VerifierConfig{
			Keys:   []crypto.PublicKey{key.Public().(ed25519.PublicKey)},
			Issuer: identity.EmbeddedIssuer, Audience: identity.EmbeddedAudience,
		})
	}
	if cfg.JWTIssuer == "" || cfg.JWTAudience == "" {
		return nil, fmt.Errorf("%w: external token keys need --jwt-issuer and --jwt-audience", ErrConfig)
	}
	vc := identity.VerifierConfig{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience}
	var err error
	if len(cfg.JWTPublicKeys) > 0 {
		if vc.Keys, err = identity.LoadPublicKeysPEM(cfg.JWTPublicKeys...); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if cfg.JWKSFile != "" {
		if vc.JWKS, err = identity.LoadJWKSFile(cfg.JWKSFile); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	return identity.NewVerifier(vc)
}

// Run serves until ctx is cancelled.
func (a *App) Run(ctx context.Context, ready func(net.Addr)) error {
	return a.Server.Run(ctx, ready)
}

// Close releases the store.
func (a *App) Close() {
	if a.closeStore != nil {
		if err := a.closeStore(); err != nil {
			a.log.Warn("closing the store", "err", err)
		}
		a.closeStore = nil
	}
}
