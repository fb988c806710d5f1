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

const applicationsColl = "applications"

// applicationDoc is a document of the applications collection; _id is the
// application id. Updates are conditioned on rev, through a claim (see
// claims.go).
type applicationDoc struct {
	ID          string     `bson:"_id"`
	HolderCode  string     `bson:"holderCode"`
	HolderName  string     `bson:"holderName"`
	HolderKind  string     `bson:"holderKind"`
	MatterCode  string     `bson:"matterCode"`
	UnitCode    string     `bson:"unitCode"`
	Note        string     `bson:"note"`
	SubmittedAt time.Time  `bson:"submittedAt"`
	SubmittedBy string     `bson:"submittedBy"`
	ExpiresAt   time.Time  `bson:"expiresAt"`
	State       string     `bson:"state"`
	CaseID      string     `bson:"caseId"`
	UpdatedAt   *time.Time `bson:"updatedAt"`
	Rev         int        `bson:"rev"`
}

func (d applicationDoc) application() cases.Application {
	a := cases.Application{ID: d.ID, Holder: certificate.Holder{Code: d.HolderCode, Name: d.HolderName, Kind: certificate.HolderKind(d.HolderKind)},
		MatterCode: d.MatterCode, UnitCode: d.UnitCode, Note: d.Note, SubmittedAt: d.SubmittedAt.UTC(), SubmittedBy: d.SubmittedBy,
		ExpiresAt: d.ExpiresAt.UTC(), State: cases.ApplicationState(d.State), CaseID: d.CaseID, Rev: d.Rev}
	if d.UpdatedAt != nil {
		t := d.UpdatedAt.UTC()
		a.UpdatedAt = &t
	}
	return a
}

func (s *Store) applications() *mongo.Collection { return s.db.Collection(applicationsColl) }

// CreateApplication implements cases.Repository.
func (s *Store) CreateApplication(ctx context.Context, a cases.Application) error {
	_, err := s.applications().InsertOne(ctx, applicationDoc{ID: a.ID, HolderCode: a.Holder.Code, HolderName: a.Holder.Name,
		HolderKind: string(a.Holder.Kind), MatterCode: a.MatterCode, UnitCode: a.UnitCode, Note: a.Note, SubmittedAt: a.SubmittedAt.UTC(),
		SubmittedBy: a.SubmittedBy, ExpiresAt: a.ExpiresAt.UTC(), State: string(a.State), CaseID: a.CaseID, UpdatedAt: utcPtr(a.UpdatedAt), Rev: a.Rev})
	if mongo.IsDuplicateKeyError(err) {
		return apperr.Conflictf("application %s exists already", a.ID)
	}
	if err != nil {
		return wrap("create application", err)
	}
	return nil
}

// GetApplication implements cases.Repository.
func (s *Store) GetApplication(ctx context.Context, id string) (cases.Application, error) {
	d, err := get[applicationDoc](ctx, s.applications(), "application", id)
	return d.application(), err
}

// UpdateApplication implements cases.Repository.
func (s *Store) UpdateApplication(ctx context.Context, a cases.Application, prevRev int) error {
	changed := func() error {
		if _, err := s.GetApplication(ctx, a.ID); err != nil {
			return err
		}
		return apperr.Conflictf("application %s was changed meanwhile", a.ID)
	}
	release, err := s.claim(ctx, applicationsColl, a.ID, prevRev)
	if errors.Is(err, errClaimed) {
		return changed()
	} else if err != nil {
		return err
	}
	defer release()
	res, err := s.applications().UpdateOne(ctx, bson.D{{Key: "_id", Value: a.ID}, {Key: "rev", Value: prevRev}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(a.State)}, {Key: "caseId", Value: a.CaseID},
			{Key: "updatedAt", Value: utcPtr(a.UpdatedAt)}, {Key: "rev", Value: prevRev + 1}}}})
	if err != nil {
		return wrap("update application", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	return changed()
}

// HolderApplications implements cases.Repository.
func (s *Store) HolderApplications(ctx context.Context, holderCode string, limit int) ([]cases.Application, error) {
	cur, err := s.applications().Find(ctx, bson.D{{Key: "holderCode", Value: bson.D{{Key: "$eq", Value: holderCode}}}},
		options.Find().SetSort(bson.D{{Key: "submittedAt", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, wrap("list applications", err)
	}
	var ds []applicationDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list applications", err)
	}
	out := make([]cases.Application, len(ds))
	for i, d := range ds {
		out[i] = d.application()
	}
	return out, nil
}
