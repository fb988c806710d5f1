package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Start-up migrations of stored documents. Each is idempotent and safe to
// run on several instances at once (they write the same values); a
// document in schema_migrations, inserted once one has finished, lets
// later starts skip it. Replicas of an older certd still running during a
// rolling upgrade do not write what a migration adds: once the last old
// one stopped, remove the marker (db.schema_migrations.deleteOne({_id:
// "<name>"})) and restart a replica, and the migration runs again
// (docs/deployment.md).

const migrationsColl = "schema_migrations"

type migrationDoc struct {
	ID string    `bson:"_id"`
	At time.Time `bson:"at"`
}

// docMigration is one start-up migration.
type docMigration struct {
	name string
	run  func(ctx context.Context, s *Store) error
}

var docMigrations = []docMigration{
	{"0001_due_on", migrateDueOn},
	{"0002_audit_chains", migrateAuditChains},
}

// obsoleteIndexes are indexes an earlier certd created that no query
// needs any more; EnsureIndexes drops them.
var obsoleteIndexes = map[string][]string{
	certsColl: {"current_validUntil", "holder_type_state"},
	// Replaced by indexes of the same keys and the tie-breakers of the
	// listings' order, under new names.
	paperColl:        {"caseId_at", "unitCode_at"},
	auditRecordsColl: {"certificateId_at", "holderCode_at", "issuerCode_at", "org_at", "at"},
}

// migrateDocs runs the migrations not yet marked done.
func (s *Store) migrateDocs(ctx context.Context) error {
	coll := s.db.Collection(migrationsColl)
	for _, m := range docMigrations {
		err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: m.name}}).Err()
		if err == nil {
			continue
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return wrap("read migrations", err)
		}
		if err := m.run(ctx, s); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		_, err = coll.InsertOne(ctx, migrationDoc{ID: m.name, At: time.Now().UTC()})
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return wrap("record migration", err)
		}
	}
	return nil
}

// migrateDueOn gives dueOn to the licences due to expire stored before it
// existed. The filter leads with current, served by current_typeCode_state.
func migrateDueOn(ctx context.Context, s *Store) error {
	filter := bson.D{
		{Key: "current", Value: true},
		{Key: "state", Value: bson.D{{Key: "$nin", Value: finalStates}}},
		{Key: "validUntil", Value: bson.D{{Key: "$exists", Value: true}}},
		{Key: "dueOn", Value: bson.D{{Key: "$exists", Value: false}}},
	}
	cur, err := s.certs.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "validUntil", Value: 1}}))
	if err != nil {
		return wrap("find licences without dueOn", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			ID         string    `bson:"_id"`
			ValidUntil time.Time `bson:"validUntil"`
		}
		if err := cur.Decode(&d); err != nil {
			return wrap("read licence without dueOn", err)
		}
		// Conditioned as the find was: a licence expired or superseded
		// meanwhile keeps no dueOn (and the sweep clears a straggler).
		_, err := s.certs.UpdateOne(ctx, append(bson.D{{Key: "_id", Value: d.ID}}, filter...),
			bson.D{{Key: "$set", Value: bson.D{{Key: "dueOn", Value: d.ValidUntil.UTC()}}}})
		if err != nil {
			return wrap("set dueOn", err)
		}
	}
	if err := cur.Err(); err != nil {
		return wrap("find licences without dueOn", err)
	}
	return nil
}

// migrateAuditChains registers in audit_chains the chains of a log stored
// before the registry existed (audit.go), once, by grouping the records'
// and checkpoints' chains. Inserting a registered chain again is refused
// as a duplicate, so instances starting together register each once.
func migrateAuditChains(ctx context.Context, s *Store) error {
	chains, err := s.distinctAuditChains(ctx)
	if err != nil || len(chains) == 0 {
		return err
	}
	return s.insertChains(ctx, chains)
}

// indexNotFound is the server's error code for dropping a missing index.
const indexNotFound = 27

// dropObsoleteIndexes drops the indexes of obsoleteIndexes that exist.
func (s *Store) dropObsoleteIndexes(ctx context.Context) error {
	for coll, names := range obsoleteIndexes {
		specs, err := s.db.Collection(coll).Indexes().ListSpecifications(ctx)
		if err != nil {
			return wrap("list indexes of "+coll, err)
		}
		for _, spec := range specs {
			if !slices.Contains(names, spec.Name) {
				continue
			}
			err := s.db.Collection(coll).Indexes().DropOne(ctx, spec.Name)
			var se mongo.ServerError
			if errors.As(err, &se) && se.HasErrorCode(indexNotFound) {
				continue // another instance dropped it first
			}
			if err != nil {
				return wrap(fmt.Sprintf("drop index %s.%s", coll, spec.Name), err)
			}
		}
	}
	return nil
}
