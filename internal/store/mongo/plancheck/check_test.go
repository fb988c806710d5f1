package plancheck

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func d(kv ...any) bson.D {
	out := bson.D{}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, bson.E{Key: kv[i].(string), Value: kv[i+1]})
	}
	return out
}

var testDecls = Decls{
	Collections: []Collection{
		{Name: "log", ShardKey: d("chain", 1, "seq", 1), Why: "appends"},
		{Name: "docs", ShardKey: d("_id", "hashed"), Why: "by id"},
		{Name: "small", Why: "tiny", Unchecked: "cannot grow"},
	},
	Indexes: []Index{
		{Collection: "log", Name: "chain_seq", Keys: d("chain", 1, "seq", 1), Unique: true},
		{Collection: "log", Name: "holder_at_chain", Keys: d("holder", 1, "at", -1, "chain", -1)},
		{Collection: "log", Name: "at_mixed", Keys: d("at", -1, "chain", 1)},
		{Collection: "docs", Name: "unit_type_at", Keys: d("unit", 1, "type", 1, "at", -1)},
		{Collection: "docs", Name: "chain_a", Keys: d("chain", 1)},
	},
}

// TestRules checks each rule of the equality–sort–range check on queries
// written by hand, both the ones it passes and the ones it fails.
func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		q       Query
		index   string // the serving index, when served
		problem string // a part of the problem, when not
		target  Target
	}{
		{name: "equality then sort", q: Query{Command: "find", Collection: "log", Filter: d("holder", "h"), Sort: d("at", -1, "chain", -1), Limit: true},
			index: "holder_at_chain", target: AllShards},
		{name: "sort walked backwards", q: Query{Command: "find", Collection: "log", Filter: d("holder", "h"), Sort: d("at", 1, "chain", 1)},
			index: "holder_at_chain"},
		{name: "sort directions mixed", q: Query{Command: "find", Collection: "log", Filter: d("holder", "h"), Sort: d("at", -1, "chain", 1)},
			problem: "in-memory sort"},
		{name: "sort field missing", q: Query{Command: "find", Collection: "log", Filter: d("holder", "h"), Sort: d("at", -1, "seq", -1)},
			problem: "in-memory sort"},
		{name: "whole index in order with a limit", q: Query{Command: "find", Collection: "log", Sort: d("at", 1, "chain", -1), Limit: true},
			index: "at_mixed"},
		{name: "whole index in order, no limit", q: Query{Command: "find", Collection: "log", Sort: d("at", 1, "chain", -1)},
			problem: "reads every document"},
		{name: "walk with a residual predicate", q: Query{Command: "find", Collection: "log", Filter: d("org", "o"), Sort: d("at", -1, "chain", 1), Limit: true},
			problem: "scan in index order"},
		{name: "no index at all", q: Query{Command: "find", Collection: "log", Filter: d("org", "o")},
			problem: "collection scan"},
		{name: "range leads", q: Query{Command: "count", Collection: "log", Filter: d("chain", d("$gt", "a"))},
			index: "chain_seq", target: SomeShards},
		{name: "equality in $and and $in", q: Query{Command: "find", Collection: "docs", Filter: d("$and", bson.A{d("unit", d("$eq", "u")), d("type", d("$in", bson.A{"a", "b"}))}), Sort: d("at", -1)},
			index: "unit_type_at", target: AllShards},
		{name: "equality field skipped in the sort", q: Query{Command: "find", Collection: "docs", Filter: d("unit", "u", "type", "t"), Sort: d("type", 1, "at", -1)},
			index: "unit_type_at"},
		{name: "gap before the sort", q: Query{Command: "find", Collection: "docs", Filter: d("unit", "u"), Sort: d("at", -1)},
			problem: "it has type where the sort needs at"},
		{name: "unbounded keyset", q: Query{Command: "find", Collection: "log", Sort: d("at", -1, "chain", -1), Limit: true,
			Filter: d("holder", "h", "$or", bson.A{d("at", d("$lt", 1)), d("at", 1, "chain", d("$lt", "c"))})},
			problem: "unbounded keyset"},
		{name: "bounded keyset", q: Query{Command: "find", Collection: "log", Sort: d("at", -1, "chain", -1), Limit: true,
			Filter: d("holder", "h", "at", d("$lte", 1), "$or", bson.A{d("at", d("$lt", 1)), d("at", 1, "chain", d("$lt", "c"))})},
			index: "holder_at_chain"},
		{name: "or of served branches", q: Query{Command: "find", Collection: "log", Filter: d("$or", bson.A{d("holder", "h"), d("chain", "c")})},
			index: "$or(holder_at_chain, chain_seq)"},
		{name: "or with an unserved branch", q: Query{Command: "find", Collection: "log", Filter: d("$or", bson.A{d("holder", "h"), d("org", "o")})},
			problem: "collection scan"},
		{name: "distinct scan", q: Parse("aggregate", raw(d("aggregate", "log", "pipeline", bson.A{d("$sort", d("chain", 1)), d("$group", d("_id", "$chain"))})))[0],
			index: "chain_seq"},
		{name: "group of everything", q: Parse("aggregate", raw(d("aggregate", "log", "pipeline", bson.A{d("$group", d("_id", "$org"))})))[0],
			problem: "does not start with $match"},
		{name: "count by a leading match", q: Parse("aggregate", raw(d("aggregate", "docs", "pipeline", bson.A{d("$match", d("unit", "u")), d("$group", d("_id", 1, "n", d("$sum", 1)))})))[0],
			index: "unit_type_at"},
		{name: "point lookup", q: Query{Command: "find", Collection: "docs", Filter: d("_id", "x")}, index: "_id_", target: OneShard},
		{name: "single write without the shard key", q: Query{Command: "update", Collection: "log", Filter: d("holder", "h"), Single: true},
			problem: "single-document write without equality on the shard key"},
		{name: "single write with it", q: Query{Command: "update", Collection: "log", Filter: d("chain", "c", "seq", 2), Single: true},
			index: "chain_seq", target: OneShard},
		{name: "insert without the shard key", q: Query{Command: "insert", Collection: "log", Fields: []string{"_id", "chain"}},
			problem: "lack shard key field(s) seq"},
		{name: "exempt collection", q: Query{Command: "find", Collection: "small", Filter: d("x", 1)}, target: Unsharded},
		{name: "undeclared collection", q: Query{Command: "find", Collection: "other"}, problem: "collection other is not declared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := Check(testDecls, []Query{tc.q})
			p := rep.Plans[0]
			if tc.problem != "" {
				if !strings.Contains(p.Problem, tc.problem) {
					t.Fatalf("problem %q, want one saying %q", p.Problem, tc.problem)
				}
				return
			}
			if p.Problem != "" {
				t.Fatalf("unexpected problem: %s", p.Problem)
			}
			if p.Index != tc.index {
				t.Errorf("served by %q, want %q", p.Index, tc.index)
			}
			if tc.target != "" && p.Target != tc.target {
				t.Errorf("target %q, want %q", p.Target, tc.target)
			}
		})
	}
}

func raw(doc bson.D) bson.Raw {
	b, err := bson.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func TestValidate(t *testing.T) {
	if p := testDecls.Validate(); len(p) > 0 {
		t.Fatalf("valid declarations: %v", p)
	}
	bad := Decls{
		Collections: []Collection{
			{Name: "c", ShardKey: d("holder", 1, "lineage", 1), Why: "x"},
			{Name: "h", ShardKey: d("_id", "hashed"), Why: "y"},
			{Name: "n"},
		},
		Indexes: []Index{
			{Collection: "c", Name: "lineage_version", Keys: d("lineage", 1, "version", 1), Unique: true},
			{Collection: "h", Name: "code", Keys: d("code", 1), Unique: true},
			{Collection: "z", Name: "a", Keys: d("a", 1)},
		},
	}
	got := strings.Join(bad.Validate(), "\n")
	for _, want := range []string{
		"unique index c.lineage_version {lineage: 1, version: 1} is not prefixed by the shard key {holder: 1, lineage: 1}",
		"unique index h.code {code: 1} on h, whose shard key {_id: hashed} is hashed",
		"collection n: say why",
		"index z.a is on collection z, which is not declared",
		"collection c: no declared index starts with its shard key",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate does not say %q:\n%s", want, got)
		}
	}
}
