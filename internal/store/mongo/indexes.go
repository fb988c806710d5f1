package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Index is one secondary index the store needs. The other collections are
// read by _id only: units, certificate_types and matters (the entry's
// code), counters (the counter's name) and update_claims (see claims.go).
type Index struct {
	Collection string
	Name       string
	Keys       bson.D
	Unique     bool
	// Purpose says which query or guarantee the index serves.
	Purpose string
}

// Indexes lists every index EnsureIndexes creates, in one place so that
// operations documentation can list them.
func Indexes() []Index {
	return []Index{
		{
			Collection: changesColl, Name: "kind_code_version", Unique: true,
			Keys:    bson.D{{Key: "kind", Value: 1}, {Key: "code", Value: 1}, {Key: "version", Value: 1}},
			Purpose: "one change per entry version (AppendChange is idempotent); history of one entry",
		},
		{
			Collection: changesColl, Name: "kind_seq",
			Keys:    bson.D{{Key: "kind", Value: 1}, {Key: "_id", Value: 1}},
			Purpose: "history of every entry of a kind, in sequence (_id) order",
		},
	}
}

// EnsureIndexes creates the indexes of Indexes. It is idempotent: creating
// an index that exists with the same keys and options does nothing.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	for _, ix := range Indexes() {
		o := options.Index().SetName(ix.Name)
		if ix.Unique {
			o.SetUnique(true)
		}
		_, err := s.db.Collection(ix.Collection).Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.Keys, Options: o})
		if err != nil {
			return wrap(fmt.Sprintf("create index %s.%s", ix.Collection, ix.Name), err)
		}
	}
	return nil
}
