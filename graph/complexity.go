package graph

import "certd/internal/authz"

// Costs of fields that compile and run a whole policy bundle, against the
// server's complexity limit (2000 by default): a few per request at most,
// however many aliases ask.
const (
	policyTestCost    = 500
	policyExplainCost = 100
)

// Complexity returns the schema's field costs that differ from gqlgen's
// default (1 per field plus its children).
func Complexity() ComplexityRoot {
	var c ComplexityRoot
	c.Query.TestPolicy = func(child int, _ []*authz.Module) int { return policyTestCost + child }
	c.Query.ExplainDecision = func(child int, _ string, _ any) int { return policyExplainCost + child }
	c.Mutation.PublishPolicy = func(child int, _ []*authz.Module, _ string, _ *int) int { return policyTestCost + child }
	c.Mutation.RollbackPolicy = func(child int, _ int) int { return policyTestCost + child }
	c.Mutation.ApprovePolicyVersion = func(child int, _ int) int { return policyTestCost + child }
	return c
}
