package server

import (
	"context"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"certd/internal/apperr"
)

// depthLimit refuses operations whose selections nest deeper than max,
// following fragments, before anything executes.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if n := depth(oc.Operation.SelectionSet, oc.Doc.Fragments); n > d.max {
		return &gqlerror.Error{
			Message:    "query is nested too deeply: depth " + strconv.Itoa(n) + ", limit " + strconv.Itoa(d.max),
			Extensions: map[string]any{"code": string(apperr.ComplexityExceeded)},
		}
	}
	return nil
}

// depth is how deeply the fields of set nest: 1 for top-level fields only.
func depth(set ast.SelectionSet, frags ast.FragmentDefinitionList) int {
	deepest := 0
	walkFields(set, frags, 1, map[string]bool{}, func(_ *ast.Field, level int) bool {
		deepest = max(deepest, level)
		return true
	})
	return deepest
}

// walkFields calls visit with every field of set and its nesting level
// (fields of set are at level), following inline fragments and fragment
// spreads; a spread inside its own fragment is a cycle, which validation
// rejects, and is not followed. It stops, returning false, as soon as
// visit returns false.
//
// __Type.ofType does not nest: it unwraps a list or non-null type, one
// object, never a list, so a chain of them cannot fan out. The standard
// introspection query of graphql-js (which GraphiQL and code generators
// send) nests nine of them in its TypeRef fragment; counted, they would
// make it depth 15.
func walkFields(set ast.SelectionSet, frags ast.FragmentDefinitionList, level int, visiting map[string]bool, visit func(f *ast.Field, level int) bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			next := level + 1
			if s.Name == "ofType" && s.ObjectDefinition != nil && s.ObjectDefinition.Name == "__Type" {
				next = level
			}
			if !visit(s, level) || !walkFields(s.SelectionSet, frags, next, visiting, visit) {
				return false
			}
		case *ast.InlineFragment:
			if !walkFields(s.SelectionSet, frags, level, visiting, visit) {
				return false
			}
		case *ast.FragmentSpread:
			f := frags.ForName(s.Name)
			if visiting[s.Name] || f == nil {
				continue
			}
			visiting[s.Name] = true
			ok := walkFields(f.SelectionSet, frags, level, visiting, visit)
			delete(visiting, s.Name)
			if !ok {
				return false
			}
		}
	}
	return true
}
