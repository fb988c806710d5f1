package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"certd/internal/apperr"
)

// DefaultStatusMaxAge is how old a verification Status may be before
// AccessLog.Status verifies the log again.
const DefaultStatusMaxAge = time.Minute

// Status is the outcome of verifying the whole log (Verify), and when.
type Status struct {
	Report
	CheckedAt time.Time
}

// Intact reports whether the verification found no problem.
func (s Status) Intact() bool { return len(s.Problems) == 0 }

// verifier runs Verify at most once per maxAge, one run at a time: a
// caller that arrives during a run waits for it and shares its result.
type verifier struct {
	repo    Repository
	trusted []ed25519.PublicKey
	maxAge  time.Duration
	now     func() time.Time

	mu   sync.Mutex // held during a run
	last *Status
}

// EnableStatus lets Status verify the log with these trusted checkpoint
// keys (the instance's own and those of the instances it shares the store
// with), re-verifying at most once per maxAge (DefaultStatusMaxAge if 0).
func (l *AccessLog) EnableStatus(trusted []ed25519.PublicKey, maxAge time.Duration, now func() time.Time) {
	if maxAge <= 0 {
		maxAge = DefaultStatusMaxAge
	}
	if now == nil {
		now = time.Now
	}
	l.verify = &verifier{repo: l.repo, trusted: trusted, maxAge: maxAge, now: now}
}

// Status returns the latest verification of the whole log, verifying it
// again when the last result is older than the configured age. It is open
// to whoever may read some part of the access log; it tells counts and
// the ids of broken records, never their content. Reading it is recorded.
func (l *AccessLog) Status(ctx context.Context) (Status, error) {
	if _, err := l.scope.AuditScope(ctx, "audit.read"); err != nil {
		return Status{}, Refused(ctx, "audit.status", Ref{Target: "access log"}, err)
	}
	if l.verify == nil {
		return Status{}, apperr.New(apperr.Internal, "audit verification is not configured")
	}
	st, err := l.verify.status(ctx)
	if err != nil {
		return Status{}, err
	}
	Wrote(ctx, "audit.status", Ref{Target: "access log"}, fmt.Sprintf("%d chains, %d problems", st.Chains, len(st.Problems)))
	return st, nil
}

func (v *verifier) status(ctx context.Context) (Status, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.last != nil && v.now().Sub(v.last.CheckedAt) < v.maxAge {
		return *v.last, nil
	}
	at := v.now().UTC()
	rep, err := Verify(ctx, v.repo, v.trusted)
	if err != nil {
		return Status{}, err
	}
	v.last = &Status{Report: rep, CheckedAt: at}
	return *v.last, nil
}
