package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/cases"
	"certd/internal/certificate"
)

var _ cases.Repository = (*Store)(nil)

const casesColl = "cases"

// caseDoc is a document of the cases collection; _id is the case id.
type caseDoc struct {
	ID         string     `bson:"_id"`
	CaseNo     string     `bson:"caseNo"`
	UnitCode   string     `bson:"unitCode"`
	MatterCode string     `bson:"matterCode"`
	HolderCode string     `bson:"holderCode"`
	HolderName string     `bson:"holderName"`
	HolderKind string     `bson:"holderKind"`
	OpenedBy   string     `bson:"openedBy"`
	OpenedAt   time.Time  `bson:"openedAt"`
	ClosedAt   *time.Time `bson:"closedAt"`
	ClosedBy   string     `bson:"closedBy"`
}

func (d caseDoc) kase() cases.Case {
	c := cases.Case{ID: d.ID, CaseNo: d.CaseNo, UnitCode: d.UnitCode, MatterCode: d.MatterCode,
		Holder:   certificate.Holder{Code: d.HolderCode, Name: d.HolderName, Kind: certificate.HolderKind(d.HolderKind)},
		OpenedBy: d.OpenedBy, OpenedAt: d.OpenedAt.UTC(), ClosedBy: d.ClosedBy}
	if d.ClosedAt != nil {
		t := d.ClosedAt.UTC()
		c.ClosedAt = &t
	}
	return c
}

func (s *Store) cases() *mongo.Collection { return s.db.Collection(casesColl) }

// CreateCase implements cases.Repository; the unique unit_caseNo index
// refuses a second case with one number in one unit.
func (s *Store) CreateCase(ctx context.Context, c cases.Case) error {
	_, err := s.cases().InsertOne(ctx, caseDoc{ID: c.ID, CaseNo: c.CaseNo, UnitCode: c.UnitCode, MatterCode: c.MatterCode,
		HolderCode: c.Holder.Code, HolderName: c.Holder.Name, HolderKind: string(c.Holder.Kind), OpenedBy: c.OpenedBy, OpenedAt: c.OpenedAt.UTC()})
	if mongo.IsDuplicateKeyError(err) {
		return apperr.Conflictf("case %s already exists in unit %s", c.CaseNo, c.UnitCode)
	}
	if err != nil {
		return wrap("create case", err)
	}
	return nil
}

// GetCase implements cases.Repository.
func (s *Store) GetCase(ctx context.Context, id string) (cases.Case, error) {
	d, err := get[caseDoc](ctx, s.cases(), "case", id)
	return d.kase(), err
}

// CloseCase implements cases.Repository. The claim makes "close only if
// open" atomic on FerretDB too (see claims.go); a case is closed once.
func (s *Store) CloseCase(ctx context.Context, id string, at time.Time, by string) error {
	release, err := s.claim(ctx, casesColl, id, 0)
	if errors.Is(err, errClaimed) {
		if _, err := s.GetCase(ctx, id); err != nil {
			return err
		}
		return apperr.Conflictf("case %s is closed already", id)
	} else if err != nil {
		return err
	}
	defer release()
	res, err := s.cases().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "closedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "closedAt", Value: at.UTC()}, {Key: "closedBy", Value: by}}}})
	if err != nil {
		return wrap("close case", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	if _, err := s.GetCase(ctx, id); err != nil {
		return err
	}
	return apperr.Conflictf("case %s is closed already", id)
}

// ListCases implements cases.Repository.
func (s *Store) ListCases(ctx context.Context, unit string, openOnly bool, after *cases.Cursor, limit int) ([]cases.Case, error) {
	and := bson.A{bson.D{{Key: "unitCode", Value: unit}}}
	if openOnly {
		and = append(and, bson.D{{Key: "closedAt", Value: nil}})
	}
	if after != nil {
		at := after.OpenedAt.UTC()
		and = append(and, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "openedAt", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "openedAt", Value: at}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: after.ID}}}},
		}}})
	}
	cur, err := s.cases().Find(ctx, bson.D{{Key: "$and", Value: and}},
		options.Find().SetSort(bson.D{{Key: "openedAt", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, wrap("list cases", err)
	}
	var ds []caseDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list cases", err)
	}
	out := make([]cases.Case, len(ds))
	for i, d := range ds {
		out[i] = d.kase()
	}
	return out, nil
}
