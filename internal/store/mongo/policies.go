package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/policyadmin"
)

var _ policyadmin.Repository = (*Store)(nil)

// Policy versions live in policy_versions with the version number as _id;
// they are never changed or deleted.
//
// The active-version pointer is the collection policy_active_revs: one
// document per move of the pointer, _id = the pointer's revision (1, 2,
// ...), naming the version it points at. The pointer is the document with
// the highest _id. Moving it from revision r inserts revision r+1, and
// inserting a document whose _id exists fails, atomically, on MongoDB and
// on FerretDB alike (whose conditional updates and $inc are not atomic,
// see claims.go): of concurrent moves from one revision exactly one
// inserts r+1 and the others get CONFLICT. The move is that one insert,
// so no crash can leave the pointer half moved, and the documents are the
// pointer's history.

// policyModuleDoc is one module of a policyVersionDoc.
type policyModuleDoc struct {
	Path string `bson:"path"`
	Rego string `bson:"rego"`
}

// policyVersionDoc is a document of the policy_versions collection.
type policyVersionDoc struct {
	Version     int64             `bson:"_id"`
	Modules     []policyModuleDoc `bson:"modules"`
	Message     string            `bson:"message"`
	Author      string            `bson:"author"`
	PublishedAt time.Time         `bson:"publishedAt"`
	TestsPassed int64             `bson:"testsPassed"`
}

func (d policyVersionDoc) version() policyadmin.Version {
	mods := make([]authz.Module, len(d.Modules))
	for i, m := range d.Modules {
		mods[i] = authz.Module{Path: m.Path, Rego: m.Rego}
	}
	return policyadmin.Version{Version: int(d.Version), Modules: mods, Message: d.Message, Author: d.Author,
		PublishedAt: d.PublishedAt.UTC(), TestsPassed: int(d.TestsPassed)}
}

// policyRevDoc is a document of the policy_active_revs collection.
type policyRevDoc struct {
	Rev     int64     `bson:"_id"`
	Version int64     `bson:"version"`
	At      time.Time `bson:"at"`
}

// InsertPolicy implements policyadmin.Repository.
func (s *Store) InsertPolicy(ctx context.Context, v policyadmin.Version) error {
	mods := make([]policyModuleDoc, len(v.Modules))
	for i, m := range v.Modules {
		mods[i] = policyModuleDoc{Path: m.Path, Rego: m.Rego}
	}
	_, err := s.policyVersions.InsertOne(ctx, policyVersionDoc{Version: int64(v.Version), Modules: mods,
		Message: v.Message, Author: v.Author, PublishedAt: v.PublishedAt.UTC(), TestsPassed: int64(v.TestsPassed)})
	switch {
	case err == nil:
		return nil
	case mongo.IsDuplicateKeyError(err):
		return apperr.Conflictf("policy version %d already exists", v.Version)
	}
	return wrap("insert policy version", err)
}

// PolicyVersions implements policyadmin.Repository.
func (s *Store) PolicyVersions(ctx context.Context) ([]policyadmin.Version, error) {
	return list(ctx, s.policyVersions, "policy versions", policyVersionDoc.version)
}

// PolicyVersion implements policyadmin.Repository.
func (s *Store) PolicyVersion(ctx context.Context, version int) (policyadmin.Version, error) {
	var d policyVersionDoc
	err := s.policyVersions.FindOne(ctx, bson.D{{Key: "_id", Value: int64(version)}}).Decode(&d)
	switch {
	case err == nil:
		return d.version(), nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return policyadmin.Version{}, apperr.NotFoundf("policy version %d not found", version)
	}
	return policyadmin.Version{}, wrap("get policy version", err)
}

// ActivePolicy implements policyadmin.Repository: the revision with the
// highest _id.
func (s *Store) ActivePolicy(ctx context.Context) (version, rev int, err error) {
	var d policyRevDoc
	err = s.policyRevs.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&d)
	switch {
	case err == nil:
		return int(d.Version), int(d.Rev), nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return 0, 0, apperr.NotFoundf("no active policy")
	}
	return 0, 0, wrap("read active policy", err)
}

// SetActivePolicy implements policyadmin.Repository by inserting revision
// prevRev+1. Checking first that prevRev is the latest revision keeps the
// revisions gapless: a move from a revision ahead of the pointer would
// otherwise succeed.
func (s *Store) SetActivePolicy(ctx context.Context, version, prevRev int) error {
	n, err := s.policyVersions.CountDocuments(ctx, bson.D{{Key: "_id", Value: int64(version)}}, options.Count().SetLimit(1))
	if err != nil {
		return wrap("set active policy", err)
	}
	if n == 0 {
		return apperr.NotFoundf("policy version %d not found", version)
	}
	_, rev, err := s.ActivePolicy(ctx)
	if err != nil && !apperr.CodeIs(err, apperr.NotFound) {
		return err
	}
	if rev != prevRev {
		return policyPointerMoved(prevRev)
	}
	_, err = s.policyRevs.InsertOne(ctx, policyRevDoc{Rev: int64(prevRev) + 1, Version: int64(version), At: time.Now().UTC()})
	switch {
	case err == nil:
		return nil
	case mongo.IsDuplicateKeyError(err):
		return policyPointerMoved(prevRev)
	}
	return wrap("set active policy", err)
}

func policyPointerMoved(prevRev int) error {
	if prevRev == 0 {
		return apperr.Conflictf("the active policy pointer exists already")
	}
	return apperr.Conflictf("the active policy was changed by someone else; read it again")
}
