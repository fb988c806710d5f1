package baseline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/codes"
	"certd/internal/identity"
)

// Me is the caller of a holder read: the holder its token names.
type Me struct {
	HolderCode string
}

// maxList caps a listing at certd's default per-request licence budget.
const maxList = authz.DefaultMaxCertificates

// Resolver answers the baseline schema straight from the store.
type Resolver struct {
	store     Store
	catalogue *catalogue.Service
	licences  *certificate.Service
}

// Case returns CaseResolver implementation.
func (r *Resolver) Case() CaseResolver { return &caseResolver{r} }

// Me returns MeResolver implementation.
func (r *Resolver) Me() MeResolver { return &meResolver{r} }

// Mutation returns MutationResolver implementation.
func (r *Resolver) Mutation() MutationResolver { return &mutationResolver{r} }

// Query returns QueryResolver implementation.
func (r *Resolver) Query() QueryResolver { return &queryResolver{r} }

type caseResolver struct{ *Resolver }
type meResolver struct{ *Resolver }
type mutationResolver struct{ *Resolver }
type queryResolver struct{ *Resolver }

// Certificates lists what certd's case read selects (cases.Service.
// Certificates) with none of its policy: the holder's current VALID
// licences of the types the matter requires that may be cited today,
// every field shown.
func (r *caseResolver) Certificates(ctx context.Context, c *cases.Case) ([]*certificate.Certificate, error) {
	m, err := r.catalogue.LookupMatter(ctx, c.MatterCode)
	if err != nil {
		return nil, err
	}
	types := m.RequiredTypes
	if types == nil {
		types = []string{} // no types: no licences, not every type
	}
	found, err := r.store.List(ctx, certificate.Filter{HolderCode: c.Holder.Code, TypeCodes: types,
		State: certificate.Valid, CurrentOnly: true, Summary: true}, nil, maxList)
	if err != nil {
		return nil, err
	}
	today := r.licences.Today()
	out := make([]*certificate.Certificate, 0, len(found))
	for i := range found {
		if found[i].Citable(today) {
			out = append(out, &found[i])
		}
	}
	return out, nil
}

// Certificates lists every version and state of the holder's licences.
func (r *meResolver) Certificates(ctx context.Context, me *Me) ([]*certificate.Certificate, error) {
	found, err := r.store.List(ctx, certificate.Filter{HolderCode: me.HolderCode, Summary: true}, nil, maxList)
	if err != nil {
		return nil, err
	}
	return ptrs(found), nil
}

// Me is the holder the token names.
func (r *queryResolver) Me(ctx context.Context) (*Me, error) {
	p, ok := identity.FromContext(ctx)
	if !ok || p.Holder == "" {
		return nil, apperr.Invalid("the baseline needs a token with a holder claim to know who me is")
	}
	return &Me{HolderCode: p.Holder}, nil
}

// VerifyCertificate is certd's verification of a licence itself, with
// neither authorization nor verification code: the stored licence, its
// seal and its citability.
func (r *queryResolver) VerifyCertificate(ctx context.Context, id string) (*certificate.Verification, error) {
	c, err := r.store.Get(ctx, id)
	if apperr.CodeIs(err, apperr.NotFound) {
		return &certificate.Verification{ID: id, Reasons: []string{"no licence has this identifier"}}, nil
	}
	if err != nil {
		return nil, err
	}
	whole := certificate.NewView(c, nil, "")
	v := r.licences.Judge(ctx, &whole)
	return &v, nil
}

// Case returns any case by id, of any unit, open or not.
func (r *queryResolver) Case(ctx context.Context, id string) (*cases.Case, error) {
	c, err := r.store.GetCase(ctx, id)
	if apperr.CodeIs(err, apperr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// IssueCertificate issues through certd's licence service (validation,
// numbering, sealing, storing) with everything authorized, for the unit
// the token names.
func (r *mutationResolver) IssueCertificate(ctx context.Context, in certificate.IssueInput) (*certificate.Certificate, error) {
	c, err := r.licences.Issue(ctx, in)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// OpenCase stores a case of the token's unit for a holder and a matter
// of the catalogue, the holder named by the base registry when it knows
// them; no policy decides whether the unit handles the matter.
func (r *mutationResolver) OpenCase(ctx context.Context, in cases.OpenInput) (*cases.Case, error) {
	var unit, by string
	if p, ok := identity.FromContext(ctx); ok {
		unit, by = p.Org, p.Subject
	}
	m, err := r.catalogue.LookupMatter(ctx, in.MatterCode)
	if err != nil {
		return nil, err
	}
	h := certificate.Holder{Code: in.HolderCode, Name: strings.TrimSpace(in.HolderName), Kind: certificate.Organization}
	if codes.ValidResidentID(in.HolderCode) {
		h.Kind = certificate.Person
	}
	if e, err := r.store.RegistryEntry(ctx, in.HolderCode); err == nil {
		h.Name = e.Name
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	c := cases.Case{ID: hex.EncodeToString(id[:]), CaseNo: in.CaseNo, UnitCode: unit, MatterCode: m.Code, Holder: h,
		OpenedBy: by, OpenedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := r.store.CreateCase(ctx, c); err != nil {
		return nil, err
	}
	return &c, nil
}

func ptrs[T any](xs []T) []*T {
	out := make([]*T, len(xs))
	for i := range xs {
		out[i] = &xs[i]
	}
	return out
}
