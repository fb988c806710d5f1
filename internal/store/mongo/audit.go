package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/audit"
)

// The audit log lives in audit_records, one document per record with
// _id "<chain>.<seq as 19 digits>", and audit_checkpoints, _id
// "<chain>.<seq as 19 digits>" plus ".final" for a Final checkpoint. An
// insert whose _id exists fails atomically on MongoDB and FerretDB alike,
// which is the only guarantee the log needs: nothing is ever updated.
//
// There is no TTL index: a TTL monitor would delete single records as
// they age, cutting chains open in the middle of a retention period that
// Verify must be able to check, and MongoDB offers no way to make it spare
// records under legal hold. Retention removes whole chains, deliberately.
//
// Without transactions AppendAudit inserts the records (ordered, so a
// failure leaves a prefix) before the checkpoints, so a stored checkpoint
// always names stored records. On a failure the writer abandons its chain
// (see audit.Writer), so a partly stored batch is never overwritten.
//
// audit_chains lists the chains, one document per chain with the chain id
// as _id: AuditChains reads it rather than every record, so an auditStatus
// check costs what the log gained, not its size. AppendAudit registers a
// chain before storing its first records or checkpoints, so every stored
// record's chain is listed (a crash in between leaves a chain listed with
// nothing stored, which verifies as empty). Chains are few: one per audit
// writer started, and one more each time a writer abandons its chain.

var _ audit.Repository = (*Store)(nil)

const (
	auditRecordsColl     = "audit_records"
	auditCheckpointsColl = "audit_checkpoints"
	auditChainsColl      = "audit_chains"
)

func (s *Store) auditRecords() *mongo.Collection     { return s.db.Collection(auditRecordsColl) }
func (s *Store) auditCheckpoints() *mongo.Collection { return s.db.Collection(auditCheckpointsColl) }
func (s *Store) auditChains() *mongo.Collection      { return s.db.Collection(auditChainsColl) }

// auditChainDoc is a document of audit_chains: one chain of the log.
type auditChainDoc struct {
	Chain string    `bson:"_id"`
	At    time.Time `bson:"at"` // when it was registered
}

// chainSet remembers the chains this store registered, so that only a
// chain's first append writes to audit_chains.
type chainSet struct {
	mu sync.Mutex
	m  map[string]bool
}

// maxChainsSeen bounds chainSet: past it the set starts again, and a
// chain registered before is registered once more (an insert refused as
// a duplicate).
const maxChainsSeen = 1024

// unseen returns the chains of recs and cps not registered yet.
func (c *chainSet) unseen(recs []audit.Record, cps []audit.Checkpoint) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	add := func(chain string) {
		if !c.m[chain] && !slices.Contains(out, chain) {
			out = append(out, chain)
		}
	}
	for i := range recs {
		add(recs[i].Chain)
	}
	for i := range cps {
		add(cps[i].Chain)
	}
	return out
}

// registered marks chains as stored in audit_chains.
func (c *chainSet) registered(chains []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(chains) > maxChainsSeen {
		c.m = make(map[string]bool)
	}
	for _, ch := range chains {
		c.m[ch] = true
	}
}

// registerChains stores in audit_chains the chains of a batch that this
// store has not registered yet; a chain another instance (or an earlier
// run) registered is a duplicate, which is fine.
func (s *Store) registerChains(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	chains := s.chainsSeen.unseen(recs, cps)
	if len(chains) == 0 {
		return nil
	}
	if err := s.insertChains(ctx, chains); err != nil {
		return err
	}
	s.chainsSeen.registered(chains)
	return nil
}

// insertChains stores chains in audit_chains; one stored already is
// refused as a duplicate and left as it is.
func (s *Store) insertChains(ctx context.Context, chains []string) error {
	at := time.Now().UTC()
	docs := make([]any, len(chains))
	for i, ch := range chains {
		docs[i] = auditChainDoc{Chain: ch, At: at}
	}
	if _, err := insertMany(ctx, s.auditChains(), docs); err != nil {
		return wrap("register audit chains", err)
	}
	return nil
}

// auditRecordDoc is a document of audit_records.
type auditRecordDoc struct {
	ID            string    `bson:"_id"`
	Chain         string    `bson:"chain"`
	Seq           int64     `bson:"seq"`
	PrevHash      string    `bson:"prevHash"`
	Hash          string    `bson:"hash"`
	At            time.Time `bson:"at"`
	Kind          string    `bson:"kind"`
	Subject       string    `bson:"subject"`
	Org           string    `bson:"org"`
	Roles         []string  `bson:"roles"`
	Operation     string    `bson:"operation"`
	Action        string    `bson:"action"`
	CaseID        string    `bson:"caseId"`
	MatterCode    string    `bson:"matterCode"`
	HolderCode    string    `bson:"holderCode"`
	CertificateID string    `bson:"certificateId"`
	IssuerCode    string    `bson:"issuerCode"`
	Fields        []string  `bson:"fields"`
	Decision      string    `bson:"decision"`
	Reason        string    `bson:"reason"`
	PolicyVersion int64     `bson:"policyVersion"`
	RequestID     string    `bson:"requestId"`
	Client        string    `bson:"client"`
	// From canonical version 2 on; documents written before have none of
	// them, and are version 1.
	V     *int64 `bson:"v,omitempty"`
	Basis string `bson:"basis"`
	Count int64  `bson:"count"`
}

// auditCheckpointDoc is a document of audit_checkpoints.
type auditCheckpointDoc struct {
	ID        string    `bson:"_id"`
	Chain     string    `bson:"chain"`
	Seq       int64     `bson:"seq"`
	Hash      string    `bson:"hash"`
	At        time.Time `bson:"at"`
	KeyID     string    `bson:"keyId"`
	Signature string    `bson:"signature"`
	Final     bool      `bson:"final"`
}

func auditID(chain string, seq int64) string { return fmt.Sprintf("%s.%019d", chain, seq) }

func auditStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toAuditRecordDoc(r *audit.Record) auditRecordDoc {
	return auditRecordDoc{ID: auditID(r.Chain, r.Seq), Chain: r.Chain, Seq: r.Seq, PrevHash: r.PrevHash, Hash: r.Hash,
		At: r.At.UTC(), Kind: r.Kind, Subject: r.Subject, Org: r.Org, Roles: auditStrings(r.Roles), Operation: r.Operation,
		Action: r.Action, CaseID: r.CaseID, MatterCode: r.MatterCode, HolderCode: r.HolderCode,
		CertificateID: r.CertificateID, IssuerCode: r.IssuerCode, Fields: auditStrings(r.Fields), Decision: r.Decision,
		Reason: r.Reason, PolicyVersion: int64(r.PolicyVersion), RequestID: r.RequestID, Client: r.Client,
		V: new(int64(r.V)), Basis: r.Basis, Count: int64(r.Count)}
}

func (d *auditRecordDoc) record() audit.Record {
	r := audit.Record{Chain: d.Chain, Seq: d.Seq, PrevHash: d.PrevHash, Hash: d.Hash, At: d.At.UTC(), Kind: d.Kind,
		Subject: d.Subject, Org: d.Org, Roles: auditStrings(d.Roles), Operation: d.Operation, Action: d.Action, CaseID: d.CaseID,
		MatterCode: d.MatterCode, HolderCode: d.HolderCode, CertificateID: d.CertificateID, IssuerCode: d.IssuerCode,
		Fields: auditStrings(d.Fields), Decision: d.Decision, Reason: d.Reason, PolicyVersion: int(d.PolicyVersion),
		RequestID: d.RequestID, Client: d.Client, V: 1, Basis: d.Basis, Count: int(d.Count)}
	if d.V != nil {
		r.V = int(*d.V)
	}
	return r
}

// AppendAudit implements audit.Repository: the records in one ordered
// InsertMany, then the checkpoints in another, with write concern
// majority. A (chain, seq) that exists is a CONFLICT; the documents
// before it in the batch may be stored by then.
func (s *Store) AppendAudit(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	if err := s.registerChains(ctx, recs, cps); err != nil {
		return err
	}
	if len(recs) > 0 {
		docs := make([]auditRecordDoc, len(recs))
		for i := range recs {
			docs[i] = toAuditRecordDoc(&recs[i])
		}
		if err := insertAudit(ctx, s.auditRecords(), docs, "record"); err != nil {
			return err
		}
	}
	if len(cps) > 0 {
		docs := make([]auditCheckpointDoc, len(cps))
		for i, c := range cps {
			id := auditID(c.Chain, c.Seq)
			if c.Final {
				id += ".final"
			}
			docs[i] = auditCheckpointDoc{ID: id, Chain: c.Chain, Seq: c.Seq, Hash: c.Hash, At: c.At.UTC(), KeyID: c.KeyID,
				Signature: c.Signature, Final: c.Final}
		}
		return insertAudit(ctx, s.auditCheckpoints(), docs, "checkpoint")
	}
	return nil
}

func insertAudit[D any](ctx context.Context, c *mongo.Collection, docs []D, what string) error {
	_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	if mongo.IsDuplicateKeyError(err) {
		return apperr.Conflictf("an audit %s of this batch exists already", what)
	}
	if err != nil {
		return wrap("store audit "+what+"s", err)
	}
	return nil
}

// QueryAudit implements audit.Repository. User strings are only ever
// equality values; From, To and the cursor are range bounds.
func (s *Store) QueryAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	and := bson.A{}
	eq := func(field, v string) {
		if v != "" {
			and = append(and, bson.D{{Key: field, Value: bson.D{{Key: "$eq", Value: v}}}})
		}
	}
	eq("certificateId", q.CertificateID)
	eq("holderCode", q.HolderCode)
	eq("org", q.Org)
	eq("issuerCode", q.ScopeIssuer)
	eq("holderCode", q.ScopeHolder)
	if q.KindAccessOnly {
		kinds := bson.A{bson.D{{Key: "kind", Value: bson.D{{Key: "$eq", Value: audit.KindAccess}}}}}
		for _, a := range q.AlsoActions {
			kinds = append(kinds, bson.D{{Key: "action", Value: bson.D{{Key: "$eq", Value: a}}}})
		}
		and = append(and, bson.D{{Key: "$or", Value: kinds}})
	}
	// BSON dates are whole milliseconds; see ceilMillis.
	if !q.From.IsZero() {
		and = append(and, bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: ceilMillis(q.From)}}}})
	}
	if !q.To.IsZero() {
		and = append(and, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: ceilMillis(q.To)}}}})
	}
	if c := q.After; c != nil {
		at := c.At.UTC().Truncate(time.Millisecond)
		and = append(and, bson.D{{Key: "at", Value: bson.D{{Key: "$lte", Value: at}}}}, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "at", Value: at}, {Key: "chain", Value: bson.D{{Key: "$lt", Value: c.Chain}}}},
			bson.D{{Key: "at", Value: at}, {Key: "chain", Value: bson.D{{Key: "$eq", Value: c.Chain}}}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: c.Seq}}}},
		}}})
	}
	filter := bson.D{}
	if len(and) > 0 {
		filter = bson.D{{Key: "$and", Value: and}}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = audit.DefaultQueryLimit
	}
	return s.findAudit(ctx, "query audit records", filter,
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "chain", Value: -1}, {Key: "seq", Value: -1}}).SetLimit(int64(limit)))
}

// ceilMillis is the first whole millisecond at or after t.
func ceilMillis(t time.Time) time.Time {
	ms := t.UTC().Truncate(time.Millisecond)
	if ms.Before(t) {
		ms = ms.Add(time.Millisecond)
	}
	return ms
}

func (s *Store) findAudit(ctx context.Context, op string, filter bson.D, opts *options.FindOptionsBuilder) ([]audit.Record, error) {
	cur, err := s.auditRecords().Find(ctx, filter, opts)
	if err != nil {
		return nil, wrap(op, err)
	}
	var ds []auditRecordDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap(op, err)
	}
	out := make([]audit.Record, len(ds))
	for i := range ds {
		out[i] = ds[i].record()
	}
	return out, nil
}

// AuditChains implements audit.Repository: the chains registered in
// audit_chains, a document per chain, in _id order.
func (s *Store) AuditChains(ctx context.Context) ([]string, error) {
	cur, err := s.auditChains().Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, wrap("list audit chains", err)
	}
	var ds []auditChainDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list audit chains", err)
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Chain
	}
	return out, nil
}

// distinctAuditChains lists the chains of both collections (a chain may
// have lost its records but not its checkpoints) by grouping them: what
// the start-up migration registers in audit_chains for a log stored
// before the registry existed. $group rather than distinct: FerretDB v1
// answers a distinct that carries maxTimeMS (which the driver adds under
// a context deadline) with a reply the driver cannot decode. Sorted by
// chain first, the $group by chain alone is a DISTINCT_SCAN on MongoDB:
// it skips along the {chain, seq} index from one chain to the next.
func (s *Store) distinctAuditChains(ctx context.Context) ([]string, error) {
	var out []string
	for _, c := range []*mongo.Collection{s.auditRecords(), s.auditCheckpoints()} {
		cur, err := c.Aggregate(ctx, mongo.Pipeline{
			{{Key: "$sort", Value: bson.D{{Key: "chain", Value: 1}}}},
			{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$chain"}}}},
		})
		if err != nil {
			return nil, wrap("list audit chains", err)
		}
		var groups []struct {
			Chain string `bson:"_id"`
		}
		if err := cur.All(ctx, &groups); err != nil {
			return nil, wrap("list audit chains", err)
		}
		for _, g := range groups {
			out = append(out, g.Chain)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// AuditChain implements audit.Repository.
func (s *Store) AuditChain(ctx context.Context, chain string, after int64, limit int) ([]audit.Record, error) {
	return s.findAudit(ctx, "read audit chain",
		bson.D{{Key: "chain", Value: bson.D{{Key: "$eq", Value: chain}}}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
}

// AuditCheckpoints implements audit.Repository.
func (s *Store) AuditCheckpoints(ctx context.Context, chain string, after int64) ([]audit.Checkpoint, error) {
	cur, err := s.auditCheckpoints().Find(ctx, bson.D{{Key: "chain", Value: bson.D{{Key: "$eq", Value: chain}}}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}, {Key: "final", Value: 1}}))
	if err != nil {
		return nil, wrap("read audit checkpoints", err)
	}
	var ds []auditCheckpointDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("read audit checkpoints", err)
	}
	out := make([]audit.Checkpoint, len(ds))
	for i, d := range ds {
		out[i] = audit.Checkpoint{Chain: d.Chain, Seq: d.Seq, Hash: d.Hash, At: d.At.UTC(), KeyID: d.KeyID,
			Signature: d.Signature, Final: d.Final}
	}
	return out, nil
}

// AuditHead implements audit.Repository: the last record of the chain by
// the chain_seq index.
func (s *Store) AuditHead(ctx context.Context, chain string) (int64, error) {
	var d struct {
		Seq int64 `bson:"seq"`
	}
	err := s.auditRecords().FindOne(ctx, bson.D{{Key: "chain", Value: bson.D{{Key: "$eq", Value: chain}}}},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).SetProjection(bson.D{{Key: "seq", Value: 1}})).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return 0, nil
	case err != nil:
		return 0, wrap("audit chain head", err)
	}
	return d.Seq, nil
}

// AccessStats implements audit.Repository with a $match and $group by
// unit, decision and count (of a refusal summary), which FerretDB
// supports.
func (s *Store) AccessStats(ctx context.Context, from, to time.Time) (map[string]audit.AccessStat, error) {
	cur, err := s.auditRecords().Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "kind", Value: audit.KindAccess},
			{Key: "at", Value: bson.D{{Key: "$gte", Value: ceilMillis(from)}, {Key: "$lt", Value: ceilMillis(to)}}}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "org", Value: "$org"}, {Key: "decision", Value: "$decision"}, {Key: "count", Value: "$count"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, wrap("access statistics", err)
	}
	var groups []struct {
		ID struct {
			Org      string `bson:"org"`
			Decision string `bson:"decision"`
			Count    int    `bson:"count"`
		} `bson:"_id"`
		N int `bson:"n"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return nil, wrap("access statistics", err)
	}
	out := map[string]audit.AccessStat{}
	for _, g := range groups {
		st := out[g.ID.Org]
		st.Add(g.ID.Decision, g.N, g.ID.Count)
		out[g.ID.Org] = st
	}
	return out, nil
}
