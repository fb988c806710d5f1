package plancheck

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
)

// Query is one query a command carries: a find, count, distinct, update,
// delete, findAndModify, an aggregate's leading stages, or an insert.
type Query struct {
	Command    string // find, count, distinct, aggregate, update, delete, findAndModify, insert
	Collection string
	Filter     bson.D
	Sort       bson.D
	// Limit tells whether the query stops after a number of documents.
	Limit bool
	// Single marks a write of at most one document (update without multi,
	// delete with limit 1, findAndModify), which a sharded cluster must be
	// able to route by the shard key.
	Single bool
	Upsert bool
	// DistinctOn names the field of an aggregate that sorts on it and then
	// groups by it alone, which MongoDB answers by skipping along an index
	// (DISTINCT_SCAN).
	DistinctOn string
	// NoMatch marks an aggregate that does not start with $match (nor with
	// a $sort it can take from an index): it reads every document.
	NoMatch bool
	// Fields lists, for an insert, the fields every one of its documents
	// carries (not null), to check that each carries the shard key.
	Fields []string
	// ReadPref is the mode of the $readPreference the command carried, ""
	// when it carried none (primary).
	ReadPref string
	// Concern is the write concern a write carried, as sent.
	Concern bson.D
	// Caller is the store function that sent the command.
	Caller string
}

// shape identifies a query up to its values.
func (q *Query) shape() string {
	return strings.Join([]string{q.Command, q.Collection, FilterShape(q.Filter), Shape(q.Sort), fmt.Sprint(q.Limit, q.Single, q.Upsert),
		q.DistinctOn, fmt.Sprint(q.NoMatch), strings.Join(q.Fields, ","), q.ReadPref, Shape(q.Concern), q.Caller}, "|")
}

// Describe prints the query without its values.
func (q *Query) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", q.Collection, q.Command)
	if q.Command != "insert" {
		fmt.Fprintf(&b, " filter %s", FilterShape(q.Filter))
	}
	if len(q.Sort) > 0 {
		fmt.Fprintf(&b, " sort %s", Shape(q.Sort))
	}
	if q.DistinctOn != "" {
		fmt.Fprintf(&b, " distinct %s", q.DistinctOn)
	}
	if q.Limit {
		b.WriteString(" limit")
	}
	if q.Caller != "" {
		fmt.Fprintf(&b, " (sent by %s)", q.Caller)
	}
	return b.String()
}

// Recorder keeps the queries of the commands a client sends, once per
// shape. It is safe for concurrent use.
type Recorder struct {
	// CallerPrefix selects the stack frame named as a query's sender: the
	// first whose function starts with it, e.g. "certd/internal/store/mongo.".
	CallerPrefix string

	mu      sync.Mutex
	queries []Query
	seen    map[string]bool
}

// Monitor returns the command monitor to give the driver
// (options.Client().SetMonitor).
func (r *Recorder) Monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		qs := Parse(e.CommandName, e.Command)
		if len(qs) == 0 {
			return
		}
		caller := r.caller()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.seen == nil {
			r.seen = map[string]bool{}
		}
		for _, q := range qs {
			q.Caller = caller
			if k := q.shape(); !r.seen[k] {
				r.seen[k] = true
				r.queries = append(r.queries, q)
			}
		}
	}}
}

// caller names the store function on the stack: the driver publishes the
// started event in the goroutine that runs the operation.
func (r *Recorder) caller() string {
	if r.CallerPrefix == "" {
		return ""
	}
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	// The innermost frame of the store, and the outermost one before the
	// stack leaves it: the repository method the caller called.
	var inner, outer string
	for {
		f, more := frames.Next()
		in := strings.HasPrefix(f.Function, r.CallerPrefix) && !strings.Contains(f.Function, "/plancheck.")
		if in {
			name := strings.TrimPrefix(f.Function, r.CallerPrefix)
			if inner == "" {
				inner = name
			}
			outer = name
		} else if outer != "" && !strings.HasPrefix(f.Function, "go.mongodb.org/") {
			break
		}
		if !more {
			break
		}
	}
	if inner != outer {
		return outer + " via " + inner
	}
	return outer
}

// Queries returns the recorded queries, in a stable order.
func (r *Recorder) Queries() []Query {
	r.mu.Lock()
	out := append([]Query(nil), r.queries...)
	r.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].shape() < out[j].shape() })
	return out
}

// Reset forgets what was recorded.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.queries, r.seen = nil, nil
	r.mu.Unlock()
}

// Parse returns the queries of one command; commands that query nothing
// (hello, getMore, createIndexes, ...) have none.
func Parse(name string, raw bson.Raw) []Query {
	var cmd bson.D
	if err := bson.Unmarshal(raw, &cmd); err != nil {
		return nil
	}
	get := func(k string) any {
		for _, e := range cmd {
			if e.Key == k {
				return e.Value
			}
		}
		return nil
	}
	coll, _ := get(name).(string)
	base := Query{Command: name, Collection: coll}
	if rp, ok := get("$readPreference").(bson.D); ok {
		base.ReadPref, _ = lookup(rp, "mode").(string)
	}
	if wc, ok := get("writeConcern").(bson.D); ok {
		base.Concern = wc
	}
	switch name {
	case "find":
		q := base
		q.Filter, _ = get("filter").(bson.D)
		q.Sort, _ = get("sort").(bson.D)
		q.Limit = get("limit") != nil
		return []Query{q}
	case "count", "distinct":
		q := base
		q.Filter, _ = get("query").(bson.D)
		q.Limit = get("limit") != nil
		return []Query{q}
	case "findAndModify":
		q := base
		q.Filter, _ = get("query").(bson.D)
		q.Sort, _ = get("sort").(bson.D)
		q.Single, q.Limit = true, true
		q.Upsert, _ = get("upsert").(bool)
		return []Query{q}
	case "update", "delete":
		key := "updates"
		if name == "delete" {
			key = "deletes"
		}
		items, _ := get(key).(bson.A)
		var out []Query
		for _, it := range items {
			d, ok := it.(bson.D)
			if !ok {
				continue
			}
			q := base
			q.Filter, _ = lookup(d, "q").(bson.D)
			if name == "update" {
				multi, _ := lookup(d, "multi").(bool)
				q.Single = !multi
				q.Upsert, _ = lookup(d, "upsert").(bool)
			} else {
				q.Single = fmt.Sprint(lookup(d, "limit")) == "1"
			}
			q.Limit = q.Single
			out = append(out, q)
		}
		return out
	case "insert":
		docs, _ := get("documents").(bson.A)
		var fields []string
		for i, it := range docs {
			d, ok := it.(bson.D)
			if !ok {
				continue
			}
			fs := map[string]bool{}
			for _, e := range d {
				if e.Value != nil {
					fs[e.Key] = true
				}
			}
			if i == 0 {
				for k := range fs {
					fields = append(fields, k)
				}
				continue
			}
			// Keep the fields every document carries.
			kept := fields[:0]
			for _, f := range fields {
				if fs[f] {
					kept = append(kept, f)
				}
			}
			fields = kept
		}
		sort.Strings(fields)
		q := base
		q.Fields = fields
		return []Query{q}
	case "aggregate":
		stages, _ := get("pipeline").(bson.A)
		return []Query{parsePipeline(base, stages)}
	}
	return nil
}

// parsePipeline reads an aggregate's leading $match, the $sort and $limit
// right after it, or a leading $sort and $group by the sorted field.
func parsePipeline(q Query, stages bson.A) Query {
	var ds []bson.D
	for _, s := range stages {
		if d, ok := s.(bson.D); ok && len(d) == 1 {
			ds = append(ds, d)
		}
	}
	i := 0
	if i < len(ds) && ds[i][0].Key == "$match" {
		q.Filter, _ = ds[i][0].Value.(bson.D)
		i++
	} else if i >= len(ds) || ds[i][0].Key != "$sort" {
		q.NoMatch = true
		return q
	}
	if i < len(ds) && ds[i][0].Key == "$sort" {
		q.Sort, _ = ds[i][0].Value.(bson.D)
		i++
		if q.Filter == nil && len(q.Sort) > 0 && i < len(ds) && ds[i][0].Key == "$group" {
			if g, ok := ds[i][0].Value.(bson.D); ok && len(g) == 1 && g[0].Key == "_id" && g[0].Value == "$"+q.Sort[0].Key {
				q.DistinctOn = q.Sort[0].Key
			}
		}
	}
loop:
	for ; i < len(ds); i++ {
		switch ds[i][0].Key {
		case "$limit":
			q.Limit = true
			break loop
		case "$skip", "$project", "$addFields", "$set", "$unset":
		default:
			break loop
		}
	}
	if q.Filter == nil && q.DistinctOn == "" && !q.Limit {
		q.NoMatch = true
	}
	return q
}

func lookup(d bson.D, k string) any {
	for _, e := range d {
		if e.Key == k {
			return e.Value
		}
	}
	return nil
}

// FilterShape prints a filter without its values: each field with the
// kind of predicate on it (eq, in, range, or the operator).
func FilterShape(f bson.D) string {
	parts := make([]string, 0, len(f))
	for _, e := range f {
		switch e.Key {
		case "$and", "$or", "$nor":
			arr, _ := e.Value.(bson.A)
			var subs []string
			for _, a := range arr {
				if d, ok := a.(bson.D); ok {
					subs = append(subs, FilterShape(d))
				}
			}
			parts = append(parts, e.Key+"["+strings.Join(subs, ", ")+"]")
		default:
			parts = append(parts, e.Key+": "+predShape(e.Value))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func predShape(v any) string {
	d, ok := v.(bson.D)
	if !ok || len(d) == 0 || !strings.HasPrefix(d[0].Key, "$") {
		return "eq"
	}
	ops := make([]string, len(d))
	for i, e := range d {
		ops[i] = e.Key
		if e.Key == "$in" {
			if a, ok := e.Value.(bson.A); ok && len(a) == 1 {
				ops[i] = "$in[1]"
			}
		}
	}
	return strings.Join(ops, " ")
}
