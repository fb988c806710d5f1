package mongo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/certificate"
)

// Licence versions live in the certificates collection, one document per
// version with the version's id as _id (certdocs.go). Without
// transactions, the writes that touch more than one document are ordered
// so that a crash leaves something Repair or a retry can finish:
//
//   - Insert reserves idempotency keys before inserting licences
//     (idempotency.go).
//   - Update and Supersede are conditioned on rev and made atomic on
//     FerretDB by claiming "certificates/<prevRev>/<id>" (claims.go).
//   - Supersede writes an intent (intents.go), inserts the new version,
//     marks the old one superseded and removes the intent; a crash in
//     between leaves the intent, and Repair, visiting pending intents
//     only, finishes or drops it.

var _ certificate.Repository = (*Store)(nil)

// finalStates are the states no action leaves (certificate.State.Final).
var finalStates = []string{
	string(certificate.Revoked), string(certificate.Cancelled), string(certificate.Abolished),
	string(certificate.Expired), string(certificate.Superseded),
}

// Insert implements certificate.Repository. Keys are reserved for the
// whole batch in one unordered insert, then the licences are inserted in
// one unordered insert; only the rare items whose key was taken are
// settled one by one. A licence whose id is taken (and which is not the
// same licence stored by an earlier attempt) fails the call with CONFLICT;
// the other licences of the batch may be stored by then, and a retry of
// the batch finds them by their keys.
func (s *Store) Insert(ctx context.Context, cs []certificate.Certificate) ([]certificate.InsertResult, error) {
	res := make([]certificate.InsertResult, len(cs))
	if len(cs) == 0 {
		return res, nil
	}
	docs := make([]certDoc, len(cs))
	var keyed []int
	for i := range cs {
		if cs[i].Summary {
			return nil, certificate.ErrSummary
		}
		docs[i] = toCertDoc(&cs[i])
		if cs[i].IdempotencyKey != "" {
			keyed = append(keyed, i)
		}
	}
	reservedAt := time.Now().UTC().Truncate(time.Millisecond)
	taken, err := s.reserveKeys(ctx, cs, keyed, reservedAt)
	if err != nil {
		return nil, err
	}
	var free []int
	for i := range cs {
		if _, ok := taken[i]; !ok {
			free = append(free, i)
		}
	}
	if err := s.storeCerts(ctx, cs, docs, free, reservedAt, res); err != nil {
		return nil, err
	}
	if len(taken) == 0 {
		return res, nil
	}

	// Keys reserved before this call, possibly by licences of this batch
	// stored just now: most name a stored licence, found in one read.
	ids := make([]string, 0, len(taken))
	for _, id := range taken {
		if id != "" {
			ids = append(ids, id)
		}
	}
	stored, err := s.certsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	giveUp := time.Now().Add(keyWait)
	for _, i := range slices.Sorted(maps.Keys(taken)) {
		if d, ok := stored[taken[i]]; ok && carries(&d, &cs[i]) {
			got := d.certificate()
			res[i].Existing = &got
			continue
		}
		if err := s.resolveKey(ctx, cs, docs, i, res, giveUp); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// certByID reads one licence by id; ok is false if there is none.
func (s *Store) certByID(ctx context.Context, id string) (d certDoc, ok bool, err error) {
	err = s.certs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	switch {
	case err == nil:
		return d, true, nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return d, false, nil
	}
	return d, false, wrap("get licence", err)
}

// certsByID reads the licences with the given ids, keyed by id.
func (s *Store) certsByID(ctx context.Context, ids []string) (map[string]certDoc, error) {
	out := make(map[string]certDoc, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) == 1 {
		// By _id alone, which FerretDB looks up without a scan.
		d, ok, err := s.certByID(ctx, ids[0])
		if ok {
			out[d.ID] = d
		}
		return out, err
	}
	ds, err := s.findCerts(ctx, "get licences", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, nil)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		out[d.ID] = d
	}
	return out, nil
}

// findCerts runs a find on certificates.
func (s *Store) findCerts(ctx context.Context, op string, filter bson.D, opts *options.FindOptionsBuilder) ([]certDoc, error) {
	if opts == nil {
		opts = options.Find()
	}
	cur, err := s.certs.Find(ctx, filter, opts)
	if err != nil {
		return nil, wrap(op, err)
	}
	var ds []certDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap(op, err)
	}
	return ds, nil
}

func toCerts(ds []certDoc) []certificate.Certificate {
	out := make([]certificate.Certificate, len(ds))
	for i := range ds {
		out[i] = ds[i].certificate()
	}
	return out
}

// Get implements certificate.Repository.
func (s *Store) Get(ctx context.Context, id string) (certificate.Certificate, error) {
	d, err := get[certDoc](ctx, s.certs, "licence", id)
	if err != nil {
		return certificate.Certificate{}, err
	}
	return d.certificate(), nil
}

// ByIdempotencyKey implements certificate.Repository: the reservation
// names the licence, which counts only if it carries the key.
func (s *Store) ByIdempotencyKey(ctx context.Context, issuer, key string) (certificate.Certificate, error) {
	notFound := apperr.NotFoundf("licence with idempotency key %s not found", key)
	if key == "" {
		return certificate.Certificate{}, notFound
	}
	var kd idemKeyDoc
	err := s.idemKeys.FindOne(ctx, bson.D{{Key: "_id", Value: idemKeyID(issuer, key)}}).Decode(&kd)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return certificate.Certificate{}, notFound
	case err != nil:
		return certificate.Certificate{}, wrap("get idempotency key", err)
	}
	d, ok, err := s.certByID(ctx, kd.CertID)
	if err != nil {
		return certificate.Certificate{}, err
	}
	if !ok || d.IssuerCode != issuer || d.IdempotencyKey != key {
		return certificate.Certificate{}, notFound
	}
	return d.certificate(), nil
}

// Versions implements certificate.Repository.
func (s *Store) Versions(ctx context.Context, lineage string) ([]certificate.Certificate, error) {
	ds, err := s.findCerts(ctx, "list versions", bson.D{{Key: "lineage", Value: lineage}},
		options.Find().SetSort(bson.D{{Key: "version", Value: 1}}))
	return toCerts(ds), err
}

// certFilter turns f into a MongoDB filter; values only ever appear as
// operands of $eq, $in and comparisons, never as operators.
func certFilter(f certificate.Filter) (bson.D, error) {
	return condFilter(f.Cond())
}

// condFields maps condition fields to document fields.
var condFields = map[string]string{
	"id": "_id", "lineage": "lineage", "type": "typeCode", "issuer": "issuerCode", "holder": "holderCode",
	"state": "state", "current": "current", "version": "version",
}

var condOps = map[string]string{"eq": "$eq", "ne": "$ne", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte", "in": "$in"}

func condFilter(c certificate.Cond) (bson.D, error) {
	switch c.Op {
	case "and", "or", "not":
		if len(c.Args) == 0 {
			if c.Op == "and" {
				return bson.D{}, nil
			}
			return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}, nil // matches nothing
		}
		parts := bson.A{}
		for _, a := range c.Args {
			d, err := condFilter(a)
			if err != nil {
				return nil, err
			}
			parts = append(parts, d)
		}
		op := map[string]string{"and": "$and", "or": "$or", "not": "$nor"}[c.Op]
		return bson.D{{Key: op, Value: parts}}, nil
	}
	field, ok := condFields[c.Field]
	if !ok {
		return nil, fmt.Errorf("no document field for %q", c.Field)
	}
	op, ok := condOps[c.Op]
	if !ok {
		return nil, fmt.Errorf("operator %q is not supported", c.Op)
	}
	v := c.Value
	if c.Op == "in" {
		vs, ok := c.Value.([]any)
		if !ok {
			return nil, fmt.Errorf("in needs a list")
		}
		a := bson.A{}
		for _, x := range vs {
			a = append(a, numberFor(field, x))
		}
		v = a
	} else {
		v = numberFor(field, v)
	}
	return bson.D{{Key: field, Value: bson.D{{Key: op, Value: v}}}}, nil
}

// numberFor stores version numbers as integers, as the documents do.
func numberFor(field string, v any) any {
	if f, ok := v.(float64); ok && field == "version" {
		return int64(f)
	}
	return v
}

// List implements certificate.Repository: newest first by issuedAt, then
// _id, with keyset pagination after the cursor.
func (s *Store) List(ctx context.Context, f certificate.Filter, after *certificate.Cursor, limit int) ([]certificate.Certificate, error) {
	if limit == 0 || f.Cond().IsFalse() {
		return []certificate.Certificate{}, nil
	}
	filter, err := certFilter(f)
	if err != nil {
		return nil, fmt.Errorf("list licences: %w", err)
	}
	if after != nil {
		at := after.IssuedAt.UTC()
		// The first bound starts the index scan at the cursor; the $or
		// is the keyset.
		filter = bson.D{{Key: "$and", Value: bson.A{filter, bson.D{{Key: "issuedAt", Value: bson.D{{Key: "$lte", Value: at}}}},
			bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: "issuedAt", Value: bson.D{{Key: "$lt", Value: at}}}},
				bson.D{{Key: "issuedAt", Value: at}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: after.ID}}}},
			}}}}}}
	}
	opts := options.Find().SetSort(bson.D{{Key: "issuedAt", Value: -1}, {Key: "_id", Value: -1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	if f.Summary {
		opts.SetProjection(summaryProjection)
	}
	ds, err := s.findCerts(ctx, "list licences", filter, opts)
	cs := toCerts(ds)
	for i := range cs {
		cs[i].Summary = f.Summary
	}
	return cs, err
}

// summaryProjection leaves out of a licence document what a summary does
// not hold (certificate.Certificate.Summary); the sealed document is most
// of a document's size.
var summaryProjection = bson.D{{Key: "seal", Value: 0}, {Key: "document", Value: 0}, {Key: "history", Value: 0},
	{Key: "inspections", Value: 0}, {Key: "timeliness", Value: 0}, {Key: "idempotencyKey", Value: 0},
	{Key: "issuedBy", Value: 0}, {Key: "rev", Value: 0}}

// Count implements certificate.Repository.
func (s *Store) Count(ctx context.Context, f certificate.Filter) (int, error) {
	if f.Cond().IsFalse() {
		return 0, nil
	}
	filter, err := certFilter(f)
	if err != nil {
		return 0, fmt.Errorf("count licences: %w", err)
	}
	n, err := s.certs.CountDocuments(ctx, filter)
	if err != nil {
		return 0, wrap("count licences", err)
	}
	return int(n), nil
}

// Update implements certificate.Repository.
func (s *Store) Update(ctx context.Context, c certificate.Certificate, prevRev int) error {
	if c.Summary {
		return certificate.ErrSummary
	}
	release, err := s.claim(ctx, certsColl, c.ID, prevRev)
	if errors.Is(err, errClaimed) {
		return s.updateFailed(ctx, s.certs, "licence", c.ID)
	} else if err != nil {
		return err
	}
	defer release()
	return s.setCert(ctx, &c, prevRev)
}

// setCert writes the mutable fields of c if its rev is still prevRev; the
// caller holds the claim on c.ID at prevRev.
func (s *Store) setCert(ctx context.Context, c *certificate.Certificate, prevRev int) error {
	set := bson.D{
		{Key: "state", Value: string(c.State)},
		{Key: "current", Value: c.Current},
		{Key: "successor", Value: c.Successor},
		{Key: "history", Value: toHistoryDocs(c.History)},
		{Key: "inspections", Value: toInspectionDocs(c.Inspections)},
		{Key: "rev", Value: prevRev + 1},
	}
	update := bson.D{{Key: "$unset", Value: bson.D{{Key: "dueOn", Value: ""}}}}
	if due := dueOn(c); due != nil {
		set, update = append(set, bson.E{Key: "dueOn", Value: *due}), nil
	}
	update = append(bson.D{{Key: "$set", Value: set}}, update...)
	res, err := s.certs.UpdateOne(ctx, bson.D{{Key: "holderCode", Value: c.Holder.Code}, {Key: "lineage", Value: c.Lineage},
		{Key: "_id", Value: c.ID}, {Key: "rev", Value: prevRev}}, update)
	if err != nil {
		return wrap("update licence", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	return s.updateFailed(ctx, s.certs, "licence", c.ID)
}

// Supersede implements certificate.Repository. Claiming old at prevRev
// makes exactly one of concurrent supersessions go on; it then checks
// old's rev, inserts next (the unique lineage and version index refuses a
// second version n+1) and marks old superseded. A crash after the insert
// leaves old current beside next, which Repair fixes.
func (s *Store) Supersede(ctx context.Context, old certificate.Certificate, prevRev int, next certificate.Certificate) error {
	if old.Summary || next.Summary {
		return certificate.ErrSummary
	}
	release, err := s.claim(ctx, certsColl, old.ID, prevRev)
	if errors.Is(err, errClaimed) {
		return s.updateFailed(ctx, s.certs, "licence", old.ID)
	} else if err != nil {
		return err
	}
	defer release()

	var cur struct {
		Rev int `bson:"rev"`
	}
	err = s.certs.FindOne(ctx, bson.D{{Key: "_id", Value: old.ID}}, options.FindOne().SetProjection(bson.D{{Key: "rev", Value: 1}})).Decode(&cur)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return apperr.NotFoundf("licence %s not found", old.ID)
	case err != nil:
		return wrap("supersede licence", err)
	case cur.Rev != prevRev:
		return apperr.Conflictf("licence %s was changed by someone else; read it again", old.ID)
	}

	intent, err := s.writeIntent(ctx, old.Lineage, old.ID, prevRev, next.ID)
	if err != nil {
		return err
	}
	if _, err := s.certs.InsertOne(ctx, toCertDoc(&next)); mongo.IsDuplicateKeyError(err) {
		// Perhaps a crashed supersession left version n+1 behind: finish
		// it now rather than wait for Repair, then report the conflict.
		if _, err := s.repairLineage(ctx, old.Lineage, old.ID); err == nil {
			s.dropIntent(ctx, intent)
		}
		return apperr.Conflictf("version %d of licence %s exists already; read it again", next.Version, old.Lineage)
	} else if err != nil {
		return wrap("insert new licence version", err)
	}

	old.Current, old.Successor = false, next.ID
	if !old.State.Final() {
		old.State = certificate.Superseded
	}
	if err := s.setCert(ctx, &old, prevRev); err != nil {
		return err
	}
	s.dropIntent(ctx, intent)
	return nil
}

// DueForExpiry implements certificate.Repository, earliest end of
// validity first. today's date (in its own location) is compared with the
// stored dates, which are midnight UTC. Only licences still due carry
// dueOn (certdocs.go), so the range on the dueOn_id index reads those and
// no licence that expired or was superseded before.
func (s *Store) DueForExpiry(ctx context.Context, today time.Time, limit int) ([]certificate.Certificate, error) {
	if limit == 0 {
		return []certificate.Certificate{}, nil
	}
	y, m, d := today.Date()
	filter := bson.D{{Key: "dueOn", Value: bson.D{{Key: "$lt", Value: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}}}}
	opts := options.Find().SetSort(bson.D{{Key: "dueOn", Value: 1}, {Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	ds, err := s.findCerts(ctx, "list licences due for expiry", filter, opts)
	return toCerts(ds), err
}

// Repair implements certificate.Repository. It visits the pending
// supersession intents older than intentGrace (intents.go), finishing the
// supersessions a crash interrupted, and removes claims left stale by
// crashed updaters. The count is of licence versions fixed; removed
// claims and intents are not counted, as they hold no data.
func (s *Store) Repair(ctx context.Context) (int, error) {
	if err := s.removeStaleClaims(ctx); err != nil {
		return 0, err
	}
	return s.repairIntents(ctx)
}

// repairLineage marks every current version of lineage but the newest as
// superseded by the version after it, each under a claim at its rev
// except held, whose claim the caller holds. A version claimed by someone
// else is left for a later run.
func (s *Store) repairLineage(ctx context.Context, lineage, held string) (int, error) {
	vs, err := s.findCerts(ctx, "repair licence versions", bson.D{{Key: "lineage", Value: lineage}},
		options.Find().SetSort(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return 0, err
	}
	newest := -1
	for i := range vs {
		if vs[i].Current {
			newest = i
		}
	}
	fixed := 0
	for i := 0; i < newest; i++ {
		if !vs[i].Current {
			continue
		}
		c := vs[i].certificate()
		c.Current, c.Successor = false, vs[i+1].ID
		if !c.State.Final() {
			c.State = certificate.Superseded
		}
		err := s.repairVersion(ctx, &c, held)
		switch {
		case err == nil:
			fixed++
		case errors.Is(err, errClaimed), errors.Is(err, apperr.ErrConflict), errors.Is(err, apperr.ErrNotFound):
			// Being changed right now; a later run looks again.
		default:
			return fixed, fmt.Errorf("repair licence %s: %w", c.ID, err)
		}
	}
	return fixed, nil
}

func (s *Store) repairVersion(ctx context.Context, c *certificate.Certificate, held string) error {
	if c.ID != held {
		release, err := s.claim(ctx, certsColl, c.ID, c.Rev)
		if err != nil {
			return err
		}
		defer release()
	}
	return s.setCert(ctx, c, c.Rev)
}

// removeStaleClaims deletes claims older than claimStaleAfter, each only
// if it is still the same claim (as claim does).
func (s *Store) removeStaleClaims(ctx context.Context) error {
	cur, err := s.claims.Find(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: time.Now().Add(-claimStaleAfter)}}}})
	if err != nil {
		return wrap("find stale claims", err)
	}
	var stale []claimDoc
	if err := cur.All(ctx, &stale); err != nil {
		return wrap("find stale claims", err)
	}
	for _, c := range stale {
		if _, err := s.claims.DeleteOne(ctx, bson.D{{Key: "_id", Value: c.ID}, {Key: "at", Value: c.At}}); err != nil {
			return wrap("remove stale claim", err)
		}
	}
	return nil
}

// IssueStats implements certificate.Repository: one $group for all
// versions issued in the period and one for the late ones ($sum of a
// condition is not available on FerretDB).
func (s *Store) IssueStats(ctx context.Context, from, to time.Time) (map[string]certificate.IssueStat, error) {
	count := func(extra bson.D) (map[string]int, error) {
		match := append(bson.D{{Key: "issuedAt", Value: bson.D{{Key: "$gte", Value: from.UTC()}, {Key: "$lt", Value: to.UTC()}}}}, extra...)
		cur, err := s.certs.Aggregate(ctx, mongo.Pipeline{
			{{Key: "$match", Value: match}},
			{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$issuerCode"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		})
		if err != nil {
			return nil, wrap("issue statistics", err)
		}
		var groups []struct {
			ID string `bson:"_id"`
			N  int    `bson:"n"`
		}
		if err := cur.All(ctx, &groups); err != nil {
			return nil, wrap("issue statistics", err)
		}
		out := map[string]int{}
		for _, g := range groups {
			out[g.ID] = g.N
		}
		return out, nil
	}
	all, err := count(nil)
	if err != nil {
		return nil, err
	}
	late, err := count(bson.D{{Key: "timeliness.late", Value: true}})
	if err != nil {
		return nil, err
	}
	out := map[string]certificate.IssueStat{}
	for code, n := range all {
		out[code] = certificate.IssueStat{Issued: n, Late: late[code]}
	}
	return out, nil
}
