package server

import (
	"context"

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
	if n := depth(oc.Operation.SelectionSet, oc.Doc.Fragments, 0, map[string]bool{}); n > d.max {
		return &gqlerror.Error{
			Message:    "query is nested too deeply: depth " + itoa(n) + ", limit " + itoa(d.max),
			Extensions: map[string]any{"code": string(apperr.ComplexityExceeded)},
		}
	}
	return nil
}

func depth(set ast.SelectionSet, frags ast.FragmentDefinitionList, level int, visiting map[string]bool) int {
	deepest := level
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				d = level + 1
			} else {
				d = depth(s.SelectionSet, frags, level+1, visiting)
			}
		case *ast.InlineFragment:
			d = depth(s.SelectionSet, frags, level, visiting)
		case *ast.FragmentSpread:
			if visiting[s.Name] {
				continue // a cycle; validation rejects it
			}
			if f := frags.ForName(s.Name); f != nil {
				visiting[s.Name] = true
				d = depth(f.SelectionSet, frags, level, visiting)
				delete(visiting, s.Name)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
