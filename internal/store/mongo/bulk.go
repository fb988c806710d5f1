package mongo

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/bulk"
)

var _ bulk.Repository = (*Store)(nil)

// bulkColl holds bulk analysis requests, with the request id as _id.
const bulkColl = "bulk_requests"

type bulkFilterDoc struct {
	Types      []string   `bson:"types"`
	Issuers    []string   `bson:"issuers"`
	States     []string   `bson:"states"`
	IssuedFrom *time.Time `bson:"issuedFrom,omitempty"`
	IssuedTo   *time.Time `bson:"issuedTo,omitempty"`
}

// bulkDoc is a document of the bulk_requests collection.
type bulkDoc struct {
	ID           string        `bson:"_id"`
	State        string        `bson:"state"`
	Purpose      string        `bson:"purpose"`
	GroupBy      []string      `bson:"groupBy"`
	Filter       bulkFilterDoc `bson:"filter"`
	RequestedBy  string        `bson:"requestedBy"`
	RequesterOrg string        `bson:"requesterOrg"`
	DecidedBy    string        `bson:"decidedBy"`
	Comment      string        `bson:"comment"`
	ValidUntil   *time.Time    `bson:"validUntil"`
	RunsLeft     int           `bson:"runsLeft"`
	MaxRuns      int           `bson:"maxRuns"`
	ValidDays    int           `bson:"validDays"`
	CreatedAt    time.Time     `bson:"createdAt"`
	DecidedAt    *time.Time    `bson:"decidedAt"`
	Rev          int           `bson:"rev"`
}

func toBulkDoc(r bulk.Request) bulkDoc {
	g := make([]string, len(r.GroupBy))
	for i, d := range r.GroupBy {
		g[i] = string(d)
	}
	return bulkDoc{ID: r.ID, State: string(r.State), Purpose: r.Purpose, GroupBy: g,
		Filter: bulkFilterDoc{Types: nonNil(r.Filter.Types), Issuers: nonNil(r.Filter.Issuers), States: nonNil(r.Filter.States),
			IssuedFrom: utcPtr(r.Filter.IssuedFrom), IssuedTo: utcPtr(r.Filter.IssuedTo)},
		RequestedBy: r.RequestedBy, RequesterOrg: r.RequesterOrg, DecidedBy: r.DecidedBy, Comment: r.Comment,
		ValidUntil: utcPtr(r.ValidUntil), RunsLeft: r.RunsLeft, MaxRuns: r.MaxRuns, ValidDays: r.ValidDays,
		CreatedAt: r.CreatedAt.UTC(), DecidedAt: utcPtr(r.DecidedAt), Rev: r.Rev}
}

func emptyNil(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

func (d bulkDoc) request() bulk.Request {
	g := make([]bulk.Dimension, len(d.GroupBy))
	for i, x := range d.GroupBy {
		g[i] = bulk.Dimension(x)
	}
	return bulk.Request{ID: d.ID, State: bulk.State(d.State), Purpose: d.Purpose, GroupBy: g,
		Filter: bulk.Filter{Types: emptyNil(d.Filter.Types), Issuers: emptyNil(d.Filter.Issuers), States: emptyNil(d.Filter.States),
			IssuedFrom: utcPtr(d.Filter.IssuedFrom), IssuedTo: utcPtr(d.Filter.IssuedTo)},
		RequestedBy: d.RequestedBy, RequesterOrg: d.RequesterOrg, DecidedBy: d.DecidedBy, Comment: d.Comment,
		ValidUntil: utcPtr(d.ValidUntil), RunsLeft: d.RunsLeft, MaxRuns: d.MaxRuns, ValidDays: d.ValidDays,
		CreatedAt: d.CreatedAt.UTC(), DecidedAt: utcPtr(d.DecidedAt), Rev: d.Rev}
}

func (s *Store) bulkRequests() *mongo.Collection { return s.db.Collection(bulkColl) }

// CreateBulkRequest implements bulk.Repository.
func (s *Store) CreateBulkRequest(ctx context.Context, r bulk.Request) error {
	d := toBulkDoc(r)
	d.Rev = 1
	_, err := s.bulkRequests().InsertOne(ctx, d)
	if mongo.IsDuplicateKeyError(err) {
		return apperr.Conflictf("bulk analysis %s exists already", r.ID)
	}
	if err != nil {
		return wrap("create bulk request", err)
	}
	return nil
}

// GetBulkRequest implements bulk.Repository.
func (s *Store) GetBulkRequest(ctx context.Context, id string) (bulk.Request, error) {
	d, err := get[bulkDoc](ctx, s.bulkRequests(), "bulk analysis", id)
	return d.request(), err
}

// ListBulkRequests implements bulk.Repository.
func (s *Store) ListBulkRequests(ctx context.Context, state bulk.State) ([]bulk.Request, error) {
	filter := bson.D{}
	if state != "" {
		filter = bson.D{{Key: "state", Value: string(state)}}
	}
	cur, err := s.bulkRequests().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(bulk.MaxList))
	if err != nil {
		return nil, wrap("list bulk requests", err)
	}
	var ds []bulkDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list bulk requests", err)
	}
	out := make([]bulk.Request, len(ds))
	for i, d := range ds {
		out[i] = d.request()
	}
	return out, nil
}

// UpdateBulkRequest implements bulk.Repository. The claim (claims.go)
// makes the revision check atomic on FerretDB too: of concurrent updates
// from one revision only one inserts the claim.
func (s *Store) UpdateBulkRequest(ctx context.Context, r bulk.Request, prevRev int) error {
	release, err := s.claim(ctx, bulkColl, r.ID, prevRev)
	if errors.Is(err, errClaimed) {
		if _, err := s.GetBulkRequest(ctx, r.ID); err != nil {
			return err
		}
		return apperr.Conflictf("bulk analysis %s was changed meanwhile", r.ID)
	} else if err != nil {
		return err
	}
	defer release()
	d := toBulkDoc(r)
	res, err := s.bulkRequests().UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}, {Key: "rev", Value: prevRev}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "state", Value: d.State}, {Key: "decidedBy", Value: d.DecidedBy}, {Key: "comment", Value: d.Comment},
			{Key: "validUntil", Value: d.ValidUntil}, {Key: "runsLeft", Value: d.RunsLeft}, {Key: "decidedAt", Value: d.DecidedAt},
			{Key: "rev", Value: prevRev + 1},
		}}})
	if err != nil {
		return wrap("update bulk request", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	if _, err := s.GetBulkRequest(ctx, r.ID); err != nil {
		return err
	}
	return apperr.Conflictf("bulk analysis %s was changed meanwhile", r.ID)
}

// bulkField is the certificates field of a dimension; ISSUE_MONTH has
// none (it is computed from issuedAt).
var bulkField = map[bulk.Dimension]string{
	bulk.Type: "typeCode", bulk.Issuer: "issuerCode", bulk.StateDim: "state", bulk.HolderKind: "holderKind",
}

// bulkMatch selects the current versions a filter names; user strings
// are only ever $in elements.
func bulkMatch(f bulk.Filter) bson.D {
	m := bson.D{{Key: "current", Value: true}}
	for _, p := range []struct {
		field string
		xs    []string
	}{{"typeCode", f.Types}, {"issuerCode", f.Issuers}, {"state", f.States}} {
		if len(p.xs) > 0 {
			m = append(m, bson.E{Key: p.field, Value: bson.D{{Key: "$in", Value: p.xs}}})
		}
	}
	from, to := f.Bounds()
	var r bson.D
	if from != nil {
		r = append(r, bson.E{Key: "$gte", Value: *from})
	}
	if to != nil {
		r = append(r, bson.E{Key: "$lt", Value: *to})
	}
	if r != nil {
		m = append(m, bson.E{Key: "issuedAt", Value: r})
	}
	return m
}

// Aggregate implements bulk.Repository. Without ISSUE_MONTH it is one
// $match/$group pipeline ($sum only, which FerretDB v1 supports). With
// ISSUE_MONTH — FerretDB v1 has no $dateToString or date operators in
// $group — it streams only the five projected fields of the matching
// current versions and counts in Go: correct on both servers, but the
// work is proportional to the matching licences, not the groups.
func (s *Store) Aggregate(ctx context.Context, groupBy []bulk.Dimension, f bulk.Filter) ([]bulk.Row, error) {
	if len(groupBy) == 0 {
		return nil, apperr.Invalid("group by at least one dimension")
	}
	for _, d := range groupBy {
		if _, ok := bulkField[d]; !ok && d != bulk.IssueMonth {
			return nil, apperr.Invalid("unknown dimension %q", d)
		}
	}
	for _, d := range groupBy {
		if d == bulk.IssueMonth {
			return s.aggregateInGo(ctx, groupBy, f)
		}
	}
	id := bson.D{}
	for _, d := range groupBy {
		id = append(id, bson.E{Key: string(d), Value: "$" + bulkField[d]})
	}
	cur, err := s.certs.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bulkMatch(f)}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: id}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, wrap("aggregate licences", err)
	}
	defer cur.Close(ctx)
	out := []bulk.Row{}
	for cur.Next(ctx) {
		var g struct {
			ID bson.M `bson:"_id"`
			N  int    `bson:"n"`
		}
		if err := cur.Decode(&g); err != nil {
			return nil, wrap("aggregate licences", err)
		}
		key := make(map[string]any, len(groupBy))
		for _, d := range groupBy {
			v, _ := g.ID[string(d)].(string)
			key[string(d)] = v
		}
		out = append(out, bulk.Row{Key: key, Count: g.N})
	}
	if err := cur.Err(); err != nil {
		return nil, wrap("aggregate licences", err)
	}
	return out, nil
}

func (s *Store) aggregateInGo(ctx context.Context, groupBy []bulk.Dimension, f bulk.Filter) ([]bulk.Row, error) {
	proj := bson.D{{Key: "_id", Value: 0}, {Key: "issuedAt", Value: 1}}
	for _, d := range groupBy {
		if fld, ok := bulkField[d]; ok {
			proj = append(proj, bson.E{Key: fld, Value: 1})
		}
	}
	cur, err := s.certs.Find(ctx, bulkMatch(f), options.Find().SetProjection(proj).SetBatchSize(5000))
	if err != nil {
		return nil, wrap("aggregate licences", err)
	}
	defer cur.Close(ctx)
	counts := map[string]*bulk.Row{}
	var order []string
	vals := make([]string, len(groupBy))
	for cur.Next(ctx) {
		var d struct {
			TypeCode   string    `bson:"typeCode"`
			IssuerCode string    `bson:"issuerCode"`
			State      string    `bson:"state"`
			HolderKind string    `bson:"holderKind"`
			IssuedAt   time.Time `bson:"issuedAt"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, wrap("aggregate licences", err)
		}
		for i, dim := range groupBy {
			switch dim {
			case bulk.Type:
				vals[i] = d.TypeCode
			case bulk.Issuer:
				vals[i] = d.IssuerCode
			case bulk.StateDim:
				vals[i] = d.State
			case bulk.HolderKind:
				vals[i] = d.HolderKind
			case bulk.IssueMonth:
				vals[i] = bulk.Month(d.IssuedAt)
			}
		}
		k := strings.Join(vals, "\x00")
		row, ok := counts[k]
		if !ok {
			key := make(map[string]any, len(groupBy))
			for i, dim := range groupBy {
				key[string(dim)] = vals[i]
			}
			row = &bulk.Row{Key: key}
			counts[k] = row
			order = append(order, k)
		}
		row.Count++
	}
	if err := cur.Err(); err != nil {
		return nil, wrap("aggregate licences", err)
	}
	out := make([]bulk.Row, 0, len(order))
	for _, k := range order {
		out = append(out, *counts[k])
	}
	return out, nil
}
