package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/cases"
)

const walkInsColl = "walk_ins"

// walkInDoc is a document of walk_ins; _id is the walk-in's id, slot is
// unique (see cases.WalkIn).
type walkInDoc struct {
	ID         string    `bson:"_id"`
	Slot       string    `bson:"slot"`
	Alert      bool      `bson:"alert"`
	Day        string    `bson:"day"`
	At         time.Time `bson:"at"`
	Subject    string    `bson:"subject"`
	UnitCode   string    `bson:"unitCode"`
	CaseNo     string    `bson:"caseNo"`
	HolderCode string    `bson:"holderCode"`
	HolderName string    `bson:"holderName"`
	MatterCode string    `bson:"matterCode"`
	Reason     string    `bson:"reason"`
	Refusals   int       `bson:"refusals"`
}

func toWalkInDoc(w cases.WalkIn) walkInDoc {
	return walkInDoc{ID: w.ID, Slot: w.Slot, Alert: w.Alert, Day: w.Day, At: w.At.UTC(), Subject: w.Subject, UnitCode: w.UnitCode,
		CaseNo: w.CaseNo, HolderCode: w.HolderCode, HolderName: w.HolderName, MatterCode: w.MatterCode, Reason: w.Reason, Refusals: w.Refusals}
}

func (d walkInDoc) walkIn() cases.WalkIn {
	return cases.WalkIn{ID: d.ID, Slot: d.Slot, Alert: d.Alert, Day: d.Day, At: d.At.UTC(), Subject: d.Subject, UnitCode: d.UnitCode,
		CaseNo: d.CaseNo, HolderCode: d.HolderCode, HolderName: d.HolderName, MatterCode: d.MatterCode, Reason: d.Reason, Refusals: d.Refusals}
}

func (s *Store) walkIns() *mongo.Collection { return s.db.Collection(walkInsColl) }

// CountWalkIns implements cases.Repository.
func (s *Store) CountWalkIns(ctx context.Context, subject, day string) (int, error) {
	n, err := s.walkIns().CountDocuments(ctx, bson.D{{Key: "subject", Value: bson.D{{Key: "$eq", Value: subject}}},
		{Key: "day", Value: bson.D{{Key: "$eq", Value: day}}}, {Key: "alert", Value: false}})
	if err != nil {
		return 0, wrap("count walk-ins", err)
	}
	return int(n), nil
}

// AddWalkIn implements cases.Repository; the unique slot index refuses a
// slot taken.
func (s *Store) AddWalkIn(ctx context.Context, w cases.WalkIn) error {
	_, err := s.walkIns().InsertOne(ctx, toWalkInDoc(w))
	if mongo.IsDuplicateKeyError(err) {
		return apperr.Conflictf("walk-in slot %s is taken", w.Slot)
	}
	if err != nil {
		return wrap("add walk-in", err)
	}
	return nil
}

// RemoveWalkIn implements cases.Repository.
func (s *Store) RemoveWalkIn(ctx context.Context, id string) error {
	if _, err := s.walkIns().DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return wrap("remove walk-in", err)
	}
	return nil
}

// RecordWalkInAlert implements cases.Repository: the first refusal of a
// person's day inserts the alert (the unique slot index admits one); the
// others add one to it. FerretDB runs $inc as a read and a write, so
// concurrent refusals may count as one: Refusals is a lower bound there.
func (s *Store) RecordWalkInAlert(ctx context.Context, w cases.WalkIn) error {
	_, err := s.walkIns().InsertOne(ctx, toWalkInDoc(w))
	if err == nil {
		return nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return wrap("record walk-in alert", err)
	}
	_, err = s.walkIns().UpdateOne(ctx, bson.D{{Key: "slot", Value: bson.D{{Key: "$eq", Value: w.Slot}}}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "refusals", Value: 1}}}})
	if err != nil {
		return wrap("count a walk-in refusal", err)
	}
	return nil
}

// WalkIns implements cases.Repository.
func (s *Store) WalkIns(ctx context.Context, after *cases.Cursor, limit int) ([]cases.WalkIn, error) {
	filter := bson.D{}
	if after != nil {
		at := after.OpenedAt.UTC()
		filter = bson.D{{Key: "at", Value: bson.D{{Key: "$lte", Value: at}}}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "at", Value: at}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: after.ID}}}},
		}}}
	}
	cur, err := s.walkIns().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, wrap("list walk-ins", err)
	}
	var ds []walkInDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list walk-ins", err)
	}
	out := make([]cases.WalkIn, len(ds))
	for i, d := range ds {
		out[i] = d.walkIn()
	}
	return out, nil
}
