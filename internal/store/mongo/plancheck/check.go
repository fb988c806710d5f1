package plancheck

import (
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Target says which shards a query reaches on a sharded collection.
type Target string

// Targets.
const (
	// Unsharded: the collection stays on its primary shard.
	Unsharded Target = "unsharded"
	// OneShard: equality on the whole shard key (or, for a ranged key, on
	// a prefix of it, which reaches the chunks of that prefix: one shard
	// unless the prefix holds more than a chunk).
	OneShard Target = "one shard"
	// SomeShards: $in or a range on the shard key's first field.
	SomeShards Target = "some shards"
	// AllShards: nothing the router can use; every shard is asked.
	AllShards Target = "all shards"
)

// Plan is the verdict on one query.
type Plan struct {
	Query Query
	// Index is the declared index that serves the query, "" if none does
	// or the collection is exempt.
	Index string
	// Residual lists filter fields the index does not hold, which MongoDB
	// checks on the fetched documents.
	Residual []string
	Target   Target
	// Problem says why the query is not served, "" if it is.
	Problem string
	// Exempt is the reason the collection's queries are not checked.
	Exempt string
}

// Report is the verdict on every recorded query.
type Report struct {
	Plans []Plan
}

// Problems returns one message per query that fails the check, naming the
// command, the collection, the filter and sort shapes and the fix.
func (r *Report) Problems() []string {
	var out []string
	for _, p := range r.Plans {
		if p.Problem != "" {
			out = append(out, p.Query.Describe()+":\n    "+strings.ReplaceAll(p.Problem, "\n", "\n    "))
		}
	}
	return out
}

// Find returns the plans of the queries a function sent on a collection
// (both optional).
func (r *Report) Find(caller, coll string) []Plan {
	var out []Plan
	for _, p := range r.Plans {
		if (caller == "" || strings.Contains(p.Query.Caller, caller)) && (coll == "" || p.Query.Collection == coll) {
			out = append(out, p)
		}
	}
	return out
}

// DeclsFile is named in messages as the place to declare indexes.
var DeclsFile = "internal/store/mongo/indexes.go"

// Check judges every query against the declarations.
func Check(d Decls, qs []Query) Report {
	var r Report
	for _, q := range qs {
		r.Plans = append(r.Plans, check(&d, q))
	}
	return r
}

func check(d *Decls, q Query) Plan {
	p := Plan{Query: q}
	c, ok := d.collection(q.Collection)
	if !ok {
		p.Problem = fmt.Sprintf("collection %s is not declared: add it to Collections() in %s with its shard key, or say why it stays unsharded (or, if it cannot grow, why its queries need no index)",
			q.Collection, DeclsFile)
		return p
	}
	f := parseFilter(q.Filter)
	p.Target = target(c, f)
	var problems []string
	if q.Command == "insert" {
		if c.ShardKey != nil {
			var missing []string
			for _, e := range c.ShardKey {
				if !slices.Contains(q.Fields, e.Key) {
					missing = append(missing, e.Key)
				}
			}
			if len(missing) > 0 {
				problems = append(problems, fmt.Sprintf("inserted documents lack shard key field(s) %s of %s: they would all go to the chunk of null; give every document its shard key",
					strings.Join(missing, ", "), Shape(c.ShardKey)))
			}
			p.Target = OneShard
		}
		p.Problem = strings.Join(problems, "\n")
		return p
	}
	if q.Single && c.ShardKey != nil && p.Target != OneShard {
		what := "a single-document write"
		if q.Upsert {
			what = "an upsert"
		}
		problems = append(problems, fmt.Sprintf("%s without equality on the shard key %s reaches %s of a sharded collection (MongoDB before 7.0 refuses it): put the shard key in the filter",
			what, Shape(c.ShardKey), p.Target))
	}
	if c.Unchecked != "" {
		p.Exempt = c.Unchecked
		p.Problem = strings.Join(problems, "\n")
		return p
	}
	ix, residual, problem := serve(d, q, f)
	p.Index, p.Residual = ix, residual
	if problem != "" {
		problems = append(problems, problem)
	}
	if k := keysetProblem(q, f); k != "" {
		problems = append(problems, k)
	}
	p.Problem = strings.Join(problems, "\n")
	return p
}

// Predicate kinds, strongest last.
const (
	kOther = iota
	kRange
	kIn
	kEq
)

// conj is a conjunction of predicates, with the $or groups inside it.
type conj struct {
	kind  map[string]int
	order []string
	ors   [][]conj
}

func parseFilter(f bson.D) conj {
	c := conj{kind: map[string]int{}}
	c.add(f)
	return c
}

func (c *conj) set(field string, k int) {
	old, ok := c.kind[field]
	if !ok {
		c.order = append(c.order, field)
	}
	if !ok || k > old {
		c.kind[field] = k
	}
}

func (c *conj) add(f bson.D) {
	for _, e := range f {
		switch e.Key {
		case "$and":
			arr, _ := e.Value.(bson.A)
			for _, a := range arr {
				if d, ok := a.(bson.D); ok {
					c.add(d)
				}
			}
		case "$or":
			arr, _ := e.Value.(bson.A)
			var branches []conj
			for _, a := range arr {
				if d, ok := a.(bson.D); ok {
					branches = append(branches, parseFilter(d))
				}
			}
			if len(branches) == 1 {
				c.merge(branches[0])
			} else if len(branches) > 1 {
				c.ors = append(c.ors, branches)
			}
		default:
			if strings.HasPrefix(e.Key, "$") {
				continue // $nor, $expr, $comment: checked on documents
			}
			c.set(e.Key, predKind(e.Value))
		}
	}
}

func (c *conj) merge(o conj) {
	for _, f := range o.order {
		c.set(f, o.kind[f])
	}
	c.ors = append(c.ors, o.ors...)
}

func (c conj) clone() conj {
	n := conj{kind: make(map[string]int, len(c.kind)), order: slices.Clone(c.order), ors: slices.Clone(c.ors)}
	for k, v := range c.kind {
		n.kind[k] = v
	}
	return n
}

func predKind(v any) int {
	d, ok := v.(bson.D)
	if !ok || len(d) == 0 || !strings.HasPrefix(d[0].Key, "$") {
		return kEq
	}
	k := kOther
	for _, e := range d {
		switch e.Key {
		case "$eq":
			k = max(k, kEq)
		case "$in":
			if a, ok := e.Value.(bson.A); ok && len(a) == 1 {
				k = max(k, kEq)
			} else {
				k = max(k, kIn)
			}
		case "$lt", "$lte", "$gt", "$gte":
			k = max(k, kRange)
		}
	}
	return k
}

func (c *conj) eq(field string) bool { return c.kind[field] >= kIn }

// target tells which shards a query with filter f reaches.
func target(c Collection, f conj) Target {
	if c.ShardKey == nil {
		return Unsharded
	}
	first := c.ShardKey[0].Key
	switch {
	case f.kind[first] == kEq:
		return OneShard
	case f.kind[first] == kIn:
		return SomeShards
	case f.kind[first] == kRange && !c.Hashed():
		return SomeShards
	}
	// Every branch of an $or targeted: the union of their shards.
	for _, group := range f.ors {
		worst := OneShard
		for _, b := range group {
			if t := target(c, b); t == AllShards {
				worst = AllShards
			} else if t == SomeShards {
				worst = SomeShards
			}
		}
		if worst != AllShards {
			return SomeShards
		}
	}
	return AllShards
}

// fit is how an index serves a query.
type fit struct {
	index    Index
	eqPrefix int  // leading keys fixed by equality or $in
	bounded  bool // the scan is bounded by equality, a range or a limit
	sortOK   bool
	sortWhy  string // why the sort is not given
	point    bool   // a unique index with every key fixed: one document per value
	residual []string
}

func (x fit) serves() bool { return x.point || (x.bounded && x.sortOK) }

// better orders fits: serving first, then the longest equality prefix,
// then the fewest residual fields.
func (x fit) better(y fit) bool {
	if x.serves() != y.serves() {
		return x.serves()
	}
	if x.eqPrefix != y.eqPrefix {
		return x.eqPrefix > y.eqPrefix
	}
	if x.bounded != y.bounded {
		return x.bounded
	}
	if x.sortOK != y.sortOK {
		return x.sortOK
	}
	return len(x.residual) < len(y.residual)
}

// sortFields drops the sort fields fixed by a single-value equality.
func sortFields(s bson.D, f conj) bson.D {
	var out bson.D
	for _, e := range s {
		if f.kind[e.Key] != kEq {
			out = append(out, e)
		}
	}
	return out
}

func sign(v any) int {
	switch x := v.(type) {
	case int:
		return cmpSign(int64(x))
	case int32:
		return cmpSign(int64(x))
	case int64:
		return cmpSign(x)
	case float64:
		return cmpSign(int64(x))
	}
	return 0
}

func cmpSign(x int64) int {
	if x < 0 {
		return -1
	}
	return 1
}

func fitIndex(ix Index, q Query, f conj) fit {
	x := fit{index: ix}
	keys := ix.Keys
	i := 0
	for i < len(keys) && f.eq(keys[i].Key) {
		i++
	}
	x.eqPrefix = i
	allFixed := i == len(keys)
	x.point = ix.Unique && allFixed
	s := sortFields(q.Sort, f)
	if q.DistinctOn != "" {
		s = bson.D{{Key: q.DistinctOn, Value: 1}}
	}
	x.sortOK = len(s) == 0
	walksSort := false
	j := i
	if len(s) > 0 {
		dir := 0
		x.sortOK = true
		for n, e := range s {
			for j < len(keys) && f.eq(keys[j].Key) && keys[j].Key != e.Key {
				j++
			}
			if j >= len(keys) {
				x.sortOK = false
				x.sortWhy = fmt.Sprintf("it ends before the sort field %s", e.Key)
				break
			}
			if keys[j].Key != e.Key {
				x.sortOK = false
				x.sortWhy = fmt.Sprintf("it has %s where the sort needs %s", keys[j].Key, e.Key)
				break
			}
			d := sign(keys[j].Value) * sign(e.Value)
			if d == 0 {
				x.sortOK = false
				x.sortWhy = fmt.Sprintf("its key %s is %v, not ordered", e.Key, keys[j].Value)
				break
			}
			if n == 0 {
				dir = d
			} else if d != dir {
				x.sortOK = false
				x.sortWhy = fmt.Sprintf("the sort's directions %s mix what the index's %s gives forwards and backwards", Shape(q.Sort), Shape(ix.Keys))
				break
			}
			j++
		}
		walksSort = x.sortOK && i == 0
	}
	switch {
	case x.eqPrefix > 0:
		x.bounded = true
	case len(keys) > 0 && f.kind[keys[0].Key] == kRange:
		x.bounded = true
	case walksSort && (q.Limit || q.DistinctOn != "") && onlySortFields(f, s):
		// Walks the index in sort order and stops after the limit, or
		// skips from one distinct value to the next. With a predicate on
		// another field the walk would read every entry the predicate
		// rejects before it fills the limit: that is a scan.
		x.bounded = true
	}
	in := map[string]bool{}
	for _, k := range keys {
		in[k.Key] = true
	}
	for _, fld := range f.order {
		if !in[fld] && f.kind[fld] > kOther {
			x.residual = append(x.residual, fld)
		}
	}
	return x
}

// serve finds the declared index that serves q. It returns the index's
// name and residual fields, or the problem.
func serve(d *Decls, q Query, f conj) (string, []string, string) {
	if q.NoMatch {
		return "", nil, "collection scan: the aggregate does not start with $match (or with a $sort an index gives and a $group by that field alone), so it reads every document\n" +
			"fix: start the pipeline with a $match on indexed fields"
	}
	best, ok := bestFit(d, q, f)
	if ok {
		return best.index.Name, best.residual, ""
	}
	// An $or whose every branch is served: MongoDB runs one index scan
	// per branch (and merges them in order when each gives the sort).
	for gi, group := range f.ors {
		rest := f.clone()
		rest.ors = slices.Delete(slices.Clone(rest.ors), gi, gi+1)
		var names []string
		all := true
		for _, b := range group {
			c := rest.clone()
			c.merge(b)
			x, ok := bestFit(d, q, c)
			if !ok {
				all = false
				break
			}
			names = append(names, x.index.Name)
		}
		if all {
			return "$or(" + strings.Join(names, ", ") + ")", nil, ""
		}
	}
	return "", nil, diagnose(q, f, best)
}

func bestFit(d *Decls, q Query, f conj) (fit, bool) {
	var best fit
	for i, ix := range d.indexes(q.Collection) {
		x := fitIndex(ix, q, f)
		if i == 0 || x.better(best) {
			best = x
		}
	}
	return best, best.serves()
}

func diagnose(q Query, f conj, best fit) string {
	var why string
	s := sortFields(q.Sort, f)
	switch {
	case best.bounded && !best.sortOK:
		why = fmt.Sprintf("in-memory sort: index %s %s bounds the filter but cannot give the sort %s: %s; MongoDB would sort every matching document",
			best.index.Name, Shape(best.index.Keys), Shape(q.Sort), best.sortWhy)
	case best.sortOK && len(s) > 0 && q.Limit:
		why = fmt.Sprintf("scan in index order: index %s %s gives the sort %s, but the filter's %s is not among its leading keys, so the walk reads every entry the filter rejects before it fills the limit",
			best.index.Name, Shape(best.index.Keys), Shape(q.Sort), strings.Join(best.residual, ", "))
	case best.sortOK && len(s) > 0:
		why = fmt.Sprintf("reads every document: index %s %s gives the sort %s, but the filter bounds none of its leading keys and there is no limit",
			best.index.Name, Shape(best.index.Keys), Shape(q.Sort))
	default:
		why = "collection scan: no declared index starts with a field the filter fixes by equality or bounds by a range"
		if len(s) > 0 {
			why += ", and none gives the sort " + Shape(q.Sort)
		}
	}
	return why + "\nfix: " + suggest(q, f)
}

// suggest proposes the index the equality–sort–range rule asks for.
func suggest(q Query, f conj) string {
	var keys bson.D
	for _, k := range []int{kEq, kIn} {
		for _, fld := range f.order {
			if f.kind[fld] == k {
				keys = append(keys, bson.E{Key: fld, Value: 1})
			}
		}
	}
	has := func(k string) bool {
		return slices.ContainsFunc(keys, func(e bson.E) bool { return e.Key == k })
	}
	for _, e := range sortFields(q.Sort, f) {
		if !has(e.Key) {
			keys = append(keys, bson.E{Key: e.Key, Value: sign(e.Value)})
		}
	}
	if q.DistinctOn != "" && !has(q.DistinctOn) {
		keys = append(keys, bson.E{Key: q.DistinctOn, Value: 1})
	}
	for _, fld := range f.order {
		if f.kind[fld] == kRange && !has(fld) {
			keys = append(keys, bson.E{Key: fld, Value: 1})
			break
		}
	}
	if len(keys) == 0 {
		return "give the query an equality or a range on an indexed field, or a sort an index gives and a limit"
	}
	return fmt.Sprintf("declare in %s an index %s (equality fields, then the sort, then a range), or change the query to fit a declared one",
		DeclsFile, Shape(keys))
}

// keysetProblem finds a keyset cursor ($or of "before the cursor" on the
// first sort field) without a range bound on that field beside it: the
// scan then starts at the first page whatever the cursor.
func keysetProblem(q Query, f conj) string {
	s := sortFields(q.Sort, f)
	if len(s) == 0 || f.kind[s[0].Key] >= kRange {
		return ""
	}
	first := s[0].Key
	for _, group := range f.ors {
		all := true
		for _, b := range group {
			if b.kind[first] < kRange {
				all = false
			}
		}
		if all {
			op := "$lte"
			if sign(s[0].Value) > 0 {
				op = "$gte"
			}
			return fmt.Sprintf("unbounded keyset: the cursor's $or on %s does not bound the index scan, so page N reads every earlier page again\nfix: add {%s: {%s: <cursor's %s>}} beside the $or",
				first, first, op, first)
		}
	}
	return ""
}

// onlySortFields reports whether the filter's predicates are all on sort
// fields (as a cursor's bounds are).
func onlySortFields(f conj, s bson.D) bool {
	for _, fld := range f.order {
		if f.kind[fld] > kOther && !slices.ContainsFunc(s, func(e bson.E) bool { return e.Key == fld }) {
			return false
		}
	}
	return true
}
