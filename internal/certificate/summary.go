package certificate

import (
	"context"
	"errors"
)

// ErrSummary is what a store answers when asked to write back a licence
// version read as a summary: what it left out would be lost.
var ErrSummary = errors.New("a summary of a licence version cannot be stored: read it whole first")

type summaryKey struct{}

// WithSummaries marks the licence listings made with ctx as feeding a view
// that shows nothing a summary leaves out (Certificate.Summary), so the
// store may read less. Without it listings read whole versions.
func WithSummaries(ctx context.Context) context.Context {
	return context.WithValue(ctx, summaryKey{}, true)
}

// summaries reports whether ctx asks for summaries only.
func summaries(ctx context.Context) bool {
	on, _ := ctx.Value(summaryKey{}).(bool)
	return on
}

// list is the repository's List, reading summaries when ctx asks for
// them.
func (s *Service) list(ctx context.Context, f Filter, after *Cursor, limit int) ([]Certificate, error) {
	f.Summary = f.Summary || summaries(ctx)
	return s.repo.List(ctx, f, after, limit)
}
