package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Why claims: FerretDB v1 runs an update as "find the matching documents,
// then write each back by _id", so two concurrent updates filtered on
// {_id: code, version: 1} can both match and both succeed. The only
// atomic check it has is a unique key on insert. So an update first
// inserts a claim whose _id names the entry and the version it replaces;
// of concurrent updaters from one version, only one inserts the claim and
// the others get CONFLICT. The claim is deleted once the update is done,
// so a later stale update claims, finds the version moved on, and fails
// too. On MongoDB the filtered replace alone would do; the claim costs two
// small writes and keeps one code path for both servers.

// claimStaleAfter is how old a claim must be before it is taken to be left
// by a crashed updater and removed. It is far above any request deadline.
const claimStaleAfter = time.Minute

// claimDoc is a document of the update_claims collection.
type claimDoc struct {
	// ID is "collection/prevVersion/code"; code goes last because it is
	// the only part that may contain a "/".
	ID string    `bson:"_id"`
	At time.Time `bson:"at"`
}

// errClaimed reports that another update of the same entry and version is
// in progress or done.
var errClaimed = errors.New("update already claimed")

// claim inserts the claim for replacing version prevVersion of the entry
// code in coll, and returns the function that releases it. A claim left
// behind by a crash is removed once stale, and claiming is retried once.
func (s *Store) claim(ctx context.Context, coll, code string, prevVersion int) (release func(), err error) {
	id := fmt.Sprintf("%s/%d/%s", coll, prevVersion, code)
	for attempt := 0; ; attempt++ {
		_, err := s.claims.InsertOne(ctx, claimDoc{ID: id, At: time.Now().UTC()})
		if err == nil {
			return func() {
				// Release even if the request was canceled meanwhile;
				// a claim that stays would only be removed once stale.
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				_, _ = s.claims.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
			}, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, wrap("claim update", err)
		}
		if attempt > 0 {
			return nil, errClaimed
		}
		var old claimDoc
		err = s.claims.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&old)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // released meanwhile
		case err != nil:
			return nil, wrap("claim update", err)
		case time.Since(old.At) < claimStaleAfter:
			return nil, errClaimed
		}
		_, err = s.claims.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "at", Value: old.At}})
		if err != nil {
			return nil, wrap("remove stale update claim", err)
		}
	}
}
