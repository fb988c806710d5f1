package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"certd/internal/apperr"
)

// noIntrospection refuses, in production, any operation that selects
// __schema or __type anywhere (through aliases and fragments), with
// INVALID_INPUT before anything executes. (Without it gqlgen answers such
// a field with an error that has no code, which clients would see as
// INTERNAL.) __typename stays allowed: clients use it to tell types apart.
type noIntrospection struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = noIntrospection{}

func (noIntrospection) ExtensionName() string                   { return "NoIntrospection" }
func (noIntrospection) Validate(graphql.ExecutableSchema) error { return nil }
func (noIntrospection) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	found := !walkFields(oc.Operation.SelectionSet, oc.Doc.Fragments, 1, map[string]bool{}, func(f *ast.Field, _ int) bool {
		return f.Name != "__schema" && f.Name != "__type"
	})
	if !found {
		return nil
	}
	return &gqlerror.Error{
		Message:    "introspection is disabled on this server",
		Extensions: map[string]any{"code": string(apperr.InvalidInput)},
	}
}
