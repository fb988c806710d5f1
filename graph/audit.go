package graph

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/certificate"
)

// auditedObjects are the types whose fields are licence data: a
// licence's own fields, and the objects it holds.
var auditedObjects = map[string]bool{
	"Certificate": true, "Holder": true, "Seal": true, "StateChange": true, "Inspection": true, "Timeliness": true,
}

// notLicenceData are fields of a licence that lead to other records,
// whose own reads are recorded for them, or to the public catalogue.
var notLicenceData = map[string]bool{"versions": true, "type": true, "issuer": true}

// AuditFields is a field middleware: for every leaf field resolved on a
// licence it records the field's path (holder.name, data.address, state…)
// in the request's audit trail. Names only, never values.
func AuditFields(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	fc := graphql.GetFieldContext(ctx)
	if err != nil || fc == nil || !auditedObjects[fc.Object] || len(fc.Field.Selections) > 0 {
		return res, err
	}
	t := audit.TrailFrom(ctx)
	if t == nil {
		return res, err
	}
	var buf [4]string
	c, path := owner(fc, buf[:0])
	if c == nil || notLicenceData[path[0]] {
		return res, err
	}
	if code, ok := res.(*string); ok && code == nil && path[0] == "verificationCode" {
		return res, err // withheld: nothing reached the client
	}
	ref := audit.Ref{CertificateID: c.ID, HolderCode: c.Holder.Code, IssuerCode: c.IssuerCode, CaseID: c.CaseID}
	if len(path) == 1 && path[0] == "data" {
		m, _ := res.(map[string]any)
		for k := range m {
			t.Read(ref, fieldPaths.join("data", k))
		}
		return res, err
	}
	switch len(path) {
	case 1:
		t.Read(ref, path[0])
	case 2:
		if p := fieldPaths.join(path[0], path[1]); !slices.Contains(c.Withheld, p) {
			t.Read(ref, p) // a withheld record field reached the client blank
		}
	default:
		t.Read(ref, strings.Join(path, "."))
	}
	return res, err
}

// owner finds the licence a field belongs to and the field's path below
// it, e.g. ["holder", "name"], appended to buf. gqlgen keeps each resolved
// object in its field's context (a list element's in an index context, by
// pointer).
func owner(fc *graphql.FieldContext, buf []string) (*certificate.Certificate, []string) {
	path := buf // leaf first, reversed before returning
	for f := fc; f != nil; f = f.Parent {
		if f != fc {
			switch r := f.Result.(type) {
			case *certificate.Certificate:
				slices.Reverse(path)
				return r, path
			case **certificate.Certificate:
				if *r != nil {
					slices.Reverse(path)
					return *r, path
				}
			}
		}
		if f.Index == nil && f.Field.Field != nil {
			path = append(path, f.Field.Name)
		}
	}
	return nil, nil
}

// fieldPaths keeps the two-part field paths ("holder.name", "data.address")
// built so far, so that recording a read does not build the same string
// for every licence of every request.
var fieldPaths = pathCache{m: map[[2]string]string{}}

// maxFieldPaths bounds fieldPaths: licence data keys come from the
// catalogue's types, a few hundred; past the bound paths are built anew.
const maxFieldPaths = 4096

type pathCache struct {
	mu sync.RWMutex
	m  map[[2]string]string
}

// join returns a + "." + b.
func (c *pathCache) join(a, b string) string {
	k := [2]string{a, b}
	c.mu.RLock()
	p, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = a + "." + b
	c.mu.Lock()
	if len(c.m) < maxFieldPaths {
		c.m[[2]string{strings.Clone(a), strings.Clone(b)}] = p
	}
	c.mu.Unlock()
	return p
}

// AuditGate is a response middleware: it stores the request's audit
// records through g, naming the operation with label, and only then lets
// the response out. When they cannot be stored, the client gets
// AUDIT_UNAVAILABLE and no data (fail closed).
func AuditGate(g *audit.Gate, label func(context.Context) string) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		if err := g.Commit(ctx, audit.TrailFrom(ctx), label(ctx)); err != nil {
			_, msg, _ := apperr.CodeOf(apperr.Wrap(err, apperr.AuditUnavailable, "audit log unavailable; no data returned"))
			return &graphql.Response{Errors: gqlerror.List{{
				Message:    msg,
				Extensions: map[string]any{"code": string(apperr.AuditUnavailable)},
			}}}
		}
		return resp
	}
}
