package mongo

import (
	"context"
	"errors"
	"strconv"
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
// their modules never change, their state does (PROPOSED, then ACTIVE and
// SUPERSEDED, or REJECTED).
//
// The active-version pointer is the collection policy_active_revs: one
// document per move of the pointer, _id = the pointer's revision (1, 2,
// ...), naming the version it points at, who approved it and when. The
// pointer is the document with the highest _id. Moving it from revision r
// inserts revision r+1, and inserting a document whose _id exists fails,
// atomically, on MongoDB and on FerretDB alike (whose conditional updates
// and $inc are not atomic, see claims.go): of concurrent moves from one
// revision exactly one inserts r+1 and the others get CONFLICT. The
// documents are the pointer's history.
//
// There are no transactions, so an approval is these steps, each safe to
// repeat, under a claim on the version (claims.go) that also keeps a
// rejection of the same version out:
//
//  1. the version must be PROPOSED and the pointer at revision r;
//  2. the intent: the version gets activating {rev: r+1, by, at};
//  3. the decision: insert revision r+1 naming the version (a duplicate
//     _id means another approval won: the intent is removed, CONFLICT);
//  4. the version becomes ACTIVE with its approver, the intent goes, and
//     the version revision r named becomes SUPERSEDED.
//
// A crash between 3 and 4 leaves a version with an intent whose revision
// names it, or an ACTIVE version the pointer no longer names. Every read
// settles such a version against the pointer (settle) and writes the
// settled state back: only versions with an intent or a stale state are
// looked at, never the whole history.

// policyModuleDoc is one module of a policyVersionDoc.
type policyModuleDoc struct {
	Path string `bson:"path"`
	Rego string `bson:"rego"`
}

// activationDoc is the intent of an approval in progress.
type activationDoc struct {
	Rev int64     `bson:"rev"`
	By  string    `bson:"by"`
	At  time.Time `bson:"at"`
}

// policyVersionDoc is a document of the policy_versions collection.
// Versions stored before approvals existed have no state: the one the
// pointer names is ACTIVE, the others SUPERSEDED.
type policyVersionDoc struct {
	Version      int64             `bson:"_id"`
	Modules      []policyModuleDoc `bson:"modules"`
	Message      string            `bson:"message"`
	Author       string            `bson:"author"`
	PublishedAt  time.Time         `bson:"publishedAt"`
	TestsPassed  int64             `bson:"testsPassed"`
	State        string            `bson:"state,omitempty"`
	BasedOn      int64             `bson:"basedOn"`
	RollbackOf   int64             `bson:"rollbackOf"`
	ApprovedBy   string            `bson:"approvedBy,omitempty"`
	ApprovedAt   *time.Time        `bson:"approvedAt,omitempty"`
	RejectedBy   string            `bson:"rejectedBy,omitempty"`
	RejectedAt   *time.Time        `bson:"rejectedAt,omitempty"`
	RejectReason string            `bson:"rejectReason,omitempty"`
	Activating   *activationDoc    `bson:"activating,omitempty"`
}

func (d policyVersionDoc) version() policyadmin.Version {
	mods := make([]authz.Module, len(d.Modules))
	for i, m := range d.Modules {
		mods[i] = authz.Module{Path: m.Path, Rego: m.Rego}
	}
	return policyadmin.Version{Version: int(d.Version), Modules: mods, Message: d.Message, Author: d.Author,
		PublishedAt: d.PublishedAt.UTC(), TestsPassed: int(d.TestsPassed), State: policyadmin.State(d.State),
		BasedOn: int(d.BasedOn), RollbackOf: int(d.RollbackOf),
		ApprovedBy: d.ApprovedBy, ApprovedAt: utcPtr(d.ApprovedAt),
		RejectedBy: d.RejectedBy, RejectedAt: utcPtr(d.RejectedAt), RejectReason: d.RejectReason}
}

// policyRevDoc is a document of the policy_active_revs collection. Prev is
// the version the previous revision named (0 for the first); By and At say
// who approved the move and when (revisions stored before approvals
// existed have no By).
type policyRevDoc struct {
	Rev     int64     `bson:"_id"`
	Version int64     `bson:"version"`
	Prev    int64     `bson:"prev"`
	By      string    `bson:"by,omitempty"`
	At      time.Time `bson:"at"`
}

// InsertPolicy implements policyadmin.Repository.
func (s *Store) InsertPolicy(ctx context.Context, v policyadmin.Version) error {
	mods := make([]policyModuleDoc, len(v.Modules))
	for i, m := range v.Modules {
		mods[i] = policyModuleDoc{Path: m.Path, Rego: m.Rego}
	}
	_, err := s.policyVersions.InsertOne(ctx, policyVersionDoc{Version: int64(v.Version), Modules: mods,
		Message: v.Message, Author: v.Author, PublishedAt: v.PublishedAt.UTC(), TestsPassed: int64(v.TestsPassed),
		State: string(v.State), BasedOn: int64(v.BasedOn), RollbackOf: int64(v.RollbackOf),
		ApprovedBy: v.ApprovedBy, ApprovedAt: utcPtr(v.ApprovedAt),
		RejectedBy: v.RejectedBy, RejectedAt: utcPtr(v.RejectedAt), RejectReason: v.RejectReason})
	switch {
	case err == nil:
		return nil
	case mongo.IsDuplicateKeyError(err):
		return apperr.Conflictf("policy version %d already exists", v.Version)
	}
	return wrap("insert policy version", err)
}

// PolicyVersions implements policyadmin.Repository. The versions are read
// before the pointer, so that a version seen ACTIVE and not named by the
// pointer read after it has really been superseded.
func (s *Store) PolicyVersions(ctx context.Context) ([]policyadmin.Version, error) {
	ds, err := list(ctx, s.policyVersions, "policy versions", func(d policyVersionDoc) policyVersionDoc { return d })
	if err != nil {
		return nil, err
	}
	cur, err := s.activeRev(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]policyadmin.Version, len(ds))
	for i := range ds {
		if err := s.settle(ctx, &ds[i], cur); err != nil {
			return nil, err
		}
		out[i] = ds[i].version()
	}
	return out, nil
}

// PolicyVersion implements policyadmin.Repository.
func (s *Store) PolicyVersion(ctx context.Context, version int) (policyadmin.Version, error) {
	d, err := s.settledVersion(ctx, version)
	return d.version(), err
}

// settledVersion reads one version and settles it against the pointer.
func (s *Store) settledVersion(ctx context.Context, version int) (policyVersionDoc, error) {
	var d policyVersionDoc
	err := s.policyVersions.FindOne(ctx, bson.D{{Key: "_id", Value: int64(version)}}).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return d, apperr.NotFoundf("policy version %d not found", version)
	case err != nil:
		return d, wrap("get policy version", err)
	}
	cur, err := s.activeRev(ctx)
	if err != nil {
		return d, err
	}
	return d, s.settle(ctx, &d, cur)
}

// activeRev returns the latest revision of the pointer; a zero document
// before the pointer exists.
func (s *Store) activeRev(ctx context.Context) (policyRevDoc, error) {
	var d policyRevDoc
	err := s.policyRevs.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&d)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return d, wrap("read active policy", err)
	}
	return d, nil
}

// settle brings d's state in line with the pointer cur, read after d, and
// writes what it changed back (conditionally, so a concurrent approval is
// never undone): an approval whose decision was stored but not its
// outcome, an ACTIVE version the pointer has left, a version without a
// state from before approvals existed.
func (s *Store) settle(ctx context.Context, d *policyVersionDoc, cur policyRevDoc) error {
	id := bson.D{{Key: "_id", Value: d.Version}}
	if a := d.Activating; a != nil && d.State == string(policyadmin.Proposed) {
		var rev policyRevDoc
		err := s.policyRevs.FindOne(ctx, bson.D{{Key: "_id", Value: a.Rev}}).Decode(&rev)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			return nil // not decided (yet): still a proposal
		case err != nil:
			return wrap("settle policy version", err)
		case rev.Version != d.Version:
			// Another approval took that revision; the intent is void.
			d.Activating = nil
			if _, err := s.policyVersions.UpdateOne(ctx, append(id, bson.E{Key: "activating.rev", Value: a.Rev}),
				bson.D{{Key: "$unset", Value: bson.D{{Key: "activating", Value: ""}}}}); err != nil {
				return wrap("settle policy version", err)
			}
			return nil
		}
		at := a.At
		d.State, d.ApprovedBy, d.ApprovedAt, d.Activating = string(policyadmin.Active), a.By, &at, nil
		if _, err := s.policyVersions.UpdateOne(ctx, append(id, bson.E{Key: "state", Value: string(policyadmin.Proposed)}),
			bson.D{
				{Key: "$set", Value: bson.D{{Key: "state", Value: d.State}, {Key: "approvedBy", Value: a.By}, {Key: "approvedAt", Value: a.At}}},
				{Key: "$unset", Value: bson.D{{Key: "activating", Value: ""}}},
			}); err != nil {
			return wrap("settle policy version", err)
		}
	}
	var want policyadmin.State
	switch {
	case d.State == "" && d.Version == cur.Version:
		want = policyadmin.Active
	case d.State == "" || d.State == string(policyadmin.Active) && d.Version != cur.Version:
		want = policyadmin.Superseded
	default:
		return nil
	}
	old := d.State
	d.State = string(want)
	filter := append(id, bson.E{Key: "state", Value: old})
	if old == "" {
		filter = append(id, bson.E{Key: "state", Value: bson.D{{Key: "$exists", Value: false}}})
	}
	if _, err := s.policyVersions.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: d.State}}}}); err != nil {
		return wrap("settle policy version", err)
	}
	return nil
}

// ActivePolicy implements policyadmin.Repository: the revision with the
// highest _id.
func (s *Store) ActivePolicy(ctx context.Context) (version, rev int, err error) {
	d, err := s.activeRev(ctx)
	switch {
	case err != nil:
		return 0, 0, err
	case d.Rev == 0:
		return 0, 0, apperr.NotFoundf("no active policy")
	}
	return int(d.Version), int(d.Rev), nil
}

// claimProposal claims the decision on a proposal (claims.go): of an
// approval and a rejection, or two approvals, of one version only one
// runs at a time. It returns the version, settled, which must still be
// PROPOSED.
func (s *Store) claimProposal(ctx context.Context, version int) (policyVersionDoc, func(), error) {
	release, err := s.claim(ctx, policyVersionsColl, strconv.Itoa(version), 0)
	if errors.Is(err, errClaimed) {
		return policyVersionDoc{}, nil, apperr.Conflictf("policy version %d is being approved or rejected by someone else right now", version)
	} else if err != nil {
		return policyVersionDoc{}, nil, err
	}
	d, err := s.settledVersion(ctx, version)
	if err == nil && d.State != string(policyadmin.Proposed) {
		err = policyadmin.NotProposed(d.version())
	}
	if err != nil {
		release()
		return d, nil, err
	}
	return d, release, nil
}

// ActivatePolicy implements policyadmin.Repository, in the steps described
// at the top of this file. The check that prevRev is the latest revision
// keeps the revisions gapless: a move from a revision ahead of the pointer
// would otherwise succeed.
func (s *Store) ActivatePolicy(ctx context.Context, vd policyadmin.Verdict, prevRev int) error {
	d, release, err := s.claimProposal(ctx, vd.Version)
	if err != nil {
		return err
	}
	defer release()
	cur, err := s.activeRev(ctx)
	if err != nil {
		return err
	}
	if cur.Rev != int64(prevRev) {
		return policyadmin.PointerMoved(prevRev)
	}
	id := bson.D{{Key: "_id", Value: d.Version}}
	intent := activationDoc{Rev: int64(prevRev) + 1, By: vd.By, At: vd.At.UTC()}
	if _, err := s.policyVersions.UpdateOne(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "activating", Value: intent}}}}); err != nil {
		return wrap("approve policy version", err)
	}
	_, err = s.policyRevs.InsertOne(ctx, policyRevDoc{Rev: intent.Rev, Version: d.Version, Prev: cur.Version, By: vd.By, At: intent.At})
	if err != nil {
		if _, uerr := s.policyVersions.UpdateOne(ctx, id, bson.D{{Key: "$unset", Value: bson.D{{Key: "activating", Value: ""}}}}); uerr != nil {
			return wrap("approve policy version", uerr)
		}
		if mongo.IsDuplicateKeyError(err) {
			return policyadmin.PointerMoved(prevRev)
		}
		return wrap("approve policy version", err)
	}
	// Decided; what follows is what settle would do on the next read.
	if _, err := s.policyVersions.UpdateOne(ctx, id, bson.D{
		{Key: "$set", Value: bson.D{{Key: "state", Value: string(policyadmin.Active)}, {Key: "approvedBy", Value: vd.By}, {Key: "approvedAt", Value: intent.At}}},
		{Key: "$unset", Value: bson.D{{Key: "activating", Value: ""}}},
	}); err != nil {
		return wrap("approve policy version", err)
	}
	if cur.Rev > 0 {
		if _, err := s.policyVersions.UpdateOne(ctx, bson.D{{Key: "_id", Value: cur.Version}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(policyadmin.Superseded)}}}}); err != nil {
			return wrap("approve policy version", err)
		}
	}
	return nil
}

// RejectPolicy implements policyadmin.Repository. Under the claim no
// approval of the version runs; one that crashed before its decision
// leaves an intent that goes with the rejection.
func (s *Store) RejectPolicy(ctx context.Context, vd policyadmin.Verdict) error {
	d, release, err := s.claimProposal(ctx, vd.Version)
	if err != nil {
		return err
	}
	defer release()
	res, err := s.policyVersions.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: d.Version}, {Key: "state", Value: string(policyadmin.Proposed)}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "state", Value: string(policyadmin.Rejected)}, {Key: "rejectedBy", Value: vd.By},
				{Key: "rejectedAt", Value: vd.At.UTC()}, {Key: "rejectReason", Value: vd.Reason}}},
			{Key: "$unset", Value: bson.D{{Key: "activating", Value: ""}}},
		})
	if err != nil {
		return wrap("reject policy version", err)
	}
	if res.MatchedCount != 1 {
		return apperr.Conflictf("policy version %d was decided meanwhile", vd.Version)
	}
	return nil
}
