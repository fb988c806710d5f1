package mongo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"certd/internal/apperr"
	"certd/internal/policyadmin"
	"certd/internal/store/storetest"
)

func TestPolicies(t *testing.T) {
	storetest.RunPolicies(t, func(t *testing.T) policyadmin.Repository { return open(t) })
}

// TestPolicyApprovalCrashes leaves the documents as an approval that
// crashed after each of its steps would, and checks that reads finish it
// (or keep the proposal open) and that the next decision works.
func TestPolicyApprovalCrashes(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	db := connect(t).Database(s.Database())
	versions, revs := db.Collection("policy_versions"), db.Collection("policy_active_revs")
	at := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	propose := func(n, base int) {
		t.Helper()
		err := s.InsertPolicy(ctx, policyadmin.Version{Version: n, Message: "m", Author: "a", PublishedAt: at, State: policyadmin.Proposed, BasedOn: base})
		if err != nil {
			t.Fatal(err)
		}
	}
	state := func(n int) policyadmin.Version {
		t.Helper()
		v, err := s.PolicyVersion(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	stored := func(n int) bson.M {
		t.Helper()
		var d bson.M
		if err := versions.FindOne(ctx, bson.D{{Key: "_id", Value: int64(n)}}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	propose(1, 0)
	if err := s.ActivatePolicy(ctx, policyadmin.Verdict{Version: 1, By: "system", At: at}, 0); err != nil {
		t.Fatal(err)
	}

	// Crashed after the intent, before the decision: still a proposal,
	// and approving it again works.
	propose(2, 1)
	intent := bson.D{{Key: "rev", Value: int64(2)}, {Key: "by", Value: "b"}, {Key: "at", Value: at}}
	if _, err := versions.UpdateOne(ctx, bson.D{{Key: "_id", Value: int64(2)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "activating", Value: intent}}}}); err != nil {
		t.Fatal(err)
	}
	if v := state(2); v.State != policyadmin.Proposed || v.ApprovedBy != "" {
		t.Fatalf("an undecided intent shows as %s approved by %q", v.State, v.ApprovedBy)
	}

	// Crashed after the decision: the revision names version 2, whose
	// document still says PROPOSED, and version 1 still says ACTIVE.
	if _, err := revs.InsertOne(ctx, bson.D{{Key: "_id", Value: int64(2)}, {Key: "version", Value: int64(2)}, {Key: "prev", Value: int64(1)}, {Key: "by", Value: "b"}, {Key: "at", Value: at}}); err != nil {
		t.Fatal(err)
	}
	all, err := s.PolicyVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all[0].State != policyadmin.Superseded || all[1].State != policyadmin.Active || all[1].ApprovedBy != "b" || all[1].ApprovedAt == nil {
		t.Fatalf("after a crash past the decision: %+v / %+v", all[0], all[1])
	}
	if d := stored(2); d["state"] != "ACTIVE" || d["activating"] != nil || d["approvedBy"] != "b" {
		t.Fatalf("the settled approval was not written back: %v", d)
	}
	if d := stored(1); d["state"] != "SUPERSEDED" {
		t.Fatalf("the superseded version was not written back: %v", d)
	}
	if err := s.RejectPolicy(ctx, policyadmin.Verdict{Version: 2, By: "c", At: at, Reason: "r"}); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("rejecting the active version: %v", err)
	}

	// An intent whose revision another approval took is void; the
	// proposal can still be rejected.
	propose(3, 2)
	propose(4, 2)
	void := bson.D{{Key: "rev", Value: int64(3)}, {Key: "by", Value: "c"}, {Key: "at", Value: at}}
	if _, err := versions.UpdateOne(ctx, bson.D{{Key: "_id", Value: int64(3)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "activating", Value: void}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivatePolicy(ctx, policyadmin.Verdict{Version: 4, By: "d", At: at}, 2); err != nil {
		t.Fatal(err)
	}
	if v := state(3); v.State != policyadmin.Proposed {
		t.Fatalf("a proposal whose intent lost shows as %s", v.State)
	}
	if d := stored(3); d["activating"] != nil {
		t.Fatalf("the void intent stays: %v", d)
	}
	if err := s.RejectPolicy(ctx, policyadmin.Verdict{Version: 3, By: "e", At: at, Reason: "stale"}); err != nil {
		t.Fatal(err)
	}
	if v := state(3); v.State != policyadmin.Rejected || v.RejectedBy != "e" {
		t.Fatalf("rejected: %+v", v)
	}
}

// TestLegacyPolicyVersions reads versions stored before approvals existed
// (no state): the one the pointer names is ACTIVE, the others SUPERSEDED.
func TestLegacyPolicyVersions(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	db := connect(t).Database(s.Database())
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for n := int64(1); n <= 3; n++ {
		doc := bson.D{{Key: "_id", Value: n}, {Key: "modules", Value: bson.A{}}, {Key: "message", Value: "old"}, {Key: "author", Value: "pa"},
			{Key: "publishedAt", Value: at}, {Key: "testsPassed", Value: int64(1)}}
		if _, err := db.Collection("policy_versions").InsertOne(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	for rev, v := range []int64{1, 3, 2} {
		if _, err := db.Collection("policy_active_revs").InsertOne(ctx, bson.D{{Key: "_id", Value: int64(rev + 1)}, {Key: "version", Value: v}, {Key: "at", Value: at}}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.PolicyVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []policyadmin.State{policyadmin.Superseded, policyadmin.Active, policyadmin.Superseded}
	for i, v := range all {
		if v.State != want[i] || v.ApprovedBy != "" {
			t.Errorf("legacy version %d: %s approved by %q, want %s", v.Version, v.State, v.ApprovedBy, want[i])
		}
	}
	// A proposal on top of them is approved as usual.
	if err := s.InsertPolicy(ctx, policyadmin.Version{Version: 4, Message: "m", Author: "a", PublishedAt: at, State: policyadmin.Proposed, BasedOn: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivatePolicy(ctx, policyadmin.Verdict{Version: 4, By: "b", At: at}, 3); err != nil {
		t.Fatal(err)
	}
	if v, err := s.PolicyVersion(ctx, 2); err != nil || v.State != policyadmin.Superseded {
		t.Fatalf("the legacy active version after an approval: %+v, %v", v, err)
	}
}
