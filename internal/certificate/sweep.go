package certificate

import (
	"context"
	"log/slog"
	"time"

	"certd/internal/apperr"
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
			c.State = Expired
			c.History = append(c.History, StateChange{At: s.stamp(), Action: "EXPIRE", By: "system",
				Reason: "validity ended on " + c.ValidUntil.Format(time.DateOnly)})
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

// RunSweeper sweeps every interval until ctx is done.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("licence sweep failed", "err", err)
		} else if n > 0 {
			log.Info("licences expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
