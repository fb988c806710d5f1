package authz

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	opacompile "github.com/open-policy-agent/opa/v1/rego/compile"

	"certd/internal/apperr"
	"certd/internal/identity"
)

// Input is what a decision is asked about.
type Input struct {
	Action    string
	Principal *identity.Principal
	Resource  map[string]any
}

func (in Input) value() map[string]any {
	v := map[string]any{"action": in.Action}
	if p := in.Principal; p != nil {
		v["principal"] = map[string]any{
			"sub": p.Subject, "org": p.Org, "roles": strs(p.Roles), "holder": p.Holder, "amr": strs(p.AMR),
		}
	}
	if in.Resource != nil {
		v["resource"] = in.Resource
	}
	return v
}

func strs(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// Decision is the answer to one authorization question.
type Decision struct {
	Allowed       bool
	Reasons       []string
	PolicyVersion int
}

// prepared is one compiled policy version.
type prepared struct {
	version int
	// gen tells apart every Load of the engine, even of one version: the
	// decision cache's keys start with it.
	gen     uint64
	allow   rego.PreparedEvalQuery
	reasons rego.PreparedEvalQuery
	hidden  rego.PreparedEvalQuery
	scope   rego.PreparedEvalQuery
	filter  *opacompile.Prepared
	// maxCertificates is the most licences one request may return.
	maxCertificates int
	// bulkK is the smallest group a bulk analysis may show (第十三条).
	bulkK int
	// cases are the policy's numbers for case work (data.certd.cases).
	cases CaseLimits
}

// Engine evaluates the active policy. It is safe for concurrent use; Load
// swaps the active policy atomically.
type Engine struct {
	active atomic.Pointer[prepared]
	cache  *decisionCache
	loads  atomic.Uint64
}

// NewEngine returns an engine running the given bundle as version.
func NewEngine(ctx context.Context, mods []Module, version int) (*Engine, error) {
	e := &Engine{cache: newDecisionCache(20_000)}
	if err := e.Load(ctx, mods, version); err != nil {
		return nil, err
	}
	return e, nil
}

// Load compiles a bundle and makes it the active policy. On error the
// active policy is unchanged.
func (e *Engine) Load(ctx context.Context, mods []Module, version int) error {
	c, _, err := compile(mods)
	if err != nil {
		return err
	}
	p := &prepared{version: version, gen: e.loads.Add(1)}
	if p.allow, err = rego.New(rego.Query("data.certd.authz.allow"), rego.Compiler(c), rego.StrictBuiltinErrors(true)).PrepareForEval(ctx); err != nil {
		return fmt.Errorf("prepare allow: %w", err)
	}
	if p.reasons, err = rego.New(rego.Query("data.certd.authz.reasons"), rego.Compiler(c)).PrepareForEval(ctx); err != nil {
		return fmt.Errorf("prepare reasons: %w", err)
	}
	if p.hidden, err = rego.New(rego.Query("data.certd.authz.hidden_fields"), rego.Compiler(c), rego.StrictBuiltinErrors(true)).PrepareForEval(ctx); err != nil {
		return fmt.Errorf("prepare hidden fields: %w", err)
	}
	if p.scope, err = rego.New(rego.Query("data.certd.authz.audit_scope"), rego.Compiler(c), rego.StrictBuiltinErrors(true)).PrepareForEval(ctx); err != nil {
		return fmt.Errorf("prepare audit scope: %w", err)
	}
	if p.filter, err = opacompile.New(
		opacompile.Rego(rego.Compiler(c), rego.StrictBuiltinErrors(true)),
		opacompile.ParsedQuery(ast.MustParseBody("data.certd.filters.include")),
		opacompile.ParsedUnknowns(ast.MustParseTerm("input.certificate")),
		opacompile.Target("ucast", "all"),
	).Prepare(ctx); err != nil {
		return fmt.Errorf("prepare data filter: %w", err)
	}
	if p.maxCertificates, err = positiveNumber(ctx, c, "data.certd.authz.max_certificates", DefaultMaxCertificates); err != nil {
		return err
	}
	if p.bulkK, err = positiveNumber(ctx, c, "data.certd.authz.bulk_k", DefaultBulkK); err != nil {
		return err
	}
	if p.cases, err = caseLimits(ctx, c); err != nil {
		return err
	}
	e.active.Store(p)
	e.cache.clear() // decisions of the previous policy can no longer hit
	return nil
}

// Defaults when the policy does not set them.
const (
	// DefaultMaxCertificates caps licences per request
	// (data.certd.authz.max_certificates).
	DefaultMaxCertificates = 100
	// DefaultBulkK is the smallest group a bulk analysis shows
	// (data.certd.authz.bulk_k).
	DefaultBulkK = 5
)

// positiveNumber evaluates a policy constant that must be a positive
// whole number, or returns def when the policy leaves it undefined.
func positiveNumber(ctx context.Context, c *ast.Compiler, ref string, def int) (int, error) {
	rs, err := rego.New(rego.Query(ref), rego.Compiler(c)).Eval(ctx)
	if err != nil {
		return 0, fmt.Errorf("evaluate %s: %w", ref, err)
	}
	if len(rs) == 0 {
		return def, nil
	}
	n, ok := rs[0].Expressions[0].Value.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s must be a number", ref)
	}
	v, err := n.Int64()
	if err != nil || v < 1 {
		return 0, fmt.Errorf("%s must be a positive whole number", ref)
	}
	return int(v), nil
}

// BulkK is the smallest group a bulk analysis may show under the active
// policy; smaller groups are suppressed.
func (e *Engine) BulkK() int { return e.active.Load().bulkK }

// MaxCertificates is the most licences one request may return under the
// active policy.
func (e *Engine) MaxCertificates() int { return e.active.Load().maxCertificates }

// Version is the active policy version.
func (e *Engine) Version() int { return e.active.Load().version }

// Decide answers whether in is allowed. Undefined, non-boolean results and
// evaluation errors are denials; the error is returned for logging.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	p := e.active.Load()
	d := Decision{PolicyVersion: p.version}
	key, cacheable := decisionKey(kindAllow, p.gen, in.Action, in.Principal, extraResource, in.Resource)
	if cacheable {
		defer releaseKey(key)
		if v, ok := e.cache.get(*key); ok {
			return v.(Decision), nil
		}
	}
	iv := in.value()
	rs, err := p.allow.Eval(ctx, rego.EvalInput(iv))
	if err != nil {
		return d, fmt.Errorf("evaluate %s: %w", in.Action, err)
	}
	d.Allowed = len(rs) == 1 && len(rs[0].Expressions) == 1 && rs[0].Expressions[0].Value == true
	if !d.Allowed {
		d.Reasons = e.reasons(ctx, p, in)
	}
	if cacheable {
		e.cache.put(*key, d)
	}
	return d, nil
}

func (e *Engine) reasons(ctx context.Context, p *prepared, in Input) []string {
	rs, err := p.reasons.Eval(ctx, rego.EvalInput(in.value()))
	if err != nil || len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil
	}
	set, _ := rs[0].Expressions[0].Value.([]any)
	var out []string
	for _, v := range set {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Authorize asks whether the principal in ctx may do action on resource,
// and returns UNAUTHENTICATED without a principal and FORBIDDEN on a
// denial, with the policy's reasons.
func (e *Engine) Authorize(ctx context.Context, action string, resource map[string]any) error {
	p, err := identity.Require(ctx)
	if err != nil {
		return err
	}
	d, err := e.Decide(ctx, Input{Action: action, Principal: p, Resource: resource})
	if err != nil {
		return apperr.Wrap(err, apperr.Forbidden, "%s is not allowed: the policy could not decide", action)
	}
	if !d.Allowed {
		fe := apperr.Forbiddenf("%s is not allowed", action)
		fe.Details = d.Reasons
		if len(d.Reasons) > 0 {
			fe.Message += ": " + d.Reasons[0]
		}
		return fe
	}
	return nil
}
