package server

import (
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func parse(t *testing.T, q string) *ast.QueryDocument {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestDepthFollowsFragments(t *testing.T) {
	for q, want := range map[string]int{
		`{ a }`:                          1,
		`{ a { b { c } } d }`:            3,
		`{ a { ... on T { b { c } } } }`: 3,
		`{ a { ...F } } fragment F on T { b { c { d } } }`: 4,
		// The same fragment in two branches counts in each.
		`{ a { ...F } x { y { ...F } } } fragment F on T { b }`: 3,
		// A cycle is not followed (validation rejects it).
		`{ a { ...F } } fragment F on T { b { ...F } }`: 2,
	} {
		doc := parse(t, q)
		if got := depth(doc.Operations[0].SelectionSet, doc.Fragments); got != want {
			t.Errorf("%s: depth %d, want %d", q, got, want)
		}
	}
}

func TestIntrospectionIsFoundAnywhere(t *testing.T) {
	ext := noIntrospection{}
	for q, refused := range map[string]bool{
		`{ units { code } __typename }`:                                          false,
		`{ __schema { types { name } } }`:                                        true,
		`{ s: __type(name: "X") { name } }`:                                      true,
		`{ ...F } fragment F on Query { a { __schema { queryType { name } } } }`: true,
		`{ ... on Query { __type(name: "X") { name } } }`:                        true,
	} {
		doc := parse(t, q)
		oc := &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0]}
		if got := ext.MutateOperationContext(t.Context(), oc) != nil; got != refused {
			t.Errorf("%s: refused %v, want %v", q, got, refused)
		}
	}
}

func TestOfTypeDoesNotNest(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: "type Query { a: T } type T { ofType: T, n: Int }"})
	for q, want := range map[string]int{
		`{ __schema { types { ofType { ofType { ofType { name } } } } } }`: 3,
		`{ __schema { types { fields { type { ofType { name } } } } } }`:   5,
		// A field of the application's own that happens to be called ofType nests.
		`{ a { ofType { ofType { n } } } }`: 4,
	} {
		doc, errs := gqlparser.LoadQueryWithRules(schema, q, nil)
		if errs != nil {
			t.Fatalf("%s: %v", q, errs)
		}
		if got := depth(doc.Operations[0].SelectionSet, doc.Fragments); got != want {
			t.Errorf("%s: depth %d, want %d", q, got, want)
		}
	}
}
