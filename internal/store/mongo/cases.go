package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	// ApplicationID or WalkInReason say how the case was opened; ClosesAt
	// is when it closes by itself (absent on cases stored before).
	ApplicationID     string     `bson:"applicationId,omitempty"`
	WalkInReason      string     `bson:"walkInReason,omitempty"`
	ClosesAt          *time.Time `bson:"closesAt,omitempty"`
	HolderNameMatches *bool      `bson:"holderNameMatches,omitempty"`
}

func (d caseDoc) kase() cases.Case {
	c := cases.Case{ID: d.ID, CaseNo: d.CaseNo, UnitCode: d.UnitCode, MatterCode: d.MatterCode,
		Holder:   certificate.Holder{Code: d.HolderCode, Name: d.HolderName, Kind: certificate.HolderKind(d.HolderKind)},
		OpenedBy: d.OpenedBy, OpenedAt: d.OpenedAt.UTC(), ClosedBy: d.ClosedBy, ClosedAt: utcPtr(d.ClosedAt),
		ApplicationID: d.ApplicationID, WalkInReason: d.WalkInReason, ClosesAt: utcPtr(d.ClosesAt), HolderNameMatches: d.HolderNameMatches}
	return c
}

func (s *Store) cases() *mongo.Collection { return s.db.Collection(casesColl) }

// CreateCase implements cases.Repository; the unique unit_caseNo index
// refuses a second case with one number in one unit.
func (s *Store) CreateCase(ctx context.Context, c cases.Case) error {
	_, err := s.cases().InsertOne(ctx, caseDoc{ID: c.ID, CaseNo: c.CaseNo, UnitCode: c.UnitCode, MatterCode: c.MatterCode,
		HolderCode: c.Holder.Code, HolderName: c.Holder.Name, HolderKind: string(c.Holder.Kind), OpenedBy: c.OpenedBy, OpenedAt: c.OpenedAt.UTC(),
		ApplicationID: c.ApplicationID, WalkInReason: c.WalkInReason, ClosesAt: utcPtr(c.ClosesAt), HolderNameMatches: c.HolderNameMatches})
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
	c, err := s.GetCase(ctx, id)
	if err != nil {
		return err
	}
	res, err := s.cases().UpdateOne(ctx, bson.D{{Key: "unitCode", Value: c.UnitCode}, {Key: "_id", Value: id}, {Key: "closedAt", Value: nil}},
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
func (s *Store) ListCases(ctx context.Context, unit string, openOnly bool, now time.Time, after *cases.Cursor, limit int) ([]cases.Case, error) {
	and := bson.A{bson.D{{Key: "unitCode", Value: unit}}}
	if openOnly {
		// closesAt is absent on cases stored before cases closed by
		// themselves; {closesAt: null} matches those.
		and = append(and, bson.D{{Key: "closedAt", Value: nil}}, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "closesAt", Value: nil}},
			bson.D{{Key: "closesAt", Value: bson.D{{Key: "$gt", Value: now.UTC()}}}},
		}}})
	}
	if after != nil {
		at := after.OpenedAt.UTC()
		// The first bound starts the index scan at the cursor; the $or
		// is the keyset.
		and = append(and, bson.D{{Key: "openedAt", Value: bson.D{{Key: "$lte", Value: at}}}}, bson.D{{Key: "$or", Value: bson.A{
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

const paperColl = "paper_submissions"

// paperDoc is a document of paper_submissions; _id is random, the order
// within a case is by time.
type paperDoc struct {
	ID               string    `bson:"_id"`
	CaseID           string    `bson:"caseId"`
	UnitCode         string    `bson:"unitCode"`
	HolderCode       string    `bson:"holderCode"`
	TypeCode         string    `bson:"typeCode"`
	Reason           string    `bson:"reason"`
	At               time.Time `bson:"at"`
	By               string    `bson:"by"`
	DespiteAvailable bool      `bson:"despiteAvailable"`
}

func (d paperDoc) paper() cases.PaperSubmission {
	return cases.PaperSubmission{CaseID: d.CaseID, UnitCode: d.UnitCode, HolderCode: d.HolderCode, TypeCode: d.TypeCode,
		Reason: d.Reason, At: d.At.UTC(), By: d.By, DespiteAvailable: d.DespiteAvailable}
}

// AddPaperSubmission implements cases.Repository.
func (s *Store) AddPaperSubmission(ctx context.Context, p cases.PaperSubmission) error {
	var id [12]byte
	_, _ = rand.Read(id[:])
	_, err := s.db.Collection(paperColl).InsertOne(ctx, paperDoc{ID: hex.EncodeToString(id[:]), CaseID: p.CaseID, UnitCode: p.UnitCode,
		HolderCode: p.HolderCode, TypeCode: p.TypeCode, Reason: p.Reason, At: p.At.UTC(), By: p.By, DespiteAvailable: p.DespiteAvailable})
	if err != nil {
		return wrap("record paper submission", err)
	}
	return nil
}

func (s *Store) findPapers(ctx context.Context, filter bson.D) ([]cases.PaperSubmission, error) {
	cur, err := s.db.Collection(paperColl).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, wrap("list paper submissions", err)
	}
	var ds []paperDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list paper submissions", err)
	}
	out := make([]cases.PaperSubmission, len(ds))
	for i, d := range ds {
		out[i] = d.paper()
	}
	return out, nil
}

// PaperSubmissions implements cases.Repository.
func (s *Store) PaperSubmissions(ctx context.Context, caseID string) ([]cases.PaperSubmission, error) {
	return s.findPapers(ctx, bson.D{{Key: "caseId", Value: caseID}})
}

// UnitPaperSubmissions implements cases.Repository.
func (s *Store) UnitPaperSubmissions(ctx context.Context, unit string, from, to time.Time) ([]cases.PaperSubmission, error) {
	return s.findPapers(ctx, bson.D{{Key: "unitCode", Value: unit},
		{Key: "at", Value: bson.D{{Key: "$gte", Value: from.UTC()}, {Key: "$lt", Value: to.UTC()}}}})
}
