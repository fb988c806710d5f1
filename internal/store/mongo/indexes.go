package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/store/mongo/plancheck"
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
type Index = plancheck.Index

// Decls are the store's declarations, which the plan check (package
// plancheck) judges every query against and `certd mongo plan` prints:
// the collections with their shard keys, and the indexes.
func Decls() plancheck.Decls {
	return plancheck.Decls{Collections: Collections(), Indexes: Indexes()}
}

// Collections declares every collection the store uses: its shard key in a
// sharded cluster and why, or why it stays unsharded. The plan check fails
// on a command to a collection not declared here, and `certd mongo plan`
// prints the sh.shardCollection commands from it.
//
// A collection whose queries need no index because it cannot grow says so
// in Unchecked; only the catalogue qualifies.
func Collections() []plancheck.Collection {
	ranged := func(fields ...string) bson.D {
		d := make(bson.D, len(fields))
		for i, f := range fields {
			d[i] = bson.E{Key: f, Value: 1}
		}
		return d
	}
	hashedID := bson.D{{Key: "_id", Value: "hashed"}}
	catalogue := "the catalogue: the city's units, certificate types and matters, a few thousand entries edited by hand; read by code or listed whole"
	return []plancheck.Collection{
		{Name: unitsColl, Why: "small: " + catalogue, Unchecked: catalogue},
		{Name: typesColl, Why: "small: " + catalogue, Unchecked: catalogue},
		{Name: mattersColl, Why: "small: " + catalogue, Unchecked: catalogue},
		{Name: changesColl, Why: "the catalogue's change history: one document per edit of an entry, a few a day"},
		{Name: countersColl, Why: "one document per named counter and per issuer and year (serial hints): bounded by the catalogue"},
		{
			Name: claimsColl, Why: "holds only the claims of updates in flight",
			Unchecked: "holds only the claims of updates in flight: each is removed when its update ends (one left by a crash, by Repair), so it never holds more than the updates running at once",
		},
		{
			Name: certsColl, ShardKey: ranged("holderCode", "lineage"),
			Why: "a holder's licences (case reads, a holder's own reads, matter checks) sit in one chunk; " +
				"the lineage, which the licence id yields, splits a holder with many licences and prefixes the unique {holderCode, lineage, version}; " +
				"reads by id find the holder in certificate_lineages first",
		},
		{
			Name: lineagesColl, ShardKey: hashedID,
			Why: "one small document per licence (its lineage, which the id yields, and its holder): a verification by id reads it by _id on one shard; hashed, so a year's serials of one issuer spread",
		},
		{
			Name: idemKeysColl, ShardKey: hashedID,
			Why: "one reservation per issuer and idempotency key, read and written by _id only; _id is the shard key, so its uniqueness holds across shards",
		},
		{
			Name: serialsColl, ShardKey: ranged("issuerCode", "year"),
			Why: "serial blocks are read by _id (issuer/year/start) and by issuer and year for the last one; the _id yields both",
		},
		{Name: sealKeysColl, Why: "one key per unit and rotation: bounded by the catalogue"},
		{
			Name: registryColl, ShardKey: hashedID,
			Why: "the base registry: a document per person and organisation of the city, read by code (_id) only",
		},
		{
			Name: policyVersionsColl, Why: "one document per published policy version: a few a month",
			Unchecked: "one document per published policy version, each approved by policy admins: a few a month, a few hundred in ten years; the policies query lists them whole",
		},
		{Name: policyRevsColl, Why: "one document per move of the active-policy pointer: a few a month"},
		{
			Name: casesColl, ShardKey: ranged("unitCode", "_id"),
			Why: "a unit's cases sit together: its case list and a case read (by the unit that handles it) reach one shard; " +
				"unitCode prefixes the unique {unitCode, caseNo}; _id splits a busy unit",
		},
		{
			Name: applicationsColl, ShardKey: hashedID,
			Why: "applications are read and changed by id (a case opened from one, a withdrawal), which reaches one shard; " +
				"a holder's own list asks every shard for its newest page",
		},
		{
			Name: walkInsColl,
			Why: "walk-in cases and alerts for supervisors' review: at most the policy's daily quota of walk-ins and one alert per staff member and day; " +
				"the unique slot index keeps the quota",
		},
		{
			Name: paperColl, ShardKey: ranged("unitCode", "caseId"),
			Why: "paper submissions are read by case (whose unit the reader knows) and by unit for the supervision report",
		},
		{Name: bulkColl, Why: "bulk analysis requests (第十三条) need the digital office's approval: a few a week"},
		{
			Name: objectionsColl,
			Why:  "objections (第十七条) are rare beside licences and reads, and are listed by issuing unit and by holder, both paged: one shard holds them",
		},
		{
			Name: auditRecordsColl, ShardKey: ranged("chain", "seq"),
			Why: "an append (every read writes one) stores a batch of one writer's chain on one shard, in order, and Verify and exports read a chain from one shard; " +
				"{chain, seq} is the unique key. Access-log reads by licence, holder, issuer or unit ask every shard, " +
				"each answering from its index with at most a page (see docs/deployment.md)",
		},
		{
			Name: intentsColl,
			Why:  "holds only the supersessions in flight (each intent is removed once its supersession is done, or by Repair): a few at a time",
		},
		{Name: migrationsColl, Why: "one document per start-up migration that has run"},
		{Name: leasesColl, Why: "a few generations of each of a few named background jobs' leases; older generations are removed"},
		{
			Name: auditChainsColl, Why: "one document per audit chain: a chain per audit writer started, and one more when a writer abandons its chain; bounded by the instances' starts, not by the records",
			Unchecked: "one document per audit chain, not per record: a chain per audit writer started (a few a day in a cluster, some thousands in ten years); auditStatus lists it whole",
		},
		{
			Name: auditCheckpointsColl, ShardKey: ranged("chain", "seq"),
			Why: "a chain's signed checkpoints, stored and read with its records; prefixes the unique {chain, seq, final}",
		},
	}
}

// Indexes lists every index EnsureIndexes creates, in one place: the plan
// check proves from them that every query the store sends is served by
// one (plancheck), and `certd mongo plan` prints them. An index named
// here with other keys than a deployed one of the same name needs a new
// name; the old name goes to retiredIndexes.
func Indexes() []Index {
	asc := func(fields ...string) bson.D {
		d := make(bson.D, len(fields))
		for i, f := range fields {
			d[i] = bson.E{Key: f, Value: 1}
		}
		return d
	}
	// newest is the order of every "newest first" listing: the time, then
	// the tie-breakers, descending.
	newest := func(lead bson.D, fields ...string) bson.D {
		d := append(bson.D{}, lead...)
		for _, f := range fields {
			d = append(d, bson.E{Key: f, Value: -1})
		}
		return d
	}
	return []Index{
		// The catalogue's change history (catalogue.go).
		{
			Collection: changesColl, Name: "kind_code_version", Unique: true,
			Keys:    asc("kind", "code", "version"),
			Purpose: "one change per entry version (AppendChange is idempotent); history of one entry",
		},
		{
			Collection: changesColl, Name: "kind_seq",
			Keys:    asc("kind", "_id"),
			Purpose: "history of every entry of a kind, in sequence (_id) order",
		},
		// Licences (certificates.go).
		{
			Collection: certsColl, Name: "lineage_version", Unique: true,
			Keys:    asc("lineage", "version"),
			Purpose: "one document per licence version: of two supersessions of one version only one inserts version n+1; Versions of a licence in order",
		},
		{
			Collection: certsColl, Name: "holder_issuedAt_id",
			Keys:    newest(asc("holderCode"), "issuedAt", "_id"),
			Purpose: "a holder's licences newest first (a holder's own reads, case reads, matter checks); their type and state are checked on the holder's few documents",
		},
		{
			Collection: certsColl, Name: "issuer_issuedAt_id",
			Keys:    newest(asc("issuerCode"), "issuedAt", "_id"),
			Purpose: "an issuer's licences newest first (the issuer listing with keyset pagination, and its count from the index alone)",
		},
		{
			Collection: certsColl, Name: "issuer_type_issuedAt_id",
			Keys:    newest(asc("issuerCode", "typeCode"), "issuedAt", "_id"),
			Purpose: "the issuer listing filtered by type, and its count",
		},
		{
			Collection: certsColl, Name: "issuer_state_issuedAt_id",
			Keys:    newest(asc("issuerCode", "state"), "issuedAt", "_id"),
			Purpose: "the issuer listing filtered by state, and its count",
		},
		{
			Collection: certsColl, Name: "issuer_type_state_issuedAt_id",
			Keys:    newest(asc("issuerCode", "typeCode", "state"), "issuedAt", "_id"),
			Purpose: "the issuer listing filtered by type and state, and its count",
		},
		{
			Collection: certsColl, Name: "issuer_idempotencyKey",
			Keys:    asc("issuerCode", "idempotencyKey"),
			Purpose: "which idempotency keys of a batch name stored licences (StoredKeys); uniqueness is kept by idempotency_keys",
		},
		{
			Collection: certsColl, Name: "current_typeCode_state",
			Keys:    asc("current", "typeCode", "state"),
			Purpose: "current versions, by type and state, for bulk analysis counts (Aggregate)",
		},
		{
			Collection: certsColl, Name: "dueOn_id",
			Keys:    asc("dueOn", "_id"),
			Purpose: "licences still due to expire, earliest first (DueForExpiry); only they carry dueOn",
		},
		{
			Collection: certsColl, Name: "issuedAt_issuer_late",
			Keys:    asc("issuedAt", "issuerCode", "timeliness.late"),
			Purpose: "the versions issued in a period, per issuer and whether late, from the index alone (IssueStats, supervision report)",
		},
		{
			Collection: serialsColl, Name: "issuer_year_end",
			Keys:    bson.D{{Key: "issuerCode", Value: 1}, {Key: "year", Value: 1}, {Key: "end", Value: -1}},
			Purpose: "the last serial block of an issuer's year, for NextSerials when its hint is missing or far behind (blocks are otherwise read by _id)",
		},
		// Cases and paper submissions (cases.go).
		{
			Collection: casesColl, Name: "unit_caseNo", Unique: true,
			Keys:    asc("unitCode", "caseNo"),
			Purpose: "one case per number in a unit (CreateCase)",
		},
		{
			Collection: casesColl, Name: "unit_openedAt_id",
			Keys:    newest(asc("unitCode"), "openedAt", "_id"),
			Purpose: "a unit's cases newest first (ListCases)",
		},
		// Walk-ins and alerts (walkins.go).
		{
			Collection: walkInsColl, Name: "slot", Unique: true,
			Keys:    asc("slot"),
			Purpose: "one walk-in per slot of a person's daily quota, one alert per person and day (AddWalkIn, RecordWalkInAlert)",
		},
		{
			Collection: walkInsColl, Name: "subject_day_alert",
			Keys:    asc("subject", "day", "alert"),
			Purpose: "a person's walk-ins of a day (CountWalkIns: the quota)",
		},
		{
			Collection: walkInsColl, Name: "at_id",
			Keys:    newest(bson.D{}, "at", "_id"),
			Purpose: "walk-ins and alerts newest first (WalkIns: casesForReview)",
		},
		{
			Collection: applicationsColl, Name: "holderCode_submittedAt_id",
			Keys:    newest(asc("holderCode"), "submittedAt", "_id"),
			Purpose: "a holder's applications newest first (HolderApplications: me.applications)",
		},
		{
			Collection: paperColl, Name: "caseId_at_id",
			Keys:    asc("caseId", "at", "_id"),
			Purpose: "a case's paper submissions in order (PaperSubmissions)",
		},
		{
			Collection: paperColl, Name: "unitCode_at_id",
			Keys:    asc("unitCode", "at", "_id"),
			Purpose: "a unit's paper submissions in a period (supervision report)",
		},
		// Bulk analyses (bulk.go).
		{
			Collection: bulkColl, Name: "state_createdAt_id",
			Keys:    newest(asc("state"), "createdAt", "_id"),
			Purpose: "bulk analysis requests in a state, newest first (ListBulkRequests)",
		},
		{
			Collection: bulkColl, Name: "createdAt_id",
			Keys:    newest(nil, "createdAt", "_id"),
			Purpose: "every bulk analysis request, newest first, up to the listing's limit (ListBulkRequests)",
		},
		// Objections to licence data (objections.go).
		{
			Collection: objectionsColl, Name: "issuerCode_state_filedAt_id",
			Keys:    newest(asc("issuerCode", "state"), "filedAt", "_id"),
			Purpose: "an issuing unit's objections in a state, newest first (List by state, Overdue, Stats)",
		},
		{
			Collection: objectionsColl, Name: "issuerCode_filedAt_id",
			Keys:    newest(asc("issuerCode"), "filedAt", "_id"),
			Purpose: "an issuing unit's objections, newest first (List of every state)",
		},
		{
			Collection: objectionsColl, Name: "holderCode_filedAt_id",
			Keys:    newest(asc("holderCode"), "filedAt", "_id"),
			Purpose: "a holder's objections, newest first (Mine)",
		},
		// The audit log (audit.go). No TTL index: see audit.go. Every
		// access-log listing is newest first by (at, chain, seq), which
		// each index below gives after its equality field.
		{
			Collection: auditRecordsColl, Name: "chain_seq", Unique: true,
			Keys:    asc("chain", "seq"),
			Purpose: "one record per chain and seq (besides _id, which encodes both); a chain in order for Verify and exports (AuditChain), and the chains of a log stored before audit_chains (its start-up migration)",
		},
		{
			Collection: auditRecordsColl, Name: "certificateId_at_chain_seq",
			Keys:    newest(asc("certificateId"), "at", "chain", "seq"),
			Purpose: "who read or changed a licence, newest first (QueryAudit by certificate)",
		},
		{
			Collection: auditRecordsColl, Name: "holderCode_at_chain_seq",
			Keys:    newest(asc("holderCode"), "at", "chain", "seq"),
			Purpose: "access to a holder's licences, newest first (QueryAudit by holder and a holder's own scope)",
		},
		{
			Collection: auditRecordsColl, Name: "issuerCode_at_chain_seq",
			Keys:    newest(asc("issuerCode"), "at", "chain", "seq"),
			Purpose: "access to an issuer's licences, newest first (QueryAudit in an issuer's scope)",
		},
		{
			Collection: auditRecordsColl, Name: "org_at_chain_seq",
			Keys:    newest(asc("org"), "at", "chain", "seq"),
			Purpose: "what a unit's staff did, newest first (QueryAudit by org)",
		},
		{
			Collection: auditRecordsColl, Name: "at_chain_seq",
			Keys:    newest(nil, "at", "chain", "seq"),
			Purpose: "every record newest first, or in a time range (QueryAudit in the whole log, exports, AccessStats)",
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
			Keys:    asc("chain", "seq", "final"),
			Purpose: "at most one ordinary and one Final checkpoint per chain and seq; a chain's checkpoints in order (AuditCheckpoints), and the chains of a log stored before audit_chains (its start-up migration)",
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
