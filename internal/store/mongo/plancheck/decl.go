// Package plancheck proves, from the commands a MongoDB store sends, that
// every query on a growing collection is served by an index the code
// declares, and tells which shards each one reaches.
//
// FerretDB, on which the tests run, scans every collection whatever its
// indexes, so a passing test suite says nothing about what MongoDB would
// do. Instead a Recorder (a driver event.CommandMonitor) keeps the shape
// of every command the store sends while the conformance suite runs, and
// Check decides for each find, count, update, delete, findAndModify,
// distinct and aggregate (its leading $match and $sort) which declared
// index serves it by MongoDB's equality–sort–range rule:
//
//   - the index must start with keys the filter fixes by equality (or $in),
//     or with a key it bounds by a range, or walk the whole index in the
//     requested order and stop after a limit;
//   - a sort must be given by the keys that follow the equality prefix, in
//     the sort's order and with every direction equal to (or every one
//     opposite to) the index's, which MongoDB then walks forwards or
//     backwards; a sort it cannot give is done in memory over every
//     matching document;
//   - a keyset cursor ($or of "before the cursor") must be paired with a
//     range bound on the first sort key, or page N walks every earlier
//     page again.
//
// The declarations (Decls) are the only input besides the commands: the
// indexes the store creates, and for each collection its shard key or why
// it stays unsharded, or why its queries need no index (it cannot grow).
package plancheck

import (
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Index is one secondary index a store declares.
type Index struct {
	Collection string
	Name       string
	Keys       bson.D
	Unique     bool
	// Purpose says which query or guarantee the index serves.
	Purpose string
}

// Collection declares how a collection is placed in a sharded cluster.
type Collection struct {
	Name string
	// ShardKey is the collection's shard key: ranged (1) fields, or one
	// field with the value "hashed". Nil leaves the collection unsharded,
	// on its database's primary shard.
	ShardKey bson.D
	// Why justifies the shard key, or says why the collection stays
	// unsharded.
	Why string
	// Unchecked, when not empty, exempts the collection's queries from the
	// plan check and says why: the collection cannot grow.
	Unchecked string
}

// Decls is what a store declares about its collections.
type Decls struct {
	Collections []Collection
	Indexes     []Index
}

// collection returns the declaration of name.
func (d *Decls) collection(name string) (Collection, bool) {
	for _, c := range d.Collections {
		if c.Name == name {
			return c, true
		}
	}
	return Collection{}, false
}

// indexes returns the indexes of a collection, with the implicit unique
// index on _id first.
func (d *Decls) indexes(coll string) []Index {
	out := []Index{{Collection: coll, Name: "_id_", Keys: bson.D{{Key: "_id", Value: 1}}, Unique: true}}
	for _, ix := range d.Indexes {
		if ix.Collection == coll {
			out = append(out, ix)
		}
	}
	return out
}

// Hashed reports whether the shard key is hashed.
func (c Collection) Hashed() bool {
	return len(c.ShardKey) == 1 && c.ShardKey[0].Value == "hashed"
}

// Validate checks the declarations themselves: every collection declared
// once with a reason; every index on a declared collection; and, on a
// sharded collection, every unique index prefixed by the shard key (else
// MongoDB refuses shardCollection, and createIndexes on the sharded
// collection) and some index that supports the shard key.
func (d *Decls) Validate() []string {
	var problems []string
	seen := map[string]bool{}
	for _, c := range d.Collections {
		if seen[c.Name] {
			problems = append(problems, fmt.Sprintf("collection %s is declared twice", c.Name))
		}
		seen[c.Name] = true
		if strings.TrimSpace(c.Why) == "" {
			problems = append(problems, fmt.Sprintf("collection %s: say why it has its shard key, or why it stays unsharded", c.Name))
		}
		if c.Unchecked != "" && c.ShardKey != nil {
			problems = append(problems, fmt.Sprintf("collection %s is exempt from the plan check (it cannot grow) yet sharded", c.Name))
		}
		for _, e := range c.ShardKey {
			if e.Value != 1 && e.Value != "hashed" {
				problems = append(problems, fmt.Sprintf("collection %s: shard key field %s must be 1 or \"hashed\"", c.Name, e.Key))
			}
			if e.Value == "hashed" && len(c.ShardKey) != 1 {
				problems = append(problems, fmt.Sprintf("collection %s: a hashed shard key has one field", c.Name))
			}
		}
	}
	names := map[string]bool{}
	for _, ix := range d.Indexes {
		key := ix.Collection + "." + ix.Name
		if names[key] {
			problems = append(problems, fmt.Sprintf("index %s is declared twice", key))
		}
		names[key] = true
		c, ok := d.collection(ix.Collection)
		if !ok {
			problems = append(problems, fmt.Sprintf("index %s is on collection %s, which is not declared", key, ix.Collection))
			continue
		}
		if ix.Unique && c.ShardKey != nil && !c.Hashed() && !prefixedBy(ix.Keys, c.ShardKey) {
			problems = append(problems, fmt.Sprintf("unique index %s %s is not prefixed by the shard key %s of %s: MongoDB refuses it on a sharded collection",
				key, Shape(ix.Keys), Shape(c.ShardKey), c.Name))
		}
		if ix.Unique && c.Hashed() && !(len(ix.Keys) == 1 && ix.Keys[0].Key == c.ShardKey[0].Key) {
			problems = append(problems, fmt.Sprintf("unique index %s %s on %s, whose shard key %s is hashed: only _id stays unique there; shard by a ranged key that prefixes it",
				key, Shape(ix.Keys), c.Name, Shape(c.ShardKey)))
		}
	}
	for _, c := range d.Collections {
		if c.ShardKey == nil || c.Hashed() {
			continue
		}
		supported := false
		for _, ix := range d.indexes(c.Name) {
			if prefixedBy(ix.Keys, c.ShardKey) {
				supported = true
			}
		}
		if !supported {
			problems = append(problems, fmt.Sprintf("collection %s: no declared index starts with its shard key %s; declare one", c.Name, Shape(c.ShardKey)))
		}
	}
	return problems
}

// prefixedBy reports whether keys start with the fields of prefix.
func prefixedBy(keys, prefix bson.D) bool {
	if len(keys) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		if keys[i].Key != p.Key {
			return false
		}
	}
	return true
}

// Shape prints a key or sort document compactly: {a: 1, b: -1}.
func Shape(d bson.D) string {
	parts := make([]string, len(d))
	for i, e := range d {
		parts[i] = fmt.Sprintf("%s: %v", e.Key, e.Value)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
