package graph

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"certd/graph/model"
	"certd/internal/apperr"
	"certd/internal/cases"
	"certd/internal/certificate"
	"certd/internal/codes"
	"certd/internal/identity"
)

func encodeCaseCursor(c *cases.Case) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.OpenedAt.UnixMilli(), 10) + "|" + c.ID))
}

func decodeCaseCursor(s string) (cases.Cursor, error) {
	bad := apperr.Invalid("cursor %q is not one this server handed out", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 100 {
		return cases.Cursor{}, bad
	}
	ms, id, ok := strings.Cut(string(raw), "|")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || n < 0 || len(id) != 32 {
		return cases.Cursor{}, bad
	}
	return cases.Cursor{OpenedAt: time.UnixMilli(n).UTC(), ID: id}, nil
}

// caseCursor decodes an optional after argument of a case listing.
func caseCursor(after *string) (*cases.Cursor, error) {
	if after == nil {
		return nil, nil
	}
	c, err := decodeCaseCursor(*after)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// reviewReason says why casesForReview lists a case; nil for a case
// opened from an application.
func reviewReason(c *cases.Case) *model.ReviewReason {
	var r model.ReviewReason
	switch {
	case c.Alert:
		r = model.ReviewReasonQuotaExceeded
	case c.WalkInReason != "":
		r = model.ReviewReasonWalkIn
	default:
		return nil
	}
	return &r
}

// holderOf names a holder-role caller: from the base registry, else from
// their newest licence, else by code alone.
func (r *Resolver) holderOf(ctx context.Context, p *identity.Principal) (*certificate.Holder, error) {
	if !p.HasRole(identity.RoleHolder) || p.Holder == "" {
		return nil, nil
	}
	h := &certificate.Holder{Code: p.Holder, Kind: certificate.Person, Name: p.Name}
	if codes.ValidCreditCode(p.Holder) {
		h.Kind = certificate.Organization
	}
	if e, err := r.Registry.RegistryEntry(ctx, p.Holder); err == nil {
		h.Name, h.Kind = e.Name, certificate.HolderKind(e.Kind)
	}
	return h, nil
}
