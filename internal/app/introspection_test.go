package app_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"certd/internal/testkit"
)

// standardIntrospection is the introspection query GraphiQL,
// graphql-codegen and Apollo's tools send: the exact text of graphql-js's
// getIntrospectionQuery({descriptions, specifiedByUrl,
// directiveIsRepeatable, schemaDescription, inputValueDeprecation, oneOf},
// every option true), identical in graphql 16.15.0 and 17.1.0.
func standardIntrospection(t *testing.T) []byte {
	t.Helper()
	q, err := os.ReadFile("testdata/introspection-query.graphql")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"query": string(q), "operationName": "IntrospectionQuery"})
	return body
}

// TestStandardIntrospectionOutsideProduction: code generators get the
// schema from a demo server (the TypeRef fragment's nine nested ofType do
// not count towards the depth limit: they never fan out), with or
// without a token; production refuses the same query.
func TestStandardIntrospectionOutsideProduction(t *testing.T) {
	body := standardIntrospection(t)
	dev := testkit.Start(t, testkit.WithDemo())
	r := dev.Post("", body)
	if r.Status != 200 || len(r.Errors) != 0 {
		t.Fatalf("standard introspection on a demo server: HTTP %d %+v", r.Status, r.Errors)
	}
	var out struct {
		Schema struct {
			QueryType struct{ Name string }
			Types     []struct {
				Name   string
				Fields []struct{ Name string }
			}
			Directives []struct {
				Name         string
				IsRepeatable bool
			}
		} `json:"__schema"`
	}
	r.Decode(t, &out)
	if out.Schema.QueryType.Name != "Query" || len(out.Schema.Types) < 20 || len(out.Schema.Directives) == 0 {
		t.Fatalf("introspection result: query type %q, %d types, %d directives", out.Schema.QueryType.Name, len(out.Schema.Types), len(out.Schema.Directives))
	}
	found := false
	for _, ty := range out.Schema.Types {
		if ty.Name == "Query" {
			for _, f := range ty.Fields {
				found = found || f.Name == "verifyCertificate"
			}
		}
	}
	if !found {
		t.Error("Query.verifyCertificate is not in the introspection result")
	}

	prod, _ := production(t)
	r = prod.Post("", body)
	if r.Code() != "INVALID_INPUT" || !strings.Contains(r.Errors[0].Message, "introspection is disabled") || strings.Contains(string(r.Data), "Query") {
		t.Fatalf("standard introspection in production: HTTP %d %s %+v", r.Status, r.Data, r.Errors)
	}
}
