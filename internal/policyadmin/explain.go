package policyadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"certd/internal/apperr"
)

// Limits of Explain.
const (
	maxQueryLen      = 300
	maxExplainLines  = 40
	maxFailsPerRule  = 3
	maxExprText      = 120
	maxTraceEvents   = 200_000 // trace events looked at; the rest are only counted
	maxTracedQueries = 50_000  // queries whose ancestry is remembered
)

// reasonsRef is the rule with the policy's reasons for a denial.
var reasonsRef = ast.MustParseRef("data.certd.authz.reasons")

// certdRoot is the prefix every Explain query must have.
var certdRoot = ast.MustParseRef("data.certd")

// Explain evaluates query, a reference to a document under data.certd
// such as "data.certd.authz.allow", against input under the active policy
// version, and says in a few lines which rules were evaluated and which
// of their expressions failed. For data.certd.authz.allow it adds the
// policy's reasons (data.certd.authz.reasons). An evaluation error or
// timeout is a denial, as in the engine, and is explained as such.
func (s *Service) Explain(ctx context.Context, query string, input map[string]any) (Decision, error) {
	if err := s.authz.Authorize(ctx, ActionExplain, map[string]any{"query": apperr.Truncate(query, maxQueryLen)}); err != nil {
		return Decision{}, err
	}
	ref, err := parseQuery(query)
	if err != nil {
		return Decision{}, err
	}
	cv, err := s.activeCompiled(ctx)
	if err != nil {
		return Decision{}, err
	}

	ectx, cancel := context.WithTimeout(ctx, s.explainTimeout)
	defer cancel()
	tr := newExplainTracer()
	opts := []func(*rego.Rego){
		rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(ref)))), rego.Compiler(cv.compiler),
		rego.QueryTracer(tr), rego.StrictBuiltinErrors(true),
	}
	if input != nil {
		opts = append(opts, rego.Input(input))
	}
	rs, evalErr := rego.New(opts...).Eval(ectx)
	if ctx.Err() != nil {
		return Decision{}, ctx.Err()
	}

	var d Decision
	if evalErr == nil && len(rs) == 1 && len(rs[0].Expressions) == 1 {
		d.Result = rs[0].Expressions[0].Value
		d.Allowed = d.Result == true
	}
	d.Explanation = append(d.Explanation, s.headline(ref, d.Result, cv.version, evalErr, ectx.Err() != nil))
	d.Explanation = append(d.Explanation, tr.lines(cv.compiler, ref)...)
	if ref.Equal(entrypoint) && !d.Allowed {
		d.Explanation = append(d.Explanation, s.reasons(ectx, cv.compiler, input)...)
	}
	if len(d.Explanation) > maxExplainLines {
		more := len(d.Explanation) - maxExplainLines + 1
		d.Explanation = append(d.Explanation[:maxExplainLines-1], fmt.Sprintf("... %d more lines", more))
	}
	return d, nil
}

// headline is the explanation's first line: the result.
func (s *Service) headline(ref ast.Ref, result any, version int, evalErr error, timedOut bool) string {
	switch {
	case timedOut:
		return fmt.Sprintf("%s: evaluation did not finish within %s, which is a denial (policy version %d)", ref, s.explainTimeout, version)
	case evalErr != nil:
		return apperr.Truncate(fmt.Sprintf("%s: evaluation error, which is a denial (policy version %d): %v", ref, version, evalErr), 500)
	case result == nil:
		return fmt.Sprintf("%s is undefined (policy version %d)", ref, version)
	}
	b, err := json.Marshal(result)
	if err != nil {
		b = []byte(fmt.Sprint(result))
	}
	return fmt.Sprintf("%s = %s (policy version %d)", ref, apperr.Truncate(string(b), 200), version)
}

// reasons evaluates data.certd.authz.reasons, one "reason: " line each.
func (s *Service) reasons(ctx context.Context, c *ast.Compiler, input map[string]any) []string {
	opts := []func(*rego.Rego){rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(reasonsRef)))), rego.Compiler(c)}
	if input != nil {
		opts = append(opts, rego.Input(input))
	}
	rs, err := rego.New(opts...).Eval(ctx)
	if err != nil || len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil
	}
	set, _ := rs[0].Expressions[0].Value.([]any)
	var out []string
	for _, v := range set {
		if r, ok := v.(string); ok {
			out = append(out, "reason: "+apperr.Truncate(r, 200))
		}
	}
	sort.Strings(out)
	return out
}

// parseQuery accepts a single ground reference under data.certd, such as
// data.certd.authz.allow or data.certd.authz.required_role["unit.register"].
func parseQuery(query string) (ast.Ref, error) {
	bad := apperr.Invalid("the query must be a reference to a document under data.certd, such as data.certd.authz.allow")
	if len(query) > maxQueryLen {
		return nil, bad
	}
	body, err := ast.ParseBodyWithOpts(query, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil || len(body) != 1 {
		return nil, bad
	}
	expr := body[0]
	term, ok := expr.Terms.(*ast.Term)
	if expr.Negated || len(expr.With) > 0 || !ok {
		return nil, bad
	}
	ref, ok := term.Value.(ast.Ref)
	if !ok || len(ref) <= len(certdRoot) || !ref.HasPrefix(certdRoot) || !ref.IsGround() {
		return nil, bad
	}
	for _, t := range ref[1:] {
		switch t.Value.(type) {
		case ast.String, ast.Number, ast.Boolean:
		default: // no composite or computed keys
			return nil, bad
		}
	}
	return ref, nil
}

// activeCompiled returns the active version compiled, from the cache when
// the active version has not changed since.
func (s *Service) activeCompiled(ctx context.Context) (*compiledVersion, error) {
	version, _, err := s.repo.ActivePolicy(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	cv := s.cached
	s.mu.Unlock()
	if cv != nil && cv.version == version {
		return cv, nil
	}
	v, err := s.repo.PolicyVersion(ctx, version)
	if err != nil {
		return nil, err
	}
	c, err := compileBundle(v.Modules)
	if err != nil {
		return nil, fmt.Errorf("compile active policy version %d: %w", version, err)
	}
	cv = &compiledVersion{version: version, compiler: c}
	s.mu.Lock()
	s.cached = cv
	s.mu.Unlock()
	return cv, nil
}

// explainTracer summarizes an evaluation as it runs: which rules were
// evaluated for the query, whether each applied, and at which
// expressions they (and the helper rules they called) failed.
type explainTracer struct {
	index     string                // the rule index's message for the query's ref
	parent    map[uint64]uint64     // query → parent query
	ruleOf    map[uint64]*ruleTrace // query evaluating a rule body → its summary
	byKey     map[string]*ruleTrace
	top       []*ruleTrace // rules evaluated by the query itself, in order
	events    int
	truncated bool
}

// ruleTrace summarizes the evaluations of one rule; a helper rule is
// summarized once per top-level rule that called it.
type ruleTrace struct {
	rule    *ast.Rule
	applied bool
	fails   []string
	helpers []*ruleTrace // helper rules evaluated under a top-level rule
	topRule *ruleTrace   // nil for a top-level rule
}

func newExplainTracer() *explainTracer {
	return &explainTracer{parent: map[uint64]uint64{}, ruleOf: map[uint64]*ruleTrace{}, byKey: map[string]*ruleTrace{}}
}

// Enabled implements topdown.QueryTracer.
func (*explainTracer) Enabled() bool { return true }

// Config implements topdown.QueryTracer: no plugging of local variables,
// which the summary does not use.
func (*explainTracer) Config() topdown.TraceConfig { return topdown.TraceConfig{} }

// TraceEvent implements topdown.QueryTracer.
func (t *explainTracer) TraceEvent(e topdown.Event) {
	if t.events++; t.events > maxTraceEvents {
		t.truncated = true
		return
	}
	switch e.Op {
	case topdown.IndexOp:
		if e.QueryID == 0 && t.index == "" {
			t.index = e.Message
		}
	case topdown.EnterOp:
		if _, seen := t.parent[e.QueryID]; !seen && len(t.parent) < maxTracedQueries {
			t.parent[e.QueryID] = e.ParentID
		}
		if r, ok := e.Node.(*ast.Rule); ok {
			t.enterRule(e.QueryID, e.ParentID, r)
		}
	case topdown.ExitOp:
		if rt := t.ruleOf[e.QueryID]; rt != nil && e.HasRule() {
			rt.applied = true
		}
	case topdown.FailOp:
		rt := t.ruleOf[e.QueryID]
		expr, ok := e.Node.(*ast.Expr)
		if rt == nil || !ok || len(rt.fails) >= maxFailsPerRule {
			return
		}
		f := exprText(expr)
		for _, have := range rt.fails {
			if have == f {
				return
			}
		}
		rt.fails = append(rt.fails, f)
	}
}

func (t *explainTracer) enterRule(qid, parent uint64, r *ast.Rule) {
	key := ruleKey(r)
	if parent == 0 && qid != 0 {
		rt := t.byKey[key]
		if rt == nil {
			rt = &ruleTrace{rule: r}
			t.byKey[key] = rt
			t.top = append(t.top, rt)
		}
		t.ruleOf[qid] = rt
		return
	}
	// A helper rule: find the top-level rule it was evaluated for.
	var top *ruleTrace
	for p, hops := parent, 0; hops < 1000; hops++ {
		if rt := t.ruleOf[p]; rt != nil && rt.topRule == nil {
			top = rt
			break
		}
		next, ok := t.parent[p]
		if !ok || next == p {
			break
		}
		p = next
	}
	if top == nil || len(t.ruleOf) >= maxTracedQueries {
		return
	}
	hk := ruleKey(top.rule) + "|" + key
	rt := t.byKey[hk]
	if rt == nil {
		rt = &ruleTrace{rule: r, topRule: top}
		t.byKey[hk] = rt
		top.helpers = append(top.helpers, rt)
	}
	t.ruleOf[qid] = rt
}

// lines renders the summary.
func (t *explainTracer) lines(c *ast.Compiler, ref ast.Ref) []string {
	var out []string
	var matched int
	if _, err := fmt.Sscanf(t.index, "(matched %d rule", &matched); err == nil {
		total := 0
		for _, r := range c.GetRulesExact(ref) {
			if !r.Default {
				total++
			}
		}
		switch {
		case total == 0 || matched >= total:
		case matched == 0:
			out = append(out, fmt.Sprintf("none of the %d rules for %s can match this input (ruled out by indexing on the input)", total, ref))
		default:
			out = append(out, fmt.Sprintf("%d of %d rules for %s can match this input; indexing ruled out the others", matched, total, ref))
		}
	}
	for _, rt := range t.top {
		out = append(out, rt.line(""))
		for _, h := range rt.helpers {
			if !h.applied && len(h.fails) > 0 {
				out = append(out, h.line("  helper "))
			}
		}
	}
	if len(t.top) == 0 && len(out) == 0 && !t.truncated {
		out = append(out, "no rule was evaluated")
	}
	if t.truncated {
		out = append(out, fmt.Sprintf("the evaluation took %d steps; only the first %d are explained", t.events, maxTraceEvents))
	}
	return out
}

func (rt *ruleTrace) line(prefix string) string {
	name := ruleName(rt.rule)
	if rt.applied {
		return prefix + name + " applied"
	}
	if len(rt.fails) == 0 {
		return prefix + name + " did not apply"
	}
	return prefix + name + " did not apply: failed at " + strings.Join(rt.fails, "; then at ")
}

// ruleName names a rule with its location, e.g. "allow (authz.rego:28)"
// or "default allow := false (authz.rego:11)".
func ruleName(r *ast.Rule) string {
	name := r.Head.Ref().String()
	if r.Default && r.Head.Value != nil {
		name = "default " + name + " := " + apperr.Truncate(r.Head.Value.String(), 40)
	}
	return name + " (" + loc(r.Location) + ")"
}

func ruleKey(r *ast.Rule) string {
	return r.Head.Ref().String() + "@" + loc(r.Location)
}

// exprText is an expression as written in the source, with its location.
func exprText(e *ast.Expr) string {
	text := e.String()
	if e.Location != nil && len(e.Location.Text) > 0 {
		text = string(e.Location.Text)
	}
	return loc(e.Location) + ": " + apperr.Truncate(strings.Join(strings.Fields(text), " "), maxExprText)
}

func loc(l *ast.Location) string {
	if l == nil {
		return "?"
	}
	return fmt.Sprintf("%s:%d", l.File, l.Row)
}

var _ topdown.QueryTracer = (*explainTracer)(nil)
