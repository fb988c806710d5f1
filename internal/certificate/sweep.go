package certificate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"certd/internal/apperr"
	"certd/internal/lease"
)

// Sweep finishes interrupted writes and marks current licences past their
// validity as EXPIRED (第九条). It returns how many it expired.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if _, err := s.repo.Repair(ctx); err != nil {
		return 0, err
	}
	today := s.Today()
	expired := 0
	for {
		due, err := s.repo.DueForExpiry(ctx, today, 500)
		if err != nil {
			return expired, err
		}
		progress := 0
		for _, c := range due {
			prev := c.Rev
			if c.Current && !c.State.Final() {
				c.State = Expired
				c.History = append(c.History, StateChange{At: s.stamp(), Action: "EXPIRE", By: "system",
					Reason: "validity ended on " + c.ValidUntil.Format(time.DateOnly)})
			}
			// Else a store listed a licence no longer due (one that a
			// migration marked due as it changed): writing it unchanged
			// takes it out of the due set.
			switch err := s.repo.Update(ctx, c, prev); {
			case err == nil:
				expired++
				progress++
			case apperr.CodeIs(err, apperr.Conflict):
				// Changed meanwhile; the next sweep looks again.
			default:
				return expired, err
			}
		}
		if len(due) < 500 || progress == 0 {
			return expired, nil
		}
	}
}

// SweepJob is one sweep as a background job run under its lease: it
// logs what it expired and returns it as the lease's note. The sweep's
// writes are conditioned on each licence's revision, so a stale lease
// holder's write to a licence the new holder changed is refused.
func (s *Service) SweepJob(log *slog.Logger) func(ctx context.Context, l lease.Lease) (string, error) {
	return func(ctx context.Context, l lease.Lease) (string, error) {
		n, err := s.Sweep(ctx)
		if n > 0 {
			log.Info("licences expired", "count", n, "lease_token", l.Token)
		}
		return fmt.Sprintf("expired %d", n), err
	}
}
