package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"certd/internal/app"
	"certd/internal/console"
	"certd/internal/server"
)

type serveCmd struct {
	Addr       string `default:"127.0.0.1:8080" env:"CERTD_ADDR" help:"Address to listen on."`
	DataDir    string `default:"./data" env:"CERTD_DATA_DIR" type:"path" help:"Directory for the embedded store and the keys."`
	MongoURI   string `env:"CERTD_MONGO_URI" help:"Use MongoDB at this URI instead of the embedded store (--data-dir still holds keys)."`
	Demo       bool   `env:"CERTD_DEMO" help:"Seed a small realistic data set when the store is empty."`
	Production bool   `env:"CERTD_PRODUCTION" help:"Production mode: no GraphiQL, no introspection, external JWT keys required."`

	JWTPublicKey []string `name:"jwt-public-key" env:"CERTD_JWT_PUBLIC_KEY" type:"existingfile" help:"PEM file of a trusted token key (repeatable)."`
	JWKSFile     string   `name:"jwks-file" env:"CERTD_JWKS_FILE" type:"existingfile" help:"JWKS file of trusted token keys."`
	JWTIssuer    string   `name:"jwt-issuer" env:"CERTD_JWT_ISSUER" help:"Required iss of external tokens."`
	JWTAudience  string   `name:"jwt-audience" env:"CERTD_JWT_AUDIENCE" help:"Required aud of external tokens."`

	AuditTrustKey []string `name:"audit-trust-key" env:"CERTD_AUDIT_TRUST_KEY" type:"existingfile" help:"PEM file of another instance's audit public key (repeatable), trusted when auditStatus verifies the shared log."`

	MasterKey     string        `name:"master-key" env:"CERTD_MASTER_KEY" help:"Master key that encrypts the seal keys (base64 or hex of 32 bytes); required in production. Default: a key file in --data-dir."`
	TimeZone      string        `name:"timezone" default:"Asia/Shanghai" env:"CERTD_TIMEZONE" help:"The city's time zone: licences are valid for whole days there."`
	Calendar      string        `name:"calendar" env:"CERTD_CALENDAR" type:"existingfile" help:"JSON file {\"holidays\": [...], \"workdays\": [...]} of public holidays and make-up working days."`
	ObjectionDays int           `name:"objection-due-days" default:"5" env:"CERTD_OBJECTION_DUE_DAYS" help:"Working days an issuing unit has to answer an objection."`
	PolicyPoll    time.Duration `name:"policy-poll" default:"1s" env:"CERTD_POLICY_POLL" help:"How often to look for a policy published by another instance."`
	SweepInterval time.Duration `name:"sweep-interval" default:"30s" env:"CERTD_SWEEP_INTERVAL" help:"How often licences past their validity are marked EXPIRED."`
	LeaseTTL      time.Duration `name:"lease-ttl" default:"30s" env:"CERTD_LEASE_TTL" help:"How long the lease of a background job (the licence sweep) lasts unless renewed; of the instances sharing a store, the lease holder runs the job, and another takes over within about this long after it stops."`

	PublicURL      string   `name:"public-url" env:"CERTD_PUBLIC_URL" help:"Address the public reaches certd at (https://host[/path]); printed licences carry verification links under it. Required with --production; default the listen address."`
	VerifyRate     int      `name:"verify-rate" default:"30" env:"CERTD_VERIFY_RATE" help:"Public verifications one client address may make a minute (verifyCertificate and GET /verify without read rights); 0: unlimited."`
	VerifyBurst    int      `name:"verify-burst" default:"10" env:"CERTD_VERIFY_BURST" help:"Public verifications one client address may make at once before --verify-rate applies."`
	TrustedProxies []string `name:"trusted-proxies" env:"CERTD_TRUSTED_PROXIES" sep:"," help:"Addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client (comma-separated); default none: the peer is the client."`

	MaxBodyBytes  int64  `default:"1048576" env:"CERTD_MAX_BODY_BYTES" help:"Largest request body accepted."`
	MaxDepth      int    `default:"12" env:"CERTD_MAX_DEPTH" help:"Deepest query nesting accepted."`
	MaxComplexity int    `default:"2000" env:"CERTD_MAX_COMPLEXITY" help:"Highest query complexity accepted."`
	MetricsAddr   string `name:"metrics-addr" default:"127.0.0.1:9464" env:"CERTD_METRICS_ADDR" help:"Serve Prometheus metrics (GET /metrics) on this address, apart from the API; keep it on loopback or a monitoring network; 'off' serves none."`
	DebugAddr     string `name:"debug-addr" env:"CERTD_DEBUG_ADDR" help:"Serve Go profiling endpoints (/debug/pprof/) on this address; off by default, bind to loopback."`
	LogLevel      string `default:"info" enum:"debug,info,warn,error" env:"CERTD_LOG_LEVEL" help:"Log level (debug, info, warn, error)."`
}

func (c *serveCmd) Run(ctx context.Context, env Env) error {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	// Listen first, so that the first line of the log says where
	// everything is, and a port in use stops certd before it opens the
	// store.
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (--addr): %w", c.Addr, err)
	}
	var mln net.Listener
	if c.MetricsAddr != "off" && c.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (--metrics-addr; 'off' serves no metrics): %w", c.MetricsAddr, err)
		}
	}
	msg, where := announce(ln.Addr(), mln, c.Production)
	log.Info(msg, where...)
	limits := server.Config{MaxBodyBytes: c.MaxBodyBytes, MaxDepth: c.MaxDepth, MaxComplexity: c.MaxComplexity,
		Listener: ln, MetricsListener: mln}
	a, err := app.New(ctx, app.Config{
		Addr: c.Addr, DataDir: c.DataDir, MongoURI: c.MongoURI, Demo: c.Demo, Production: c.Production,
		JWTPublicKeys: c.JWTPublicKey, JWKSFile: c.JWKSFile, JWTIssuer: c.JWTIssuer, JWTAudience: c.JWTAudience,
		AuditTrustKeys: c.AuditTrustKey, MasterKey: c.MasterKey, TimeZone: c.TimeZone, CalendarFile: c.Calendar, SweepInterval: c.SweepInterval, LeaseTTL: c.LeaseTTL, PolicyPoll: c.PolicyPoll, ObjectionDueDays: c.ObjectionDays,
		PublicURL: c.PublicURL, VerifyRate: verifyRate(c.VerifyRate), VerifyBurst: c.VerifyBurst, TrustedProxies: c.TrustedProxies,
		Limits: limits,
		Logger: log,
	})
	if err != nil {
		ln.Close()
		if mln != nil {
			mln.Close()
		}
		return err
	}
	defer a.Close()
	if c.DebugAddr != "" {
		go server.RunDebug(ctx, c.DebugAddr, log)
	}
	return a.Run(ctx, nil)
}

// announce says, for a person, where GraphiQL, the console and the
// metrics are: the message of the server's first log line and the same
// addresses as attributes.
func announce(api net.Addr, metrics net.Listener, production bool) (string, []any) {
	base := "http://" + hostPort(api)
	graphiql := base + "/"
	if production {
		graphiql = "off (--production)"
	}
	mURL := "off (--metrics-addr off)"
	if metrics != nil {
		mURL = "http://" + hostPort(metrics.Addr()) + "/metrics"
	}
	consoleURL := base + console.Prefix
	msg := "certd starting: GraphiQL " + graphiql + " · console " + consoleURL + " · API " + base + "/graphql · metrics " + mURL
	return msg, []any{"graphiql", graphiql, "console", consoleURL, "graphql", base + "/graphql", "metrics", mURL}
}

// hostPort is addr as a person would type it in a browser on this
// machine: an unspecified address (0.0.0.0, ::) becomes localhost.
func hostPort(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// verifyRate maps --verify-rate to app.Config.VerifyRate: 0 there means
// the default, here unlimited.
func verifyRate(perMinute int) int {
	if perMinute <= 0 {
		return -1
	}
	return perMinute
}
