package authz

import (
	"context"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/rego"

	"certd/internal/apperr"
	"certd/internal/identity"
)

// FilterDecision is the data filter of a list read: which licences the
// store may return. None means nothing at all; otherwise Query is a UCAST
// tree over input.certificate (an empty map: everything).
type FilterDecision struct {
	None          bool
	Query         map[string]any
	PolicyVersion int
}

// Filter compiles data.certd.filters.include with input.certificate
// unknown, for action on behalf of the principal in ctx with the given
// known input (e.g. "case"). Errors and undefined results are None.
func (e *Engine) Filter(ctx context.Context, action string, known map[string]any) (FilterDecision, error) {
	p := e.active.Load()
	d := FilterDecision{None: true, PolicyVersion: p.version}
	pr, err := identity.Require(ctx)
	if err != nil {
		return d, err
	}
	key, cacheable := decisionKey(kindFilter, p.gen, action, pr, extraMerged, known)
	if cacheable {
		defer releaseKey(key)
		if v, ok := e.cache.get(*key); ok {
			return v.(FilterDecision), nil
		}
	}
	in := merged(action, pr, known)
	fs, err := p.filter.Compile(ctx, rego.EvalInput(in))
	if err != nil {
		return d, fmt.Errorf("compile data filter for %s: %w", action, err)
	}
	defer func() {
		if cacheable {
			e.cache.put(*key, d)
		}
	}()
	q := fs.One().Query
	if q == nil {
		return d, nil
	}
	m, ok := q.(map[string]any)
	if !ok {
		return d, fmt.Errorf("data filter for %s is %T, not a UCAST object", action, q)
	}
	d.None, d.Query = false, m
	return d, nil
}

// merged is the input of action for pr with known merged into its top
// level.
func merged(action string, pr *identity.Principal, known map[string]any) map[string]any {
	in := Input{Action: action, Principal: pr}.value()
	for k, v := range known {
		in[k] = v
	}
	return in
}

// HiddenFields asks data.certd.authz.hidden_fields which template fields
// of a licence type the caller in ctx may not see for action. An
// evaluation error hides nothing less: it returns hideAll true.
func (e *Engine) HiddenFields(ctx context.Context, action string, known map[string]any) (hidden []string, hideAll bool) {
	p := e.active.Load()
	pr, _ := identity.FromContext(ctx)
	key, cacheable := decisionKey(kindHidden, p.gen, action, pr, extraMerged, known)
	if cacheable {
		defer releaseKey(key)
		if v, ok := e.cache.get(*key); ok {
			return v.([]string), false
		}
	}
	rs, err := p.hidden.Eval(ctx, rego.EvalInput(merged(action, pr, known)))
	if err != nil {
		return nil, true
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		if cacheable {
			e.cache.put(*key, []string(nil))
		}
		return nil, false
	}
	set, ok := rs[0].Expressions[0].Value.([]any)
	if !ok {
		return nil, true
	}
	for _, v := range set {
		if s, ok := v.(string); ok {
			hidden = append(hidden, s)
		}
	}
	sort.Strings(hidden)
	if cacheable {
		e.cache.put(*key, hidden)
	}
	return hidden, false
}

// AuditScope asks data.certd.authz.audit_scope which part of the access
// log the caller may read for action: {"all": true}, {"issuer": code} or
// {"holder": code}. Undefined, anything else and errors are FORBIDDEN.
func (e *Engine) AuditScope(ctx context.Context, action string) (map[string]any, error) {
	p := e.active.Load()
	pr, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := p.scope.Eval(ctx, rego.EvalInput(Input{Action: action, Principal: pr}.value()))
	if err == nil && len(rs) == 1 && len(rs[0].Expressions) == 1 {
		if m, ok := rs[0].Expressions[0].Value.(map[string]any); ok && len(m) == 1 {
			return m, nil
		}
	}
	return nil, apperr.Forbiddenf("the access log is not open to the caller")
}
