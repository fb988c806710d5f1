package policyadmin

import (
	"context"
	"errors"

	"certd/internal/apperr"
	"certd/internal/authz"
)

// TestReport is what a dry run of a bundle found: Passed is true exactly
// when Publish would accept the same modules. Problems are the reasons it
// would not, beyond the failing tests listed in Results: compile errors,
// missing tests or entrypoint, a timeout.
type TestReport struct {
	Passed   bool
	Problems []string
	Results  []authz.TestResult
}

// Test runs the checks Publish runs — compile, the engine's capabilities,
// the entrypoint, every *_test.rego test — without storing anything. It is
// a dry run like Explain and is authorized as policy.explain, so a
// bundle's author can iterate before publishing. A bundle that would be
// refused is a report with Passed false, not an error; errors are for
// invalid input, refusal of the caller, and the context.
func (s *Service) Test(ctx context.Context, modules []authz.Module) (TestReport, error) {
	if err := s.authz.Authorize(ctx, ActionExplain, map[string]any{"modules": len(modules), "dryRun": "test"}); err != nil {
		return TestReport{}, err
	}
	mods, err := checkModules(modules)
	if err != nil {
		return TestReport{}, err
	}
	results, err := s.vet(ctx, mods)
	rep := TestReport{Results: results, Passed: err == nil}
	if err == nil {
		return rep, nil
	}
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code != apperr.PolicyRejected {
		return TestReport{}, err
	}
	rep.Problems = []string{e.Message}
	if len(results) == 0 {
		// The details are compile errors, not failing tests shown in
		// Results.
		rep.Problems = append(rep.Problems, e.Details...)
	}
	return rep, nil
}
