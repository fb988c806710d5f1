package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"certd/internal/certificate"
)

// summaryLacks are the Certificate fields a summary of a licence cannot
// answer (certificate.Certificate.Summary).
var summaryLacks = map[string]bool{"sealedDocument": true, "seal": true, "history": true, "inspections": true, "timeliness": true}

// summariesUnlessAsked returns ctx marked for licence summaries
// (certificate.WithSummaries) when nothing selected under the field being
// resolved is a field a summary lacks, and ctx unchanged otherwise: a
// listing then reads only the columns its view shows, and the sealed
// document only when asked. Any field of such a name at any depth, in
// any fragment, counts as asked.
func summariesUnlessAsked(ctx context.Context) context.Context {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil || asks(fc.Field.Selections, 0) {
		return ctx
	}
	return certificate.WithSummaries(ctx)
}

// asks reports whether sel selects, at any depth, a field a summary
// lacks. Past a depth no valid query reaches it answers yes.
func asks(sel ast.SelectionSet, depth int) bool {
	if depth > 32 {
		return true
	}
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if summaryLacks[s.Name] || asks(s.SelectionSet, depth+1) {
				return true
			}
		case *ast.InlineFragment:
			if asks(s.SelectionSet, depth+1) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || asks(s.Definition.SelectionSet, depth+1) {
				return true
			}
		default:
			return true
		}
	}
	return false
}
