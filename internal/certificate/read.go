package certificate

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/identity"
)

// Page sizes of listings.
const (
	DefaultPage = 20
	MaxPage     = 100
)

// Get returns one licence version, whole, to a caller the policy lets
// read it outside a case, with the basis of the read.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return View{}, err
	}
	if _, err := ParseID(id); err != nil {
		return View{}, err
	}
	c, err := s.repo.Get(ctx, id)
	if err != nil {
		return View{}, err
	}
	ref := auditRef(&c)
	if err := s.authz.Authorize(ctx, "certificate.read", resource(&c)); err != nil {
		return View{}, audit.Refused(ctx, "certificate.read", ref, err)
	}
	if err := authz.Spend(ctx, 1); err != nil {
		return View{}, audit.Refused(ctx, "certificate.read", ref, err)
	}
	return NewView(c, nil, basisOf(p, &c)), nil
}

// auditRef names a licence in the audit log.
func auditRef(c *Certificate) audit.Ref {
	return audit.Ref{CertificateID: c.ID, HolderCode: c.Holder.Code, IssuerCode: c.IssuerCode}
}

// views makes whole views of cs for basis.
func views(cs []Certificate, basis string) []View {
	out := make([]View, len(cs))
	for i := range cs {
		out[i] = NewView(cs[i], nil, basis)
	}
	return out
}

// Find lists licences matching f (with the policy's condition in it) for a
// service that authorized its own request, newest first: at most the
// request's remaining budget, or FORBIDDEN when there are more.
func (s *Service) Find(ctx context.Context, f Filter, limit int) ([]Certificate, error) {
	left := authz.Remaining(ctx)
	if limit <= 0 || limit > left {
		limit = left
	}
	cs, err := s.list(ctx, f, nil, limit+1)
	if err != nil {
		return nil, err
	}
	if err := authz.Spend(ctx, len(cs)); err != nil {
		return nil, audit.Refused(ctx, "certificate.list", audit.Ref{HolderCode: f.HolderCode}, err)
	}
	return cs, nil
}

// Mine lists the caller's own licences (holders), every version and
// state, as the policy's data filter allows.
func (s *Service) Mine(ctx context.Context) ([]View, error) {
	d, err := s.filter(ctx, "me.certificates")
	if err != nil || d == nil {
		return nil, err
	}
	cs, err := s.Find(ctx, *d, 0)
	return views(cs, audit.BasisHolder), err
}

// filter asks the policy for the data filter of a list read; nil means
// nothing may be read.
func (s *Service) filter(ctx context.Context, action string) (*Filter, error) {
	d, err := s.policy.Filter(ctx, action, nil)
	if err != nil {
		return nil, err
	}
	if d.None {
		return nil, nil
	}
	f := Filter{}
	if len(d.Query) > 0 {
		cond, err := FromUCAST(d.Query)
		if err != nil {
			return nil, apperr.Wrap(err, apperr.Forbidden, "the policy's data filter cannot be applied")
		}
		f.Policy = &cond
	}
	return &f, nil
}

// Versions lists every version of v's licence, oldest first, as v's
// reader sees them: through a case only v itself, the version the case
// may cite.
func (s *Service) Versions(ctx context.Context, v *View) ([]View, error) {
	if v.CaseID != "" {
		return []View{*v}, nil
	}
	c := &v.Certificate
	vs, err := s.repo.Versions(ctx, c.Lineage)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Authorize(ctx, "certificate.read", resource(c)); err != nil {
		return nil, audit.Refused(ctx, "certificate.read", auditRef(c), err)
	}
	if err := authz.Spend(ctx, len(vs)); err != nil {
		return nil, audit.Refused(ctx, "certificate.read", auditRef(c), err)
	}
	return views(vs, v.Basis), nil
}

// ListPage is one page of a listing.
type ListPage struct {
	Items   []View
	Cursors []string
	HasNext bool
	Total   int
}

// List returns the caller's unit's licences, all versions and states,
// newest first, in pages of at most MaxPage.
func (s *Service) List(ctx context.Context, f Filter, first *int, after string) (ListPage, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return ListPage{}, err
	}
	pf, err := s.filter(ctx, "certificate.list")
	if err != nil {
		return ListPage{}, err
	}
	if pf == nil {
		return ListPage{}, audit.Refused(ctx, "certificate.list", audit.Ref{Target: p.Org},
			apperr.Forbiddenf("listing licences is for issuers, of their own unit"))
	}
	f.IssuerCode, f.Policy = p.Org, pf.Policy
	n := DefaultPage
	if first != nil {
		if *first < 0 {
			return ListPage{}, apperr.Invalid("first must not be negative")
		}
		n = min(*first, MaxPage)
	}
	var cur *Cursor
	if after != "" {
		c, err := DecodeCursor(after)
		if err != nil {
			return ListPage{}, err
		}
		cur = &c
	}
	items, err := s.list(ctx, f, cur, n+1)
	if err != nil {
		return ListPage{}, err
	}
	page := ListPage{HasNext: len(items) > n}
	if page.HasNext {
		items = items[:n]
	}
	if err := authz.Spend(ctx, len(items)); err != nil {
		return ListPage{}, audit.Refused(ctx, "certificate.list", audit.Ref{Target: p.Org}, err)
	}
	page.Items = views(items, audit.BasisIssuer)
	for _, c := range items {
		page.Cursors = append(page.Cursors, EncodeCursor(Cursor{IssuedAt: c.IssuedAt, ID: c.ID}))
	}
	if page.Total, err = s.repo.Count(ctx, f); err != nil {
		return ListPage{}, err
	}
	return page, nil
}

// EncodeCursor makes an opaque cursor.
func EncodeCursor(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.IssuedAt.UnixMilli(), 10) + "|" + c.ID))
}

// DecodeCursor reads a cursor made by EncodeCursor; anything else is
// INVALID_INPUT.
func DecodeCursor(s string) (Cursor, error) {
	bad := apperr.Invalid("cursor %q is not one this server handed out", s)
	if len(s) > 200 {
		return Cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	ms, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return Cursor{}, bad
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n < 0 {
		return Cursor{}, bad
	}
	if _, err := ParseID(id); err != nil {
		return Cursor{}, bad
	}
	return Cursor{IssuedAt: time.UnixMilli(n).UTC(), ID: id}, nil
}

// HasCitable reports whether the holder has a licence of the type that may
// be cited today. It returns no licence data and is not a read: the case
// service asks it to judge a paper submission (第二十条(一)).
func (s *Service) HasCitable(ctx context.Context, holderCode, typeCode string) (bool, error) {
	cs, err := s.repo.List(ctx, Filter{HolderCode: holderCode, TypeCode: typeCode, State: Valid, CurrentOnly: true, Summary: true}, nil, 50)
	if err != nil {
		return false, err
	}
	today := s.Today()
	for i := range cs {
		if cs[i].Citable(today) {
			return true, nil
		}
	}
	return false, nil
}
