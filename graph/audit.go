package graph

import (
	"context"
	"strings"
	"time"

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
	c, path := owner(fc)
	if c == nil || notLicenceData[path[0]] {
		return res, err
	}
	ref := audit.Ref{CertificateID: c.ID, HolderCode: c.Holder.Code, IssuerCode: c.IssuerCode, CaseID: c.CaseID}
	if len(path) == 1 && path[0] == "data" {
		m, _ := res.(map[string]any)
		for k := range m {
			t.Read(ref, "data."+k)
		}
		return res, err
	}
	t.Read(ref, strings.Join(path, "."))
	return res, err
}

// owner finds the licence a field belongs to and the field's path below
// it, e.g. ["holder", "name"]. gqlgen keeps each resolved object in its
// field's context (a list element's in an index context, by pointer).
func owner(fc *graphql.FieldContext) (*certificate.Certificate, []string) {
	var path []string
	for f := fc; f != nil; f = f.Parent {
		if f != fc {
			switch r := f.Result.(type) {
			case *certificate.Certificate:
				return r, path
			case **certificate.Certificate:
				if *r != nil {
					return *r, path
				}
			}
		}
		if f.Index == nil && f.Field.Field != nil {
			path = append([]string{f.Field.Name}, path...)
		}
	}
	return nil, nil
}

// Appender stores audit records durably.
type Appender interface {
	Append(ctx context.Context, recs []audit.Record) error
}

// AuditGate is a response middleware: it stores the request's audit
// records, naming the operation with label, and only then lets the
// response out. When they cannot be stored, the client gets
// AUDIT_UNAVAILABLE and no data (fail closed).
func AuditGate(w Appender, now func() time.Time, label func(context.Context) string) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		t := audit.TrailFrom(ctx)
		t.SetOperation(label(ctx))
		recs := t.Records(now().UTC().Truncate(time.Millisecond))
		if len(recs) == 0 {
			return resp
		}
		if err := w.Append(ctx, recs); err != nil {
			_, msg, _ := apperr.CodeOf(apperr.Wrap(err, apperr.AuditUnavailable, "audit log unavailable; no data returned"))
			return &graphql.Response{Errors: gqlerror.List{{
				Message:    msg,
				Extensions: map[string]any{"code": string(apperr.AuditUnavailable)},
			}}}
		}
		return resp
	}
}
