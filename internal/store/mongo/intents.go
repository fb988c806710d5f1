package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// A supersession writes two documents, the new version and the old one
// marked SUPERSEDED, and MongoDB here has no transaction to make them one
// write. So Supersede first writes an intent naming both, and removes it
// once both are written. A crash in between leaves the intent, and Repair
// visits the pending intents only, never every licence: it finishes the
// supersession if the new version was stored, and drops the intent if it
// never was.

const intentsColl = "supersede_intents"

// intentGrace is how old an intent must be before Repair takes it for one
// whose writer crashed: far above any request's deadline, as the claim
// that Supersede holds meanwhile goes stale after claimStaleAfter.
const intentGrace = 2 * claimStaleAfter

// intentPage is how many intents one Repair visits at most.
const intentPage = 500

// intentDoc is a document of supersede_intents: the supersession of
// version OldID at rev PrevRev by NextID.
type intentDoc struct {
	ID      string    `bson:"_id"` // "<prevRev>/<oldID>"
	Lineage string    `bson:"lineage"`
	OldID   string    `bson:"oldId"`
	PrevRev int       `bson:"prevRev"`
	NextID  string    `bson:"nextId"`
	At      time.Time `bson:"at"`
}

// writeIntent records that oldID at prevRev is being superseded by nextID.
// A retry of a crashed supersession of the same version replaces the
// intent it left.
func (s *Store) writeIntent(ctx context.Context, lineage, oldID string, prevRev int, nextID string) (string, error) {
	d := intentDoc{ID: fmt.Sprintf("%d/%s", prevRev, oldID), Lineage: lineage, OldID: oldID, PrevRev: prevRev,
		NextID: nextID, At: time.Now().UTC().Truncate(time.Millisecond)}
	_, err := s.intents.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	if err != nil {
		return "", wrap("write supersession intent", err)
	}
	return d.ID, nil
}

// dropIntent removes an intent whose supersession is done (or never
// happened); failing, it is left for Repair.
func (s *Store) dropIntent(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = s.intents.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
}

// repairIntents visits the intents older than intentGrace, oldest first:
// each lineage they name is repaired (repairLineage), and the intent is
// dropped once its old version is no longer current or its new version
// was never stored. It returns how many licence versions it fixed.
func (s *Store) repairIntents(ctx context.Context) (int, error) {
	cur, err := s.intents.Find(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: time.Now().Add(-intentGrace)}}}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(intentPage))
	if err != nil {
		return 0, wrap("find supersession intents", err)
	}
	var pending []intentDoc
	if err := cur.All(ctx, &pending); err != nil {
		return 0, wrap("find supersession intents", err)
	}
	fixed := 0
	for _, it := range pending {
		n, err := s.repairLineage(ctx, it.Lineage, "")
		fixed += n
		if err != nil {
			return fixed, err
		}
		old, oldFound, err := s.certByID(ctx, it.OldID)
		if err != nil {
			return fixed, err
		}
		_, nextFound, err := s.certByID(ctx, it.NextID)
		if err != nil {
			return fixed, err
		}
		if oldFound && old.Current && nextFound {
			continue // being changed right now; the next run looks again
		}
		_, err = s.intents.DeleteOne(ctx, bson.D{{Key: "_id", Value: it.ID}, {Key: "at", Value: it.At}})
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return fixed, wrap("remove supersession intent", err)
		}
	}
	return fixed, nil
}
