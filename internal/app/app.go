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
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"certd/graph"
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/bulk"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/console"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/keyring"
	"certd/internal/lease"
	"certd/internal/objection"
	"certd/internal/policyadmin"
	"certd/internal/printing"
	"certd/internal/ratelimit"
	"certd/internal/registry"
	"certd/internal/seal"
	"certd/internal/server"
	"certd/internal/store/mongo"
	"certd/internal/store/sqlite"
	"certd/internal/supervision"
	"certd/internal/vcode"
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

	// MasterKey encrypts the units' seal keys at rest (base64 or hex of
	// 32 bytes). Empty: a key file in the data directory, which production
	// refuses.
	MasterKey     string
	TimeZone      string           // the city's time zone; default Asia/Shanghai
	CalendarFile  string           // holidays and make-up working days, JSON
	SweepInterval time.Duration    // expiry sweeps; default 30s, negative disables
	Now           func() time.Time // the clock; nil means time.Now (tests set it)
	PolicyPoll    time.Duration    // how often to look for a newly published policy; default 1s
	// AuditTrustKeys are PEM files of further audit public keys, those of
	// the other instances sharing the store, trusted when auditStatus
	// verifies the log; the instance's own key is always trusted.
	AuditTrustKeys []string
	// ObjectionDueDays is how many working days an issuing unit has to
	// answer an objection; default 5.
	ObjectionDueDays int
	// LeaseTTL is how long a background job's lease lasts unless its
	// holder renews it (lease.DefaultTTL if 0): another instance takes
	// the job over within about that long after the holder stops.
	LeaseTTL time.Duration
	// PublicURL is the address the public reaches certd at; printed
	// licences carry verification links under it. Required in
	// production; default the listen address.
	PublicURL string
	// VerifyRate is how many public verifications one client address may
	// make a minute (default DefaultVerifyRate; negative: unlimited), in
	// bursts of VerifyBurst (default DefaultVerifyBurst).
	VerifyRate, VerifyBurst int
	// TrustedProxies are addresses or CIDR prefixes of reverse proxies
	// whose X-Forwarded-For names the client.
	TrustedProxies []string

	Limits server.Config // body, depth and complexity limits; Addr and Production are taken from above
	Logger *slog.Logger
}

// Defaults of the public verification limit, per client address.
const (
	DefaultVerifyRate  = 30 // a minute
	DefaultVerifyBurst = 10
)

// Store is what the application needs from a store implementation.
type Store interface {
	catalogue.Repository
	certificate.Repository
	cases.Repository
	policyadmin.Repository
	audit.Repository
	bulk.Repository
	objection.Repository
	keyring.Repository
	registry.Repository
	lease.Repository
	Ping(ctx context.Context) error
}

// App is a wired certd.
type App struct {
	Store    Store
	Verifier *identity.Verifier
	Policy   *authz.Engine
	// PolicyAdmin publishes, rolls back and explains policies.
	PolicyAdmin *policyadmin.Service
	// Audit stores every request's audit records before its response
	// leaves, through AuditGate, which counts repeated refusals;
	// AccessLog reads them.
	Audit     *audit.Writer
	AuditGate *audit.Gate
	AccessLog *audit.AccessLog
	// Bulk handles bulk-analysis requests (第十三条).
	Bulk *bulk.Service
	// Objections are filed by holders and staff and resolved by issuers (第十七条).
	Objections *objection.Service
	// Supervision makes supervision reports (第十九条).
	Supervision *supervision.Service
	Catalogue   *catalogue.Service
	Licences    *certificate.Service
	Cases       *cases.Service
	Keyring     *keyring.Keyring
	Server      *server.Server
	// Background runs the jobs that must run once per cluster, each under
	// its lease.
	Background *lease.Runner

	closeStore func() error
	sweepEvery time.Duration
	policyPoll time.Duration
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
	master, err := masterKey(cfg)
	if err != nil {
		return nil, err
	}
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
	if a.Policy, err = authz.NewEngine(ctx, mods, 0); err != nil {
		return nil, fmt.Errorf("compile the embedded policy: %w", err)
	}
	a.PolicyAdmin = policyadmin.NewService(a.Store, a.Policy, a.Policy, a.log)
	if err := a.PolicyAdmin.Bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("load the active policy: %w", err)
	}
	a.policyPoll = cfg.PolicyPoll
	if a.policyPoll == 0 {
		a.policyPoll = time.Second
	}
	a.Keyring = keyring.New(a.Store, master)
	if err := a.Keyring.EnsurePlatformKey(ctx, cfg.DataDir); err != nil {
		return nil, fmt.Errorf("platform seal key: %w", err)
	}
	a.Catalogue = catalogue.NewService(a.Store, a.Policy, a.Keyring)
	cal, err := calendar(cfg)
	if err != nil {
		return nil, err
	}
	publicBase, err := publicURL(cfg, a.log)
	if err != nil {
		return nil, err
	}
	trusted, err := server.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("%w: --trusted-proxies: %v", ErrConfig, err)
	}
	codes, err := verificationCodes(master)
	if err != nil {
		return nil, err
	}
	a.Licences = certificate.NewService(certificate.Deps{
		Repo: a.Store, Catalog: a.Catalogue, Keys: a.Keyring, Holders: registry.NewChecker(a.Store),
		Authz: a.Policy, Policy: a.Policy, Platform: a.Keyring, Calendar: cal, Now: cfg.Now,
		Codes: codes, Throttle: verifyLimiter(cfg),
	})
	a.Cases = cases.NewService(a.Store, a.Catalogue, a.Policy, a.Licences, a.Store, cal, cfg.Now)
	a.sweepEvery = cfg.SweepInterval
	if a.sweepEvery == 0 {
		a.sweepEvery = 30 * time.Second
	}
	a.Background = lease.NewRunner(a.Store, lease.NewOwner(), cfg.LeaseTTL, nil, a.log)

	if cfg.Demo {
		seeded, err := demo.Seed(ctx, demo.Services{Catalogue: a.Catalogue, Licences: a.Licences, Cases: a.Cases, Store: a.Store})
		if err != nil {
			return nil, fmt.Errorf("demo data: %w", err)
		}
		if seeded {
			a.log.Info("seeded the demo catalogue")
		}
	}

	auditKey, err := audit.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if a.Audit, err = audit.NewWriter(a.Store, auditKey, audit.WriterOptions{Logger: a.log}); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	a.AuditGate = audit.NewGate(a.Audit, audit.GateOptions{Logger: a.log})
	a.AccessLog = audit.NewAccessLog(a.Store, a.Policy)
	auditKeys, err := auditTrust(auditKey, cfg.AuditTrustKeys)
	if err != nil {
		return nil, err
	}
	a.AccessLog.EnableStatus(auditKeys, 0, cfg.Now)
	a.AccessLog.PersistStatus(filepath.Join(cfg.DataDir, audit.PositionsFile))
	a.Bulk = bulk.NewService(a.Store, a.Policy, a.Policy)
	a.Objections = objection.NewService(a.Store, a.Licences, a.Cases, a.Policy, cal, cfg.ObjectionDueDays)
	if cfg.Now != nil {
		a.Bulk.Now, a.Objections.Now = cfg.Now, cfg.Now
	}
	a.Supervision = supervision.NewService(supervision.Sources{Units: a.Store, Licences: a.Store, Audit: a.Store,
		Paper: a.Store, Objections: a.Objections, Authz: a.Policy, Loc: cal.Loc, Now: cfg.Now})

	es := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{
		Catalogue: a.Catalogue, Licences: a.Licences, Casework: a.Cases, Registry: a.Store,
		PolicyAdmin: a.PolicyAdmin, Engine: a.Policy, Audit: a.AccessLog, Bulk: a.Bulk, ObjectionSvc: a.Objections, Supervision: a.Supervision,
	}, Complexity: graph.Complexity()})
	sc := cfg.Limits
	sc.Addr, sc.Production, sc.Logger, sc.TrustedProxies = cfg.Addr, cfg.Production, cfg.Logger, trusted
	sc.PerRequest = func(r *http.Request, id string) *http.Request {
		ctx := authz.WithBudget(r.Context(), a.Policy.MaxCertificates())
		ctx = ratelimit.WithClient(ctx, server.ClientAddress(r))
		base := audit.Record{RequestID: id, Client: server.ClientAddress(r), Subject: audit.AnonymousSubject, Roles: []string{}}
		if p, ok := identity.FromContext(ctx); ok {
			base.Subject, base.Org, base.Roles = p.Subject, p.Org, p.Roles
		}
		ctx = audit.WithTrail(ctx, audit.NewTrail(base, a.Policy.Version))
		return r.WithContext(ctx)
	}
	sc.FieldMiddleware = graph.AuditViews
	sc.ResponseMiddleware = graph.AuditGate(a.AuditGate, server.OperationLabel)
	sc.Authenticated = map[string]http.Handler{printing.Pattern: printing.Handler(printing.Deps{
		Licences: a.Licences, Cases: a.Cases, Types: a.Catalogue, Units: a.Catalogue,
		VerifyURL: func(id, code string) string { return verifyLink(publicBase, id, code) },
		Code:      a.Licences.VerificationCode,
		Today:     a.Licences.Today, Loc: cal.Loc, Logger: a.log,
		Commit: func(ctx context.Context) error {
			return a.AuditGate.Commit(ctx, audit.TrailFrom(ctx), "")
		},
	})}
	sc.Public = map[string]http.Handler{
		"GET /verify":   verifyHandler(a.Licences),
		"GET /console":  console.Handler(), // redirects to /console/
		"GET /console/": console.Handler(),
	}
	sc.Collectors = append(sc.Collectors, a.Background.Collectors()...)
	a.Server = server.New(sc, es, a.Verifier, a.Store)
	ok = true
	return a, nil
}

func (a *App) openStore(ctx context.Context, cfg Config) error {
	st, closeFn, err := OpenStore(ctx, cfg.DataDir, cfg.MongoURI, a.log)
	if err != nil {
		return err
	}
	a.Store, a.closeStore = st, closeFn
	return nil
}

// OpenStore opens MongoDB at mongoURI when given, else the embedded SQLite
// store in dataDir, and returns it with the function that closes it.
func OpenStore(ctx context.Context, dataDir, mongoURI string, log *slog.Logger) (Store, func() error, error) {
	if mongoURI != "" {
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := mongo.Open(octx, mongoURI)
		if err != nil {
			return nil, nil, fmt.Errorf("open MongoDB store: %w", err)
		}
		log.Info("store: MongoDB", "database", s.Database())
		return s, func() error {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return s.Close(cctx)
		}, nil
	}
	s, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("open SQLite store: %w", err)
	}
	log.Info("store: embedded SQLite", "file", s.Path())
	return s, s.Close, nil
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

// Run serves, and sweeps expired licences, until ctx is cancelled.
func (a *App) Run(ctx context.Context, ready func(net.Addr)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.RunBackground(ctx)
	}()
	err := a.Server.Run(ctx, ready)
	cancel()
	<-done
	return err
}

// SweepJob names the lease of the licence sweep (repairs and expiry).
const SweepJob = "licence-sweep"

// RunBackground runs the background work until ctx is done: the licence
// sweep once per cluster, under its lease (whichever instance holds it),
// and on every instance the watch for policies published by others.
func (a *App) RunBackground(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if a.sweepEvery > 0 {
			a.Background.Run(ctx, SweepJob, a.sweepEvery, a.Licences.SweepJob(a.log))
		}
	}()
	go func() {
		defer wg.Done()
		a.PolicyAdmin.Watch(ctx, a.policyPoll)
	}()
	wg.Wait()
}

// verificationCodes derives the secret of the licences' verification
// codes from the master key: every instance sharing the master key makes
// the same codes, and the store holds none.
func verificationCodes(master *seal.MasterKey) (*vcode.Codes, error) {
	secret, err := master.DeriveSecret(vcode.SecretInfo, vcode.SecretSize)
	if err != nil {
		return nil, fmt.Errorf("verification code secret: %w", err)
	}
	return vcode.New(secret)
}

// verifyLimiter is the per-address limit of public verifications; nil
// when switched off.
func verifyLimiter(cfg Config) certificate.Throttle {
	rate, burst := cfg.VerifyRate, cfg.VerifyBurst
	if rate < 0 {
		return nil
	}
	if rate == 0 {
		rate = DefaultVerifyRate
	}
	if burst <= 0 {
		burst = DefaultVerifyBurst
	}
	return ratelimit.New(rate, burst, nil)
}

// masterKey is the production key from the configuration, or the data
// directory's key file in embedded mode.
func masterKey(cfg Config) (*seal.MasterKey, error) {
	if cfg.MasterKey != "" {
		m, err := seal.ParseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("%w: --master-key: %v", ErrConfig, err)
		}
		return m, nil
	}
	if cfg.Production {
		return nil, fmt.Errorf("%w: --production needs --master-key (kept outside the store and the data directory)", ErrConfig)
	}
	m, err := seal.LoadOrCreateMasterKey(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("seal master key: %w", err)
	}
	return m, nil
}

func calendar(cfg Config) (*certificate.Calendar, error) {
	tz := cfg.TimeZone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("%w: time zone %q: %v", ErrConfig, tz, err)
	}
	if cfg.CalendarFile == "" {
		return certificate.NewCalendar(loc, nil, nil)
	}
	cal, err := certificate.LoadCalendar(cfg.CalendarFile, loc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return cal, nil
}

// Close flushes the audit log and releases the store.
func (a *App) Close() {
	if a.AccessLog != nil {
		a.AccessLog.CloseStatus()
	}
	if a.AuditGate != nil {
		a.closeWithin("storing the last refusal summaries", a.AuditGate.Close)
		a.AuditGate = nil
	}
	if a.Audit != nil {
		a.closeWithin("closing the audit log", a.Audit.Close)
		a.Audit = nil
	}
	if a.closeStore != nil {
		if err := a.closeStore(); err != nil {
			a.log.Warn("closing the store", "err", err)
		}
		a.closeStore = nil
	}
}

// closeWithin runs a Close with ten seconds to finish, logging a failure.
func (a *App) closeWithin(what string, close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := close(ctx); err != nil {
		a.log.Warn(what, "err", err)
	}
}

// auditTrust returns the keys whose checkpoints auditStatus trusts: the
// instance's own and those in the PEM files named.
func auditTrust(own ed25519.PrivateKey, files []string) ([]ed25519.PublicKey, error) {
	keys := []ed25519.PublicKey{own.Public().(ed25519.PublicKey)}
	for _, path := range files {
		k, err := audit.ReadPublicKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: audit trust key %s: %v", ErrConfig, path, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
