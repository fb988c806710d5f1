package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/keyring"
	"certd/internal/registry"
)

var (
	_ keyring.Repository  = (*Store)(nil)
	_ registry.Repository = (*Store)(nil)
)

// PutSealKey implements keyring.Repository: seal_keys has the key id as
// _id, so a second key with the same id is a CONFLICT.
func (s *Store) PutSealKey(ctx context.Context, k keyring.Key) error {
	return insert(ctx, s.sealKeys, "seal key", k.KeyID, toSealKeyDoc(k))
}

// SealKey implements keyring.Repository.
func (s *Store) SealKey(ctx context.Context, keyID string) (keyring.Key, error) {
	d, err := get[sealKeyDoc](ctx, s.sealKeys, "seal key", keyID)
	return d.key(), err
}

// PutRegistryEntries implements registry.Repository: one unordered bulk
// write of upserting replacements by code (the _id of base_registry).
func (s *Store) PutRegistryEntries(ctx context.Context, es []registry.Entry) error {
	if len(es) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, len(es))
	for i, e := range es {
		models[i] = mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: e.Code}}).
			SetReplacement(toRegistryDoc(e)).SetUpsert(true)
	}
	opts := options.BulkWrite().SetOrdered(false)
	var err error
	// Two upserts of one new code can race: both miss, both insert, one
	// fails with a duplicate key. Run again, the code exists by then and
	// the replacements are idempotent.
	for range 3 {
		if _, err = s.registry.BulkWrite(ctx, models, opts); err == nil || !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return wrap("put registry entries", err)
	}
	return nil
}

// RegistryEntry implements registry.Repository.
func (s *Store) RegistryEntry(ctx context.Context, code string) (registry.Entry, error) {
	d, err := get[registryDoc](ctx, s.registry, "registry entry", code)
	return d.entry(), err
}

// RegistryEntries implements registry.Repository.
func (s *Store) RegistryEntries(ctx context.Context, codes []string) (map[string]registry.Entry, error) {
	out := map[string]registry.Entry{}
	for start := 0; start < len(codes); start += 500 {
		chunk := codes[start:min(start+500, len(codes))]
		cur, err := s.registry.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: chunk}}}})
		if err != nil {
			return nil, wrap("registry lookup", err)
		}
		var docs []registryDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, wrap("registry lookup", err)
		}
		for _, d := range docs {
			e := d.entry()
			out[e.Code] = e
		}
	}
	return out, nil
}
