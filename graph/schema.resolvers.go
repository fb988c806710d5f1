package graph

import (
	"certd/graph/model"
	"certd/internal/catalogue"
	"certd/internal/identity"
	"context"
	"encoding/json"
)

// Snapshot is the resolver for the snapshot field.
func (r *catalogueChangeResolver) Snapshot(ctx context.Context, obj *catalogue.Change) (any, error) {
	var v any
	err := json.Unmarshal(obj.Snapshot, &v)
	return v, err
}

// Issuer is the resolver for the issuer field.
func (r *certificateTypeResolver) Issuer(ctx context.Context, obj *catalogue.CertificateType) (*catalogue.Unit, error) {
	return ptr(r.Catalogue.Unit(ctx, obj.IssuerCode))
}

// RequiredTypes is the resolver for the requiredTypes field.
func (r *matterResolver) RequiredTypes(ctx context.Context, obj *catalogue.Matter) ([]*catalogue.CertificateType, error) {
	return each(ctx, obj.RequiredTypes, r.Catalogue.CertificateType)
}

// HandlingUnits is the resolver for the handlingUnits field.
func (r *matterResolver) HandlingUnits(ctx context.Context, obj *catalogue.Matter) ([]*catalogue.Unit, error) {
	return each(ctx, obj.HandlingUnits, r.Catalogue.Unit)
}

// RegisterUnit is the resolver for the registerUnit field.
func (r *mutationResolver) RegisterUnit(ctx context.Context, input catalogue.UnitInput) (*catalogue.Unit, error) {
	return ptr(r.Catalogue.RegisterUnit(ctx, input))
}

// RegisterMatter is the resolver for the registerMatter field.
func (r *mutationResolver) RegisterMatter(ctx context.Context, input catalogue.MatterInput) (*catalogue.Matter, error) {
	return ptr(r.Catalogue.RegisterMatter(ctx, input))
}

// RegisterCertificateType is the resolver for the registerCertificateType field.
func (r *mutationResolver) RegisterCertificateType(ctx context.Context, input model.CertificateTypeInput) (*catalogue.CertificateType, error) {
	return ptr(r.Catalogue.RegisterCertificateType(ctx, typeInput(input)))
}

// UpdateCertificateType is the resolver for the updateCertificateType field.
func (r *mutationResolver) UpdateCertificateType(ctx context.Context, input model.CertificateTypeInput, expectVersion *int) (*catalogue.CertificateType, error) {
	return ptr(r.Catalogue.UpdateCertificateType(ctx, typeInput(input), deref(expectVersion)))
}

// UpdateMatter is the resolver for the updateMatter field.
func (r *mutationResolver) UpdateMatter(ctx context.Context, input catalogue.MatterInput, expectVersion *int) (*catalogue.Matter, error) {
	return ptr(r.Catalogue.UpdateMatter(ctx, input, deref(expectVersion)))
}

// Units is the resolver for the units field.
func (r *queryResolver) Units(ctx context.Context) ([]*catalogue.Unit, error) {
	return ptrs(r.Catalogue.Units(ctx))
}

// Unit is the resolver for the unit field.
func (r *queryResolver) Unit(ctx context.Context, code string) (*catalogue.Unit, error) {
	return orNil(r.Catalogue.Unit(ctx, code))
}

// Matters is the resolver for the matters field.
func (r *queryResolver) Matters(ctx context.Context) ([]*catalogue.Matter, error) {
	return ptrs(r.Catalogue.Matters(ctx))
}

// Matter is the resolver for the matter field.
func (r *queryResolver) Matter(ctx context.Context, code string) (*catalogue.Matter, error) {
	return orNil(r.Catalogue.Matter(ctx, code))
}

// CertificateTypes is the resolver for the certificateTypes field.
func (r *queryResolver) CertificateTypes(ctx context.Context) ([]*catalogue.CertificateType, error) {
	return ptrs(r.Catalogue.CertificateTypes(ctx))
}

// CertificateType is the resolver for the certificateType field.
func (r *queryResolver) CertificateType(ctx context.Context, code string) (*catalogue.CertificateType, error) {
	return orNil(r.Catalogue.CertificateType(ctx, code))
}

// CatalogueChanges is the resolver for the catalogueChanges field.
func (r *queryResolver) CatalogueChanges(ctx context.Context, kind catalogue.EntityKind, code *string) ([]*catalogue.Change, error) {
	c := ""
	if code != nil {
		c = *code
	}
	return ptrs(r.Catalogue.Changes(ctx, kind, c))
}

// Me is the resolver for the me field.
func (r *queryResolver) Me(ctx context.Context) (*identity.Principal, error) {
	return identity.Require(ctx)
}

// CatalogueChange returns CatalogueChangeResolver implementation.
func (r *Resolver) CatalogueChange() CatalogueChangeResolver { return &catalogueChangeResolver{r} }

// CertificateType returns CertificateTypeResolver implementation.
func (r *Resolver) CertificateType() CertificateTypeResolver { return &certificateTypeResolver{r} }

// Matter returns MatterResolver implementation.
func (r *Resolver) Matter() MatterResolver { return &matterResolver{r} }

// Mutation returns MutationResolver implementation.
func (r *Resolver) Mutation() MutationResolver { return &mutationResolver{r} }

// Query returns QueryResolver implementation.
func (r *Resolver) Query() QueryResolver { return &queryResolver{r} }

type (
	catalogueChangeResolver struct{ *Resolver }
	certificateTypeResolver struct{ *Resolver }
	matterResolver          struct{ *Resolver }
	mutationResolver        struct{ *Resolver }
	queryResolver           struct{ *Resolver }
)
