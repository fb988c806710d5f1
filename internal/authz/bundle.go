// Package authz asks Open Policy Agent every authorization question certd
// has. Policies are Rego modules evaluated in-process through prepared
// queries compiled once per policy version; default deny, and an undefined
// result or an evaluation error is a denial.
package authz

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"certd/policy"
)

// Module is one Rego source file of a policy bundle.
type Module struct {
	Path string
	Rego string
}

// IsTest reports whether the module holds tests (*_test.rego).
func (m Module) IsTest() bool { return strings.HasSuffix(m.Path, "_test.rego") }

// DefaultModules returns the bundle embedded in the binary (policy/*.rego).
func DefaultModules() ([]Module, error) {
	var mods []Module
	err := fs.WalkDir(policy.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") {
			return err
		}
		b, err := fs.ReadFile(policy.FS, path)
		if err != nil {
			return err
		}
		mods = append(mods, Module{Path: path, Rego: string(b)})
		return nil
	})
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	return mods, err
}

// parse parses every module in Rego v1 syntax.
func parse(mods []Module) (map[string]*ast.Module, error) {
	parsed := make(map[string]*ast.Module, len(mods))
	var errs []string
	for _, m := range mods {
		if _, dup := parsed[m.Path]; dup {
			errs = append(errs, fmt.Sprintf("%s: duplicate module path", m.Path))
			continue
		}
		pm, err := ast.ParseModuleWithOpts(m.Path, m.Rego, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		parsed[m.Path] = pm
	}
	if len(errs) > 0 {
		return nil, &CompileError{Errors: errs}
	}
	return parsed, nil
}

// CompileError lists what made a bundle fail to parse or compile.
type CompileError struct{ Errors []string }

func (e *CompileError) Error() string {
	return "policy does not compile: " + strings.Join(e.Errors, "; ")
}

// forbiddenBuiltins are refused in policies: a policy decides from its
// input and must not reach the network or the process's environment.
var forbiddenBuiltins = map[string]bool{
	"http.send": true, "net.lookup_ip_addr": true, "opa.runtime": true, "providers.aws.sign_req": true,
}

// capabilities is what policies may use: this OPA's builtins less the
// forbidden ones.
var capabilities = func() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, b := range caps.Builtins {
		if !forbiddenBuiltins[b.Name] {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept
	return caps
}()

// Capabilities are the builtins and features policies may use.
func Capabilities() *ast.Capabilities { return capabilities }

// compile parses and compiles a bundle strictly.
func compile(mods []Module) (*ast.Compiler, map[string]*ast.Module, error) {
	parsed, err := parse(mods)
	if err != nil {
		return nil, nil, err
	}
	c := ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(false).WithCapabilities(capabilities)
	c.Compile(parsed)
	if c.Failed() {
		var errs []string
		for _, e := range c.Errors {
			errs = append(errs, e.Error())
		}
		return nil, nil, &CompileError{Errors: errs}
	}
	return c, parsed, nil
}

// TestResult is the outcome of one Rego test.
type TestResult struct {
	Name     string // package.rule
	Package  string // e.g. certd.authz
	Rule     string // e.g. test_staff_read_their_case
	Passed   bool
	Detail   string // why it failed, when it did
	Duration time.Duration
}

// Check compiles a bundle and reports what is wrong with it, as a
// *CompileError.
func Check(mods []Module) error {
	_, _, err := compile(mods)
	return err
}

// RunTests compiles the bundle and runs its test_ rules in-process.
func RunTests(ctx context.Context, mods []Module) ([]TestResult, error) {
	c, parsed, err := compile(mods)
	if err != nil {
		return nil, err
	}
	ch, err := tester.NewRunner().SetCompiler(c).SetModules(parsed).RaiseBuiltinErrors(true).RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("run policy tests: %w", err)
	}
	var out []TestResult
	for r := range ch {
		pkg := strings.TrimPrefix(r.Package, "data.")
		tr := TestResult{Name: pkg + "." + r.Name, Package: pkg, Rule: r.Name, Passed: r.Pass(), Duration: r.Duration}
		switch {
		case r.Error != nil:
			tr.Detail = r.Error.Error()
		case r.Fail:
			tr.Detail = "failed"
		case r.Skip:
			tr.Passed, tr.Detail = false, "skipped"
		}
		out = append(out, tr)
	}
	return out, nil
}
