// Package graph is certd's GraphQL layer: thin resolvers, one call into a
// domain service per field. resolver.go is the dependency root.
package graph

//go:generate go tool gqlgen generate

import (
	"certd/internal/catalogue"
	"certd/internal/certificate"
)

// Resolver holds the domain services the resolvers call.
type Resolver struct {
	Catalogue *catalogue.Service
	Licences  *certificate.Service
}
