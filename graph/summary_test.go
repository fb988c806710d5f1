package graph

import (
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// certificatesSelection returns the selection under the first field
// named certificates of a validated query.
func certificatesSelection(t *testing.T, query string) ast.SelectionSet {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(NewExecutableSchema(Config{}).Schema(), query, nil)
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	var find func(sel ast.SelectionSet) ast.SelectionSet
	find = func(sel ast.SelectionSet) ast.SelectionSet {
		for _, s := range sel {
			if f, ok := s.(*ast.Field); ok {
				if f.Name == "certificates" {
					return f.SelectionSet
				}
				if got := find(f.SelectionSet); got != nil {
					return got
				}
			}
		}
		return nil
	}
	sel := find(doc.Operations[0].SelectionSet)
	if sel == nil {
		t.Fatalf("%s: no certificates field", query)
	}
	return sel
}

// TestSummariesOnlyWhenNothingLackingIsAsked: a listing reads summaries
// only when no field a summary lacks is selected, however the query
// reaches it (directly, in nested objects, inline fragments, named
// fragments, aliases, connections).
func TestSummariesOnlyWhenNothingLackingIsAsked(t *testing.T) {
	summary := []string{
		`{ me { certificates { id state data } } }`,
		`query($id: ID!) { case(id: $id) { certificates { id state validUntil holder { code name } data citable type { name } issuer { name } } } }`,
		`{ certificates { totalCount edges { cursor node { id data(fields: ["name"]) versions { id } } } } }`,
		`{ me { certificates { ... on Certificate { id current } } } }`,
		`{ me { certificates { ...s } } } fragment s on Certificate { id state }`,
	}
	whole := []string{
		`{ me { certificates { id sealedDocument } } }`,
		`{ me { certificates { doc: sealedDocument } } }`,
		`{ me { certificates { seal { signature } } } }`,
		`{ me { certificates { history { action } } } }`,
		`{ me { certificates { inspections { passed } } } }`,
		`{ me { certificates { timeliness { late } } } }`,
		`{ me { certificates { ... on Certificate { seal { keyId } } } } }`,
		`{ me { certificates { ...f } } } fragment f on Certificate { id history { at } }`,
		`{ me { certificates { ...g } } } fragment g on Certificate { ...h } fragment h on Certificate { sealedDocument }`,
		`{ certificates { edges { node { id sealedDocument } } } }`,
		`{ me { certificates { versions { sealedDocument } } } }`,
	}
	for _, q := range summary {
		if asks(certificatesSelection(t, q), 0) {
			t.Errorf("%s: read whole, though a summary answers it", q)
		}
	}
	for _, q := range whole {
		if !asks(certificatesSelection(t, q), 0) {
			t.Errorf("%s: read as a summary, though it asks what a summary lacks", q)
		}
	}
}
