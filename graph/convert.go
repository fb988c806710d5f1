package graph

import (
	"context"
	"strings"
	"time"

	"certd/graph/model"
	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/policyadmin"
)

// ptr adapts a service's (value, error) to the (*value, error) resolvers return.
func ptr[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// orNil is ptr for nullable lookups: NOT_FOUND becomes null.
func orNil[T any](v T, err error) (*T, error) {
	if apperr.CodeIs(err, apperr.NotFound) {
		return nil, nil
	}
	return ptr(v, err)
}

func ptrs[T any](vs []T, err error) ([]*T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*T, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out, nil
}

// each looks up every code with get, in order.
func each[T any](ctx context.Context, codes []string, get func(context.Context, string) (T, error)) ([]*T, error) {
	out := make([]*T, 0, len(codes))
	for _, c := range codes {
		v, err := get(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, &v)
	}
	return out, nil
}

// optional is nil for an empty string, for nullable fields.
func optional(s string) *string { return nonZero(s) }

// nonZero is a pointer to v, or nil (null) for its zero value.
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func typeInput(in model.CertificateTypeInput) catalogue.TypeInput {
	fields := make([]catalogue.TemplateField, len(in.Fields))
	for i, f := range in.Fields {
		fields[i] = *f
	}
	return catalogue.TypeInput{Code: in.Code, Name: in.Name, Category: in.Category, Fields: fields, ValidityMonths: in.ValidityMonths}
}

// selectFields narrows data to the named fields (minimal disclosure); nil
// names mean all.
func selectFields(data map[string]any, names []string) map[string]any {
	if names == nil {
		return data
	}
	out := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := data[n]; ok {
			out[n] = v
		}
	}
	return out
}

func connection(page certificate.ListPage) *model.CertificateConnection {
	c := &model.CertificateConnection{TotalCount: page.Total, PageInfo: &model.PageInfo{HasNextPage: page.HasNext}}
	for i := range page.Items {
		c.Edges = append(c.Edges, &model.CertificateEdge{Cursor: page.Cursors[i], Node: &page.Items[i]})
	}
	if n := len(page.Cursors); n > 0 {
		c.PageInfo.EndCursor = &page.Cursors[n-1]
	}
	if c.Edges == nil {
		c.Edges = []*model.CertificateEdge{}
	}
	return c
}

// showMissing notes what missingTypes tells about a case's holder: the
// types of which they have no citable licence (a read of the holder
// through the case), and so the licences they do have (a read of each
// one's type).
func showMissing(ctx context.Context, c *cases.Case, missing []string, held []certificate.View) {
	for i := range held {
		showAt(ctx, audit.Read{Ref: held[i].AuditRef(), Fields: []string{"type"}})
	}
	if len(missing) > 0 {
		showAt(ctx, audit.Read{Action: "case.missingTypes", Fields: []string{"missingTypes"},
			Ref:    audit.Ref{CaseID: c.ID, HolderCode: c.Holder.Code, MatterCode: c.MatterCode, Basis: audit.BasisCase},
			Reason: "no citable licence of type " + strings.Join(missing, ", ")})
	}
}

// own is a licence its own issuing unit just wrote, as that unit sees it.
func own(c certificate.Certificate, err error) (*certificate.View, error) {
	if err != nil {
		return nil, err
	}
	v := certificate.OwnView(c)
	return &v, nil
}

func accessConnection(p audit.Page) *model.AccessRecordConnection {
	c := &model.AccessRecordConnection{Edges: []*model.AccessRecordEdge{}, PageInfo: &model.PageInfo{HasNextPage: p.HasNext}}
	for i := range p.Records {
		c.Edges = append(c.Edges, &model.AccessRecordEdge{Cursor: p.Cursors[i], Node: &p.Records[i]})
	}
	if n := len(p.Cursors); n > 0 {
		c.PageInfo.EndCursor = &p.Cursors[n-1]
	}
	return c
}

// moduleValues copies GraphQL module inputs into the values the policy
// service takes.
func moduleValues(modules []*authz.Module) []authz.Module {
	mods := make([]authz.Module, len(modules))
	for i, m := range modules {
		mods[i] = *m
	}
	return mods
}

func policyTestReport(rep policyadmin.TestReport) *model.PolicyTestReport {
	out := &model.PolicyTestReport{Passed: rep.Passed, CompileErrors: rep.Problems, Results: []*model.PolicyTestResult{}}
	if out.CompileErrors == nil {
		out.CompileErrors = []string{}
	}
	for _, r := range rep.Results {
		tr := &model.PolicyTestResult{Name: r.Rule, Package: r.Package, Passed: r.Passed,
			DurationMs: float64(r.Duration) / float64(time.Millisecond)}
		if r.Detail != "" {
			tr.Detail = &r.Detail
		}
		out.Results = append(out.Results, tr)
	}
	return out
}

func auditChainStatus(st audit.Status) *model.AuditChainStatus {
	out := &model.AuditChainStatus{Intact: st.Intact(), CheckedAt: st.CheckedAt, Chains: st.Chains,
		Records: st.Records, Checkpoints: st.Checkpoints, UnsignedTail: st.UnsignedTail, Problems: []string{}}
	for _, p := range st.Problems {
		out.Problems = append(out.Problems, p.String())
	}
	return out
}
