package mongo

import (
	"go.mongodb.org/mongo-driver/v2/bson"

	"certd/internal/store/mongo/plancheck"
)

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
			Name: auditCheckpointsColl, ShardKey: ranged("chain", "seq"),
			Why: "a chain's signed checkpoints, stored and read with its records; prefixes the unique {chain, seq, final}",
		},
	}
}
