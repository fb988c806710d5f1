// Package graph is certd's GraphQL layer: thin resolvers, one call into a
// domain service per field. resolver.go is the dependency root.
package graph

//go:generate go tool gqlgen generate

import (
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/bulk"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/objection"
	"certd/internal/policyadmin"
	"certd/internal/registry"
	"certd/internal/supervision"
)

// Resolver holds the domain services the resolvers call. Field names
// must not collide with root fields (resolvers embed it).
type Resolver struct {
	Catalogue    *catalogue.Service
	Licences     *certificate.Service
	Casework     *cases.Service
	Registry     registry.Repository
	PolicyAdmin  *policyadmin.Service
	Audit        *audit.AccessLog
	Bulk         *bulk.Service
	ObjectionSvc *objection.Service
	Supervision  *supervision.Service
	Engine       *authz.Engine
}
