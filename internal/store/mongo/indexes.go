package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Index is one secondary index the store needs. The other collections are
// read by _id only: units, certificate_types and matters (the entry's
// code), counters (the counter's name), update_claims (see claims.go),
// idempotency_keys (issuer and key, see idempotency.go), seal_keys (the
// key id), base_registry (the holder's code), policy_versions (the
// version number) and policy_active_revs (the pointer's revision, see
// policies.go). The audit collections have no TTL index (see audit.go).
//
// No index is partial: FerretDB v1 does not implement
// partialFilterExpression, which is why idempotency keys have a
// collection of their own instead of a partial unique index.
type Index struct {
	Collection string
	Name       string
	Keys       bson.D
	Unique     bool
	// Purpose says which query or guarantee the index serves.
	Purpose string
}

// Indexes lists every index EnsureIndexes creates, in one place so that
// operations documentation can list them.
func Indexes() []Index {
	return []Index{
		{
			Collection: changesColl, Name: "kind_code_version", Unique: true,
			Keys:    bson.D{{Key: "kind", Value: 1}, {Key: "code", Value: 1}, {Key: "version", Value: 1}},
			Purpose: "one change per entry version (AppendChange is idempotent); history of one entry",
		},
		{
			Collection: changesColl, Name: "kind_seq",
			Keys:    bson.D{{Key: "kind", Value: 1}, {Key: "_id", Value: 1}},
			Purpose: "history of every entry of a kind, in sequence (_id) order",
		},
		{
			Collection: certsColl, Name: "lineage_version", Unique: true,
			Keys:    bson.D{{Key: "lineage", Value: 1}, {Key: "version", Value: 1}},
			Purpose: "one document per licence version: of two supersessions of one version only one inserts version n+1; Versions of a licence in order",
		},
		{
			Collection: certsColl, Name: "holder_type_state",
			Keys:    bson.D{{Key: "holderCode", Value: 1}, {Key: "typeCode", Value: 1}, {Key: "state", Value: 1}},
			Purpose: "a holder's licences, by type and state (List and Count by holder, matter checks); led by holderCode, the planned shard key",
		},
		{
			Collection: certsColl, Name: "issuer_issuedAt_id",
			Keys:    bson.D{{Key: "issuerCode", Value: 1}, {Key: "issuedAt", Value: -1}, {Key: "_id", Value: -1}},
			Purpose: "an issuer's licences newest first (List by issuer with keyset pagination, Count by issuer)",
		},
		{
			Collection: certsColl, Name: "issuer_idempotencyKey",
			Keys:    bson.D{{Key: "issuerCode", Value: 1}, {Key: "idempotencyKey", Value: 1}},
			Purpose: "which idempotency keys of a batch name stored licences (StoredKeys); uniqueness is kept by idempotency_keys",
		},
		{
			Collection: casesColl, Name: "unit_caseNo", Unique: true,
			Keys:    bson.D{{Key: "unitCode", Value: 1}, {Key: "caseNo", Value: 1}},
			Purpose: "one case per number in a unit (CreateCase)",
		},
		{
			Collection: paperColl, Name: "caseId_at",
			Keys:    bson.D{{Key: "caseId", Value: 1}, {Key: "at", Value: 1}},
			Purpose: "a case's paper submissions (PaperSubmissions)",
		},
		{
			Collection: paperColl, Name: "unitCode_at",
			Keys:    bson.D{{Key: "unitCode", Value: 1}, {Key: "at", Value: 1}},
			Purpose: "a unit's paper submissions in a period (supervision report)",
		},
		{
			Collection: applicationsColl, Name: "holderCode_submittedAt_id",
			Keys:    bson.D{{Key: "holderCode", Value: 1}, {Key: "submittedAt", Value: -1}, {Key: "_id", Value: -1}},
			Purpose: "a holder's applications newest first (HolderApplications: me.applications)",
		},
		{
			Collection: casesColl, Name: "unit_openedAt_id",
			Keys:    bson.D{{Key: "unitCode", Value: 1}, {Key: "openedAt", Value: -1}, {Key: "_id", Value: -1}},
			Purpose: "a unit's cases newest first (ListCases)",
		},
		{
			Collection: certsColl, Name: "dueOn_id",
			Keys:    bson.D{{Key: "dueOn", Value: 1}, {Key: "_id", Value: 1}},
			Purpose: "licences still due to expire, earliest first (DueForExpiry); only they carry dueOn",
		},
		{
			Collection: serialsColl, Name: "issuer_year_end",
			Keys:    bson.D{{Key: "issuerCode", Value: 1}, {Key: "year", Value: 1}, {Key: "end", Value: -1}},
			Purpose: "the last serial block of an issuer's year, for NextSerials when its hint is missing or far behind (blocks are otherwise read by _id)",
		},
		// Bulk analyses (bulk.go).
		{
			Collection: bulkColl, Name: "state_createdAt_id",
			Keys:    bson.D{{Key: "state", Value: 1}, {Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}},
			Purpose: "bulk analysis requests in a state, newest first (ListBulkRequests)",
		},
		{
			Collection: certsColl, Name: "current_typeCode_state",
			Keys:    bson.D{{Key: "current", Value: 1}, {Key: "typeCode", Value: 1}, {Key: "state", Value: 1}},
			Purpose: "current versions, by type and state, for bulk analysis counts (Aggregate)",
		},
		// Objections to licence data (objections.go).
		{
			Collection: objectionsColl, Name: "issuerCode_state_filedAt_id",
			Keys:    bson.D{{Key: "issuerCode", Value: 1}, {Key: "state", Value: 1}, {Key: "filedAt", Value: -1}, {Key: "_id", Value: -1}},
			Purpose: "an issuing unit's objections, by state, newest first (ListObjections by issuer: List, Overdue, Stats)",
		},
		{
			Collection: objectionsColl, Name: "holderCode_filedAt_id",
			Keys:    bson.D{{Key: "holderCode", Value: 1}, {Key: "filedAt", Value: -1}, {Key: "_id", Value: -1}},
			Purpose: "a holder's objections, newest first (ListObjections by holder: Mine)",
		},
		// The audit log (audit.go). No TTL index: see audit.go.
		{
			Collection: auditRecordsColl, Name: "chain_seq", Unique: true,
			Keys:    bson.D{{Key: "chain", Value: 1}, {Key: "seq", Value: 1}},
			Purpose: "one record per chain and seq (besides _id, which encodes both); a chain in order for Verify and exports (AuditChain), its chains (AuditChains)",
		},
		{
			Collection: auditRecordsColl, Name: "certificateId_at",
			Keys:    bson.D{{Key: "certificateId", Value: 1}, {Key: "at", Value: -1}},
			Purpose: "who read or changed a licence, newest first (QueryAudit by certificate)",
		},
		{
			Collection: auditRecordsColl, Name: "holderCode_at",
			Keys:    bson.D{{Key: "holderCode", Value: 1}, {Key: "at", Value: -1}},
			Purpose: "access to a holder's licences, newest first (QueryAudit by holder and a holder's own scope)",
		},
		{
			Collection: auditRecordsColl, Name: "issuerCode_at",
			Keys:    bson.D{{Key: "issuerCode", Value: 1}, {Key: "at", Value: -1}},
			Purpose: "access to an issuer's licences, newest first (QueryAudit in an issuer's scope)",
		},
		{
			Collection: auditRecordsColl, Name: "org_at",
			Keys:    bson.D{{Key: "org", Value: 1}, {Key: "at", Value: -1}},
			Purpose: "what a unit's staff did, newest first (QueryAudit by org)",
		},
		{
			Collection: auditRecordsColl, Name: "at",
			Keys:    bson.D{{Key: "at", Value: -1}},
			Purpose: "every record in a time range, newest first (QueryAudit by time, exports)",
		},
		{
			Collection: intentsColl, Name: "at_id",
			Keys:    bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}},
			Purpose: "pending supersession intents, oldest first, for Repair (intents.go)",
		},
		// Leases of background work (leases.go).
		{
			Collection: leasesColl, Name: "name_gen",
			Keys:    bson.D{{Key: "name", Value: 1}, {Key: "gen", Value: -1}},
			Purpose: "a lease's newest generation (every lease read), and the older ones to remove",
		},
		{
			Collection: auditCheckpointsColl, Name: "chain_seq_final", Unique: true,
			Keys:    bson.D{{Key: "chain", Value: 1}, {Key: "seq", Value: 1}, {Key: "final", Value: 1}},
			Purpose: "at most one ordinary and one Final checkpoint per chain and seq; a chain's checkpoints in order (AuditCheckpoints)",
		},
	}
}

// EnsureIndexes creates the indexes of Indexes and drops the obsolete
// ones (migrations.go). It is idempotent: creating an index that exists
// with the same keys and options does nothing.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	if err := s.dropObsoleteIndexes(ctx); err != nil {
		return err
	}
	for _, ix := range Indexes() {
		o := options.Index().SetName(ix.Name)
		if ix.Unique {
			o.SetUnique(true)
		}
		_, err := s.db.Collection(ix.Collection).Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.Keys, Options: o})
		if err != nil {
			return wrap(fmt.Sprintf("create index %s.%s", ix.Collection, ix.Name), err)
		}
	}
	return nil
}
