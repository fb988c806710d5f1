package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/catalogue"
)

var _ catalogue.Repository = (*Store)(nil)

// CreateUnit implements catalogue.Repository.
func (s *Store) CreateUnit(ctx context.Context, u catalogue.Unit) error {
	return insert(ctx, s.units, "unit", u.Code, toUnitDoc(u))
}

// UpdateUnit implements catalogue.Repository.
func (s *Store) UpdateUnit(ctx context.Context, u catalogue.Unit, prevVersion int) error {
	return s.replace(ctx, s.units, "unit", u.Code, prevVersion, toUnitDoc(u))
}

// GetUnit implements catalogue.Repository.
func (s *Store) GetUnit(ctx context.Context, code string) (catalogue.Unit, error) {
	d, err := get[unitDoc](ctx, s.units, "unit", code)
	return d.unit(), err
}

// ListUnits implements catalogue.Repository.
func (s *Store) ListUnits(ctx context.Context) ([]catalogue.Unit, error) {
	return list(ctx, s.units, "units", unitDoc.unit)
}

// CreateType implements catalogue.Repository.
func (s *Store) CreateType(ctx context.Context, t catalogue.CertificateType) error {
	return insert(ctx, s.types, "certificate type", t.Code, toTypeDoc(t))
}

// UpdateType implements catalogue.Repository.
func (s *Store) UpdateType(ctx context.Context, t catalogue.CertificateType, prevVersion int) error {
	return s.replace(ctx, s.types, "certificate type", t.Code, prevVersion, toTypeDoc(t))
}

// GetType implements catalogue.Repository.
func (s *Store) GetType(ctx context.Context, code string) (catalogue.CertificateType, error) {
	d, err := get[typeDoc](ctx, s.types, "certificate type", code)
	return d.certificateType(), err
}

// ListTypes implements catalogue.Repository.
func (s *Store) ListTypes(ctx context.Context) ([]catalogue.CertificateType, error) {
	return list(ctx, s.types, "certificate types", typeDoc.certificateType)
}

// CreateMatter implements catalogue.Repository.
func (s *Store) CreateMatter(ctx context.Context, m catalogue.Matter) error {
	return insert(ctx, s.matters, "matter", m.Code, toMatterDoc(m))
}

// UpdateMatter implements catalogue.Repository.
func (s *Store) UpdateMatter(ctx context.Context, m catalogue.Matter, prevVersion int) error {
	return s.replace(ctx, s.matters, "matter", m.Code, prevVersion, toMatterDoc(m))
}

// GetMatter implements catalogue.Repository.
func (s *Store) GetMatter(ctx context.Context, code string) (catalogue.Matter, error) {
	d, err := get[matterDoc](ctx, s.matters, "matter", code)
	return d.matter(), err
}

// ListMatters implements catalogue.Repository.
func (s *Store) ListMatters(ctx context.Context) ([]catalogue.Matter, error) {
	return list(ctx, s.matters, "matters", matterDoc.matter)
}

// insert inserts doc, whose _id is code; a duplicate _id is a CONFLICT.
func insert(ctx context.Context, c *mongo.Collection, what, code string, doc any) error {
	_, err := c.InsertOne(ctx, doc)
	switch {
	case err == nil:
		return nil
	case mongo.IsDuplicateKeyError(err):
		return apperr.Conflictf("%s %s already exists", what, code)
	}
	return wrap("create "+what, err)
}

// get reads the document whose _id is code; none is NOT_FOUND.
func get[D any](ctx context.Context, c *mongo.Collection, what, code string) (D, error) {
	var d D
	err := c.FindOne(ctx, bson.D{{Key: "_id", Value: code}}).Decode(&d)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return d, apperr.NotFoundf("%s %s not found", what, code)
	}
	return d, wrap("get "+what, err)
}

// list reads every document of c in code (_id) order.
func list[D, T any](ctx context.Context, c *mongo.Collection, what string, conv func(D) T) ([]T, error) {
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, wrap("list "+what, err)
	}
	var ds []D
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list "+what, err)
	}
	out := make([]T, len(ds))
	for i, d := range ds {
		out[i] = conv(d)
	}
	return out, nil
}

// replace replaces the document whose _id is code if its version is still
// prevVersion. Otherwise the entry is missing (NOT_FOUND) or another
// update came first (CONFLICT). The claim makes the version check atomic
// on FerretDB too (see claims.go).
func (s *Store) replace(ctx context.Context, c *mongo.Collection, what, code string, prevVersion int, doc any) error {
	release, err := s.claim(ctx, c.Name(), code, prevVersion)
	if errors.Is(err, errClaimed) {
		return s.updateFailed(ctx, c, what, code)
	} else if err != nil {
		return err
	}
	defer release()
	res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: code}, {Key: "version", Value: prevVersion}}, doc)
	if err != nil {
		return wrap("update "+what, err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	return s.updateFailed(ctx, c, what, code)
}

// updateFailed returns NOT_FOUND if the entry is missing, else CONFLICT.
func (s *Store) updateFailed(ctx context.Context, c *mongo.Collection, what, code string) error {
	n, err := c.CountDocuments(ctx, bson.D{{Key: "_id", Value: code}}, options.Count().SetLimit(1))
	switch {
	case err != nil:
		return wrap("update "+what, err)
	case n == 0:
		return apperr.NotFoundf("%s %s not found", what, code)
	}
	return apperr.Conflictf("%s %s was changed by someone else; read it again", what, code)
}

// AppendChange implements catalogue.Repository. A change whose (kind,
// code, version) is stored already is not stored again.
func (s *Store) AppendChange(ctx context.Context, c catalogue.Change) error {
	key := bson.D{{Key: "kind", Value: string(c.Kind)}, {Key: "code", Value: c.Code}, {Key: "version", Value: c.Version}}
	// A duplicate key on insert means either that the change is stored
	// (a retry raced us) or that the sequence number was handed out twice
	// (FerretDB's $inc is not atomic); only the first ends the loop.
	for range 10 {
		if n, err := s.changes.CountDocuments(ctx, key, options.Count().SetLimit(1)); err != nil {
			return wrap("append change", err)
		} else if n > 0 {
			return nil
		}
		seq, err := s.nextSeq(ctx, changesColl)
		if err != nil {
			return err
		}
		_, err = s.changes.InsertOne(ctx, toChangeDoc(c, seq))
		if err == nil {
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return wrap("append change", err)
		}
	}
	return fmt.Errorf("mongo store: append change %s %s v%d: no free sequence number after 10 tries", c.Kind, c.Code, c.Version)
}

// Changes implements catalogue.Repository, oldest (lowest seq) first.
func (s *Store) Changes(ctx context.Context, kind catalogue.EntityKind, code string) ([]catalogue.Change, error) {
	filter := bson.D{{Key: "kind", Value: string(kind)}}
	if code != "" {
		filter = append(filter, bson.E{Key: "code", Value: code})
	}
	cur, err := s.changes.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, wrap("list changes", err)
	}
	var ds []changeDoc
	if err := cur.All(ctx, &ds); err != nil {
		return nil, wrap("list changes", err)
	}
	out := make([]catalogue.Change, len(ds))
	for i, d := range ds {
		out[i] = d.change()
	}
	return out, nil
}

// nextSeq returns the next number of the named counter, starting at 1.
// Two first upserts can race to a duplicate key; the loser retries.
func (s *Store) nextSeq(ctx context.Context, name string) (int64, error) {
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	var d counterDoc
	var err error
	for range 2 {
		err = s.counters.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: name}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(1)}}}}, opts).Decode(&d)
		if err == nil {
			return d.Seq, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return 0, wrap("next "+name+" number", err)
}
