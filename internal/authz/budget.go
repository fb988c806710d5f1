package authz

import (
	"context"
	"sync/atomic"

	"certd/internal/apperr"
)

// budget counts the licences one request has been given.
type budget struct {
	max  int64
	left atomic.Int64
}

type budgetKey struct{}

// WithBudget gives a request a budget of max licences, whatever way it
// asks for them: one list, many aliases or many fields.
func WithBudget(ctx context.Context, max int) context.Context {
	b := &budget{max: int64(max)}
	b.left.Store(int64(max))
	return context.WithValue(ctx, budgetKey{}, b)
}

// Remaining is how many more licences the request may be given; a request
// without a budget gets the default cap.
func Remaining(ctx context.Context) int {
	if b, ok := ctx.Value(budgetKey{}).(*budget); ok {
		return int(max(b.left.Load(), 0))
	}
	return DefaultMaxCertificates
}

// Spend takes n licences from the request's budget, or returns FORBIDDEN
// when that would exceed it: more needs an approved bulk analysis
// (第十三条).
func Spend(ctx context.Context, n int) error {
	b, ok := ctx.Value(budgetKey{}).(*budget)
	if !ok {
		if n > DefaultMaxCertificates {
			return overBudget(DefaultMaxCertificates)
		}
		return nil
	}
	if b.left.Add(-int64(n)) < 0 {
		return overBudget(b.max)
	}
	return nil
}

func overBudget(max int64) error {
	return apperr.Forbiddenf("this request asks for more than %d licences; reading licences in bulk needs an approved bulk analysis (第十三条)", max)
}
