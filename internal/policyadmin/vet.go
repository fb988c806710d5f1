package policyadmin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/text"
)

// Limits on a published bundle.
const (
	maxModules     = 50
	maxBundleBytes = 1 << 20 // paths and sources together
	maxPathLen     = 200
	maxMessage     = 500 // characters
	maxDetails     = 100 // lines of a POLICY_REJECTED error
	maxDetailLen   = 1000
)

// entrypoint is the rule every authorization question asks.
var entrypoint = ast.MustParseRef("data.certd.authz.allow")

// pathSegmentRE is one segment of a module path: no leading dot (so no
// "." or ".." and no hidden files), no separators or control characters.
var pathSegmentRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// checkInput validates a publish request and returns copies of the
// modules and the trimmed message.
func checkInput(modules []authz.Module, message string) ([]authz.Module, string, error) {
	message, err := text.Required("a message saying what changed", message, maxMessage)
	if err != nil {
		return nil, "", err
	}
	mods, err := checkModules(modules)
	return mods, message, err
}

// checkModules validates a bundle's modules and returns a copy of them.
func checkModules(modules []authz.Module) ([]authz.Module, error) {
	if len(modules) == 0 || len(modules) > maxModules {
		return nil, apperr.Invalid("a policy has 1 to %d modules, not %d", maxModules, len(modules))
	}
	seen := make(map[string]bool, len(modules))
	size := 0
	out := make([]authz.Module, len(modules))
	for i, m := range modules {
		if err := checkPath(m.Path); err != nil {
			return nil, err
		}
		if seen[m.Path] {
			return nil, apperr.Invalid("module path %q appears twice", m.Path)
		}
		seen[m.Path] = true
		if !utf8.ValidString(m.Rego) {
			return nil, apperr.Invalid("module %s is not valid UTF-8", m.Path)
		}
		size += len(m.Path) + len(m.Rego)
		out[i] = m
	}
	if size > maxBundleBytes {
		return nil, apperr.Invalid("the policy has %d bytes; at most %d", size, maxBundleBytes)
	}
	return out, nil
}

// checkPath accepts relative slash-separated paths ending in .rego, such
// as "authz.rego" or "licences/issue_test.rego".
func checkPath(p string) error {
	if p == "" || len(p) > maxPathLen || !utf8.ValidString(p) {
		return apperr.Invalid("module path %q must have 1 to %d characters", apperr.Truncate(p, 80), maxPathLen)
	}
	if !strings.HasSuffix(p, ".rego") || len(p) == len(".rego") {
		return apperr.Invalid("module path %q must end in .rego", apperr.Truncate(p, 80))
	}
	for seg := range strings.SplitSeq(p, "/") {
		if !pathSegmentRE.MatchString(seg) {
			return apperr.Invalid("module path %q must be relative, with segments of letters, digits, '_', '-' and '.' not starting with '.'", apperr.Truncate(p, 80))
		}
	}
	return nil
}

// vet decides whether a bundle may be published and returns the results
// of its tests (those that ran, also when it refuses the bundle). Every
// refusal is POLICY_REJECTED with the reasons as details; other errors
// are the store's or the context's.
func (s *Service) vet(ctx context.Context, mods []authz.Module) ([]authz.TestResult, error) {
	select {
	case s.vetting <- struct{}{}:
		defer func() { <-s.vetting }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := authz.Check(mods); err != nil {
		return nil, compileRejection(err)
	}
	c, err := compileBundle(mods)
	if err != nil {
		return nil, compileRejection(err)
	}
	if n := countTestRules(mods, c); n == 0 {
		return nil, rejected(nil, "the policy has no tests: add a *_test.rego module with test_ rules")
	}
	if !definesEntrypoint(c) {
		return nil, rejected(nil, "the policy does not define %s (package certd.authz, rule allow) outside its tests", entrypoint)
	}

	tctx, cancel := context.WithTimeout(ctx, s.testTimeout)
	defer cancel()
	results, err := authz.RunTests(tctx, mods)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		var ce *authz.CompileError
		if errors.As(err, &ce) {
			return nil, compileRejection(err)
		}
		return nil, err
	}
	var failed []string
	for _, r := range results {
		if !r.Passed {
			failed = append(failed, r.Name+": "+r.Detail)
		}
	}
	switch {
	case tctx.Err() != nil:
		return results, rejected(failed, "the policy tests did not finish within %s", s.testTimeout)
	case len(failed) > 0:
		return results, rejected(failed, "%d of %d policy tests failed", len(failed), len(results))
	case len(results) == 0:
		return results, rejected(nil, "the policy has no tests: add a *_test.rego module with test_ rules")
	}

	// The engine prepares more than Check compiles (the entrypoint
	// queries, the data filter); a bundle it cannot load is refused here
	// rather than by every instance's watcher.
	if _, err := authz.NewEngine(ctx, mods, 0); err != nil {
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		var ce *authz.CompileError
		if errors.As(err, &ce) {
			return results, compileRejection(err)
		}
		return results, rejected([]string{err.Error()}, "the policy engine cannot load the policy")
	}
	return results, nil
}

// compileBundle parses and compiles a bundle as the engine does (Rego v1,
// strict, the engine's capabilities).
func compileBundle(mods []authz.Module) (*ast.Compiler, error) {
	parsed := make(map[string]*ast.Module, len(mods))
	for _, m := range mods {
		pm, err := ast.ParseModuleWithOpts(m.Path, m.Rego, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, &authz.CompileError{Errors: []string{err.Error()}}
		}
		parsed[m.Path] = pm
	}
	c := ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(false).WithCapabilities(authz.Capabilities())
	c.Compile(parsed)
	if c.Failed() {
		errs := make([]string, len(c.Errors))
		for i, e := range c.Errors {
			errs[i] = e.Error()
		}
		return nil, &authz.CompileError{Errors: errs}
	}
	return c, nil
}

// countTestRules counts the test_ rules of the *_test.rego modules.
func countTestRules(mods []authz.Module, c *ast.Compiler) int {
	n := 0
	for _, m := range mods {
		if !m.IsTest() {
			continue
		}
		pm := c.Modules[m.Path]
		if pm == nil {
			continue
		}
		for _, r := range pm.Rules {
			if name, ok := r.Head.Ref()[0].Value.(ast.Var); ok && strings.HasPrefix(string(name), "test_") {
				n++
			}
		}
	}
	return n
}

// definesEntrypoint reports whether a module other than a test module
// defines data.certd.authz.allow.
func definesEntrypoint(c *ast.Compiler) bool {
	for _, r := range c.GetRulesExact(entrypoint) {
		if r.Location == nil || !strings.HasSuffix(r.Location.File, "_test.rego") {
			return true
		}
	}
	return false
}

// rejected returns a POLICY_REJECTED error with details.
func rejected(details []string, format string, args ...any) error {
	e := apperr.New(apperr.PolicyRejected, format, args...)
	if len(details) > maxDetails {
		details = append(details[:maxDetails:maxDetails], fmt.Sprintf("... and %d more", len(details)-maxDetails))
	}
	for i, d := range details {
		details[i] = apperr.Truncate(d, maxDetailLen)
	}
	e.Details = details
	return e
}

// compileRejection turns a compile error into POLICY_REJECTED with the
// compiler's messages as details.
func compileRejection(err error) error {
	var ce *authz.CompileError
	if !errors.As(err, &ce) {
		return err
	}
	return rejected(append([]string(nil), ce.Errors...), "the policy does not compile")
}
