// Package registry is the base-information check of 第八条: the population
// and legal-entity registries that tell whether a holder's code is known
// and under which name. The embedded implementation is backed by the store
// and loaded from a file; a city can put its registries' service behind
// the same Lookup.
package registry

import (
	"context"
	"time"
)

// Entry is one registry record.
type Entry struct {
	Code      string    `json:"code"`
	Kind      string    `json:"kind"` // PERSON or ORGANIZATION
	Name      string    `json:"name"`
	Source    string    `json:"source,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Repository stores registry entries. PutRegistryEntries inserts or
// replaces by code; RegistryEntry fails with NOT_FOUND for unknown codes.
type Repository interface {
	PutRegistryEntries(ctx context.Context, es []Entry) error
	RegistryEntry(ctx context.Context, code string) (Entry, error)
	// RegistryEntries returns the entries of the codes the registry knows.
	RegistryEntries(ctx context.Context, codes []string) (map[string]Entry, error)
}
