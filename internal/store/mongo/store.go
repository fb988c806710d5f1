// Package mongo is the MongoDB implementation of certd's stores. It uses
// only features that FerretDB v1 also has (no transactions, no change
// streams), so it runs unchanged on MongoDB and on FerretDB.
//
// Catalogue entries live in the units, certificate_types and matters
// collections with the entry's code as _id; the change history lives in
// catalogue_changes. Licence versions live in certificates (see
// certificates.go), with idempotency_keys and serials beside them; seal
// keys live in seal_keys and the base registry in base_registry. Policy
// versions live in policy_versions and the active-version pointer in
// policy_active_revs (see policies.go). Writes use write concern
// majority and reads use read concern majority (serial blocks excepted,
// see serials.go). Filters are only ever built with user
// strings as values (equality values, $in elements, and the listing
// cursor's $lt bound), never as keys or operators, so a string such as
// {"$gt":""} is data.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// DefaultDatabase is the database used when neither the URI path nor
// WithDatabase names one.
const DefaultDatabase = "certd"

// Collection names.
const (
	unitsColl    = "units"
	typesColl    = "certificate_types"
	mattersColl  = "matters"
	changesColl  = "catalogue_changes"
	countersColl = "counters"
	claimsColl   = "update_claims"
	certsColl    = "certificates"
	idemKeysColl = "idempotency_keys"
	lineagesColl = "certificate_lineages"
	serialsColl  = "serials"
	sealKeysColl = "seal_keys"
	registryColl = "base_registry"

	policyVersionsColl = "policy_versions"
	policyRevsColl     = "policy_active_revs"
)

// Store is a MongoDB-backed store. It is safe for concurrent use.
type Store struct {
	client *mongo.Client
	db     *mongo.Database

	units, types, matters, changes, counters, claims *mongo.Collection

	certs, idemKeys, serials, sealKeys, registry *mongo.Collection

	policyVersions, policyRevs *mongo.Collection

	leases, intents *mongo.Collection

	// chainsSeen are the audit chains this store registered (audit.go).
	chainsSeen chainSet
}

// Option configures Open.
type Option func(*config)

type config struct {
	database string
	monitor  *event.CommandMonitor
}

// WithMonitor has the driver report every command the store sends to m
// (the plan check records them with plancheck.Recorder).
func WithMonitor(m *event.CommandMonitor) Option {
	return func(c *config) { c.monitor = m }
}

// WithDatabase selects the database, overriding the URI's path.
func WithDatabase(name string) Option {
	return func(c *config) { c.database = name }
}

// Open connects to the server at uri (a mongodb:// or mongodb+srv://
// connection string), checks that it answers and creates the indexes. The
// database is WithDatabase's, else the URI's path, else DefaultDatabase.
func Open(ctx context.Context, uri string, opts ...Option) (*Store, error) {
	cfg := config{database: databaseFromURI(uri)}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.database == "" {
		cfg.database = DefaultDatabase
	}

	copts := options.Client().ApplyURI(uri)
	if cfg.monitor != nil {
		copts.SetMonitor(cfg.monitor)
	}
	client, err := mongo.Connect(copts)
	if err != nil {
		return nil, fmt.Errorf("mongo store: connect: %w", err)
	}
	// Majority on the database applies to every collection taken from it:
	// an acknowledged write survives a failover, and reads see only such
	// writes.
	db := client.Database(cfg.database, options.Database().
		SetWriteConcern(writeconcern.Majority()).
		SetReadConcern(readconcern.Majority()))
	s := &Store{
		client:   client,
		db:       db,
		units:    db.Collection(unitsColl),
		types:    db.Collection(typesColl),
		matters:  db.Collection(mattersColl),
		changes:  db.Collection(changesColl),
		counters: db.Collection(countersColl),
		claims:   db.Collection(claimsColl),
		certs:    db.Collection(certsColl),
		idemKeys: db.Collection(idemKeysColl),
		// Serial blocks are read with read concern local: a majority read
		// can lag behind the block whose insert just failed as a
		// duplicate, and any block found, even one later rolled back, is
		// a safe place to continue from (see serials.go).
		serials:  db.Collection(serialsColl, options.Collection().SetReadConcern(readconcern.Local())),
		sealKeys: db.Collection(sealKeysColl),
		registry: db.Collection(registryColl),

		policyVersions: db.Collection(policyVersionsColl),
		policyRevs:     db.Collection(policyRevsColl),

		leases:  db.Collection(leasesColl),
		intents: db.Collection(intentsColl),
	}
	if err := s.Ping(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := s.migrateDocs(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// Close disconnects from the server, waiting for in-use connections until
// ctx is done.
func (s *Store) Close(ctx context.Context) error {
	if err := s.client.Disconnect(ctx); err != nil {
		return wrap("close", err)
	}
	return nil
}

// Ping checks that the primary answers; it backs /readyz.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Database returns the name of the store's database.
func (s *Store) Database() string { return s.db.Name() }

// databaseFromURI returns the database named by the path of a MongoDB
// connection string, or "". User info and hosts cannot contain a raw "/"
// (the connection string format requires it percent-encoded), so the
// path starts at the first "/" after the scheme.
func databaseFromURI(uri string) string {
	_, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return ""
	}
	_, path, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	path, _, _ = strings.Cut(path, "?")
	name, err := url.PathUnescape(path)
	if err != nil {
		return ""
	}
	return name
}

// wrap turns a driver error into a plain error (INTERNAL upstream) that
// names the operation and says whether the server was slow or unreachable.
func wrap(op string, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("mongo store: %s: canceled: %w", op, err)
	case mongo.IsTimeout(err):
		return fmt.Errorf("mongo store: %s: timed out: %w", op, err)
	case mongo.IsNetworkError(err), errors.Is(err, mongo.ErrClientDisconnected):
		return fmt.Errorf("mongo store: %s: server unreachable: %w", op, err)
	}
	return fmt.Errorf("mongo store: %s: %w", op, err)
}
