package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/objection"
)

var _ objection.Repository = (*Store)(nil)

// objectionsColl holds objections to licence data, with the objection id
// as _id.
const objectionsColl = "objections"

// objectionDoc is a document of the objections collection.
type objectionDoc struct {
	ID            string     `bson:"_id"`
	CertificateID string     `bson:"certificateId"`
	IssuerCode    string     `bson:"issuerCode"`
	HolderCode    string     `bson:"holderCode"`
	CaseID        string     `bson:"caseId"`
	FiledBy       string     `bson:"filedBy"`
	FiledByOrg    string     `bson:"filedByOrg"`
	FiledRole     string     `bson:"filedRole"`
	Fields        []string   `bson:"fields"`
	Description   string     `bson:"description"`
	State         string     `bson:"state"`
	Resolution    string     `bson:"resolution"`
	CorrectedID   string     `bson:"correctedId"`
	FiledAt       time.Time  `bson:"filedAt"`
	ResolvedAt    *time.Time `bson:"resolvedAt"`
	ResolvedBy    string     `bson:"resolvedBy"`
	DueAt         time.Time  `bson:"dueAt"`
	Rev           int        `bson:"rev"`
}

func toObjectionDoc(o objection.Objection) objectionDoc {
	return objectionDoc{ID: o.ID, CertificateID: o.CertificateID, IssuerCode: o.IssuerCode, HolderCode: o.HolderCode,
		CaseID: o.CaseID, FiledBy: o.FiledBy, FiledByOrg: o.FiledByOrg, FiledRole: o.FiledRole, Fields: nonNil(o.Fields),
		Description: o.Description, State: string(o.State), Resolution: o.Resolution, CorrectedID: o.CorrectedID,
		FiledAt: o.FiledAt.UTC(), ResolvedAt: utcPtr(o.ResolvedAt), ResolvedBy: o.ResolvedBy, DueAt: o.DueAt.UTC(), Rev: o.Rev}
}

func (d objectionDoc) objection() objection.Objection {
	return objection.Objection{ID: d.ID, CertificateID: d.CertificateID, IssuerCode: d.IssuerCode, HolderCode: d.HolderCode,
		CaseID: d.CaseID, FiledBy: d.FiledBy, FiledByOrg: d.FiledByOrg, FiledRole: d.FiledRole, Fields: nonNil(d.Fields),
		Description: d.Description, State: objection.State(d.State), Resolution: d.Resolution, CorrectedID: d.CorrectedID,
		FiledAt: d.FiledAt.UTC(), ResolvedAt: utcPtr(d.ResolvedAt), ResolvedBy: d.ResolvedBy, DueAt: d.DueAt.UTC(), Rev: d.Rev}
}

func (s *Store) objections() *mongo.Collection { return s.db.Collection(objectionsColl) }

// CreateObjection implements objection.Repository.
func (s *Store) CreateObjection(ctx context.Context, o objection.Objection) error {
	d := toObjectionDoc(o)
	d.Rev = 1
	_, err := s.objections().InsertOne(ctx, d)
	if mongo.IsDuplicateKeyError(err) {
		return apperr.Conflictf("objection %s exists already", o.ID)
	}
	if err != nil {
		return wrap("create objection", err)
	}
	return nil
}

// GetObjection implements objection.Repository.
func (s *Store) GetObjection(ctx context.Context, id string) (objection.Objection, error) {
	d, err := get[objectionDoc](ctx, s.objections(), "objection", id)
	return d.objection(), err
}

// ListObjections implements objection.Repository. User strings are only
// ever field values (a string is never an operator).
func (s *Store) ListObjections(ctx context.Context, q objection.ObjectionQuery) ([]objection.Objection, error) {
	filter := bson.D{}
	for _, c := range []struct{ key, v string }{
		{"issuerCode", q.IssuerCode}, {"holderCode", q.HolderCode}, {"state", string(q.State)},
	} {
		if c.v != "" {
			filter = append(filter, bson.E{Key: c.key, Value: c.v})
		}
	}
	var r bson.D
	if q.FiledFrom != nil {
		r = append(r, bson.E{Key: "$gte", Value: q.FiledFrom.UTC()})
	}
	if q.FiledTo != nil {
		r = append(r, bson.E{Key: "$lt", Value: q.FiledTo.UTC()})
	}
	if r != nil {
		filter = append(filter, bson.E{Key: "filedAt", Value: r})
	}
	cur, err := s.objections().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "filedAt", Value: -1}, {Key: "_id", Value: -1}}))
	if err != nil {
		return nil, wrap("list objections", err)
	}
	var ds []objectionDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list objections", err)
	}
	out := make([]objection.Objection, len(ds))
	for i, d := range ds {
		out[i] = d.objection()
	}
	return out, nil
}

// UpdateObjection implements objection.Repository. The claim (claims.go)
// makes the revision check atomic on FerretDB too: of concurrent updates
// from one revision only one inserts the claim.
func (s *Store) UpdateObjection(ctx context.Context, o objection.Objection, prevRev int) error {
	release, err := s.claim(ctx, objectionsColl, o.ID, prevRev)
	if errors.Is(err, errClaimed) {
		if _, err := s.GetObjection(ctx, o.ID); err != nil {
			return err
		}
		return apperr.Conflictf("objection %s was changed meanwhile", o.ID)
	} else if err != nil {
		return err
	}
	defer release()
	d := toObjectionDoc(o)
	res, err := s.objections().UpdateOne(ctx, bson.D{{Key: "_id", Value: o.ID}, {Key: "rev", Value: prevRev}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "state", Value: d.State}, {Key: "resolution", Value: d.Resolution}, {Key: "correctedId", Value: d.CorrectedID},
			{Key: "resolvedAt", Value: d.ResolvedAt}, {Key: "resolvedBy", Value: d.ResolvedBy},
			{Key: "rev", Value: prevRev + 1},
		}}})
	if err != nil {
		return wrap("update objection", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	if _, err := s.GetObjection(ctx, o.ID); err != nil {
		return err
	}
	return apperr.Conflictf("objection %s was changed meanwhile", o.ID)
}
