package graph

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/certificate"
)

// The audit of what a response carries of licences (DESIGN §6).
//
// Services hand licences out as certificate.Views, with what the reader
// may see decided once. Whatever resolver returns views places them in
// the response: AuditViews, a field middleware, notes each view with its
// position, the field that returned it and its index in a list (a type
// switch on the field's result, nothing more). Answers that reveal
// licences otherwise (an annotated copy, missing types) note what they
// reveal at their own field (showAt).
//
// When the response is complete, AuditGate decides from it what reached
// the client. With no error in it, everything placed did. Otherwise each
// position is looked up in the response's data, as gqlgen's null
// propagation left it, and what was nulled is recorded as NOT_DELIVERED.
// The fields recorded for a view are those its position's selection asked
// for (fragments and @skip/@include resolved as gqlgen resolved them):
// each of them is in the response when the view is. Its data is recorded
// as data.<key> for each key the view shows, narrowed by data(fields:).
// Placing a licence is a read of it, whatever is selected: __typename
// alone shows that it exists.

// shown is what a response placed: views and other reads at positions.
type shown struct {
	mu      sync.Mutex
	entries []shownEntry
	first   [8]shownEntry // room for the entries of most responses
	done    bool          // recorded: later placements (deferred fragments) never reach this response
}

type shownEntry struct {
	fc    *graphql.FieldContext
	index int               // the view's index in fc's list; -1: fc's value itself
	view  *certificate.View // nil for other reads
	read  *audit.Read       // other reads, their fields set
}

type shownKey struct{}

func (s *shown) add(e shownEntry) {
	s.mu.Lock()
	if !s.done {
		s.entries = append(s.entries, e)
	}
	s.mu.Unlock()
}

// AuditViews is a field middleware: it notes the views a field returns
// (one, or a list) at the field's position in the response.
func AuditViews(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil {
		return res, err
	}
	switch v := res.(type) {
	case *certificate.View:
		if s, _ := ctx.Value(shownKey{}).(*shown); s != nil && v != nil {
			s.add(shownEntry{fc: graphql.GetFieldContext(ctx), index: -1, view: v})
		}
	case []*certificate.View:
		if s, _ := ctx.Value(shownKey{}).(*shown); s != nil && len(v) > 0 {
			fc := graphql.GetFieldContext(ctx)
			s.mu.Lock()
			for i, x := range v {
				if !s.done {
					s.entries = append(s.entries, shownEntry{fc: fc, index: i, view: x})
				}
			}
			s.mu.Unlock()
		}
	}
	return res, err
}

// showAt notes a read that the field being resolved reveals, recorded
// when that field reaches the client.
func showAt(ctx context.Context, r audit.Read) {
	if s, _ := ctx.Value(shownKey{}).(*shown); s != nil {
		s.add(shownEntry{fc: graphql.GetFieldContext(ctx), index: -1, read: &r})
	}
}

// AuditGate is a response middleware: it records what the response
// carries of licences (see above), stores the request's audit records
// through g, naming the operation with label, and only then lets the
// response out. When they cannot be stored, the client gets
// AUDIT_UNAVAILABLE and no data (fail closed).
func AuditGate(g *audit.Gate, label func(context.Context) string) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		s := &shown{}
		s.entries = s.first[:0]
		ctx = context.WithValue(ctx, shownKey{}, s)
		resp := next(ctx)
		t := audit.TrailFrom(ctx)
		s.record(ctx, t, resp)
		if err := g.Commit(ctx, t, label(ctx)); err != nil {
			_, msg, _ := apperr.CodeOf(apperr.Wrap(err, apperr.AuditUnavailable, "audit log unavailable; no data returned"))
			return &graphql.Response{Errors: gqlerror.List{{
				Message:    msg,
				Extensions: map[string]any{"code": string(apperr.AuditUnavailable)},
			}}}
		}
		return resp
	}
}

// record puts what the response carried into the trail.
func (s *shown) record(ctx context.Context, t *audit.Trail, resp *graphql.Response) {
	s.mu.Lock()
	s.done = true
	entries := s.entries
	s.mu.Unlock()
	if t == nil || len(entries) == 0 {
		return // a request refused before it ran has no operation context either
	}
	oc := graphql.GetOperationContext(ctx)
	var reached func(*shownEntry) bool // nil: everything placed reached the client
	if resp == nil || len(resp.Errors) > 0 || len(resp.Data) == 0 {
		reached = deliveries(resp)
	}
	var last *selection // the entries of a list share their position's field
	for i := range entries {
		e := &entries[i]
		delivered := reached == nil || reached(e)
		if e.view == nil {
			e.read.Delivered = delivered
			t.Show(*e.read)
			continue
		}
		if last == nil || last.field != e.fc.Field.Field {
			last = selectionFor(oc, &e.fc.Field)
		}
		t.Show(audit.Read{Ref: e.view.AuditRef(), Fields: last.fieldsOf(e.view), Delivered: delivered})
	}
}

// deliveries tells whether a position reached the client in resp, which
// has errors: whether its data, after gqlgen's null propagation, still
// holds it.
func deliveries(resp *graphql.Response) func(e *shownEntry) bool {
	if resp == nil {
		return func(*shownEntry) bool { return false }
	}
	var data any
	if json.Unmarshal(resp.Data, &data) != nil {
		data = nil
	}
	return func(e *shownEntry) bool {
		path := e.fc.Path()
		if e.index >= 0 {
			path = append(path, ast.PathIndex(e.index))
		}
		return present(data, path)
	}
}

// present reports whether data holds a value other than null at path.
func present(data any, path ast.Path) bool {
	for _, p := range path {
		switch p := p.(type) {
		case ast.PathName:
			m, ok := data.(map[string]any)
			if !ok {
				return false
			}
			data = m[string(p)]
		case ast.PathIndex:
			l, ok := data.([]any)
			if !ok || int(p) < 0 || int(p) >= len(l) {
				return false
			}
			data = l[p]
		}
	}
	return data != nil
}

// selection is what a position asks of the licences at it: the field
// paths (holder.name, state…), and the data fields, each data selection's
// fields argument (nil: all the view shows).
type selection struct {
	field *ast.Field
	paths []string
	data  [][]string
	all   bool // a data selection without fields
}

// selections keeps the selections that do not depend on the request's
// variables, by the field of the query document (gqlgen keeps parsed
// documents in its query cache, so a query sent again has the same
// fields): a case read then collects its selection once, not per request.
var (
	selections     sync.Map // *ast.Field → *selection
	selectionsKept atomic.Int64
)

// maxSelections bounds selections (and the documents it keeps alive).
const maxSelections = 4096

// selectionFor is the selection of the licences at field cf. A field
// given twice under one name (merged by gqlgen, maybe depending on
// variables) is collected anew each time.
func selectionFor(oc *graphql.OperationContext, cf *graphql.CollectedField) *selection {
	f := cf.Field
	merged := len(cf.Selections) != len(f.SelectionSet)
	if !merged {
		if s, ok := selections.Load(f); ok {
			return s.(*selection)
		}
	}
	sel := selectionOf(oc, cf.Selections)
	sel.field = f
	if !merged && !usesVariables(f.SelectionSet, 0) && selectionsKept.Add(1) <= maxSelections {
		selections.Store(f, sel)
	}
	return sel
}

// usesVariables reports whether what set selects can depend on variables:
// a directive (@skip, @include) or an argument given one, at the depths
// selectionOf looks at.
func usesVariables(set ast.SelectionSet, depth int) bool {
	if depth > 3 {
		return true
	}
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if directivesUse(s.Directives) || argumentsUse(s.Arguments) || usesVariables(s.SelectionSet, depth+1) {
				return true
			}
		case *ast.InlineFragment:
			if directivesUse(s.Directives) || usesVariables(s.SelectionSet, depth+1) {
				return true
			}
		case *ast.FragmentSpread:
			if directivesUse(s.Directives) || s.Definition == nil || usesVariables(s.Definition.SelectionSet, depth+1) {
				return true
			}
		}
	}
	return false
}

func directivesUse(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if argumentsUse(d.Arguments) {
			return true
		}
	}
	return false
}

func argumentsUse(args ast.ArgumentList) bool {
	for _, a := range args {
		if valueUses(a.Value) {
			return true
		}
	}
	return false
}

func valueUses(v *ast.Value) bool {
	if v == nil {
		return false
	}
	if v.Kind == ast.Variable {
		return true
	}
	for _, c := range v.Children {
		if valueUses(c.Value) {
			return true
		}
	}
	return false
}

// notOwnData are the types whose fields are not the licence's own: other
// licences (versions, recorded as reads of their own) and the public
// catalogue. A licence's type and issuer are recorded as "type" and
// "issuer".
var notOwnData = map[string]bool{"Certificate": true, "CertificateType": true, "Unit": true}

// selectionOf collects the selection set of a Certificate position as
// gqlgen executes it. Deferred fields are not in this response.
func selectionOf(oc *graphql.OperationContext, set ast.SelectionSet) *selection {
	sel := &selection{}
	for _, f := range graphql.CollectFields(oc, set, []string{"Certificate"}) {
		if len(f.Deferrables) > 0 {
			continue
		}
		switch {
		case f.Name == "data":
			if names := dataFields(f.ArgumentMap(oc.Variables)["fields"]); names != nil {
				sel.data = append(sel.data, names)
			} else {
				sel.all = true
			}
		case len(f.Selections) > 0 && f.Definition != nil && !notOwnData[f.Definition.Type.Name()]:
			for _, sub := range graphql.CollectFields(oc, f.Selections, []string{f.Definition.Type.Name()}) {
				if len(sub.Deferrables) == 0 {
					sel.paths = append(sel.paths, fieldPaths.join(f.Name, sub.Name))
				}
			}
		default:
			sel.paths = append(sel.paths, f.Name)
		}
	}
	return sel
}

// dataFields is data's fields argument as names; nil when absent.
func dataFields(arg any) []string {
	l, ok := arg.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// fieldsOf lists the field paths the response carries of v at a position
// of this selection: the trail takes the slice over. What the view
// withholds reached the client blank or null: it is not a read.
func (sel *selection) fieldsOf(v *certificate.View) []string {
	out := make([]string, 0, len(sel.paths)+len(v.Data))
	for _, p := range sel.paths {
		if v.Shows(p) {
			out = append(out, p)
		}
	}
	if sel.all {
		for k := range v.Data {
			out = append(out, fieldPaths.join("data", k))
		}
		return out
	}
	for _, names := range sel.data {
		for _, k := range names {
			if _, ok := v.Data[k]; ok {
				out = append(out, fieldPaths.join("data", k))
			}
		}
	}
	return out
}

// fieldPaths keeps the two-part field paths ("holder.name", "data.address")
// built so far, so that recording a read does not build the same string
// for every licence of every request.
var fieldPaths = pathCache{m: map[[2]string]string{}}

// maxFieldPaths bounds fieldPaths: licence data keys come from the
// catalogue's types, a few hundred; past the bound paths are built anew.
const maxFieldPaths = 4096

type pathCache struct {
	mu sync.RWMutex
	m  map[[2]string]string
}

// join returns a + "." + b.
func (c *pathCache) join(a, b string) string {
	k := [2]string{a, b}
	c.mu.RLock()
	p, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = a + "." + b
	c.mu.Lock()
	if len(c.m) < maxFieldPaths {
		c.m[[2]string{strings.Clone(a), strings.Clone(b)}] = p
	}
	c.mu.Unlock()
	return p
}
