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

// verifier runs Verify at most once per maxAge and one run at a time.
// A run belongs to no request: callers that arrive during it wait for it
// (or give up when their own context ends) and share its result, and a
// caller going away does not cut it short.
type verifier struct {
	repo    Repository
	trusted []ed25519.PublicKey
	maxAge  time.Duration
	now     func() time.Time

	mu      sync.Mutex
	last    *Status
	running chan struct{} // closed when the current run ends; nil if none
	lastErr error         // the error of the run that just ended, if any
}

// statusTimeout bounds one verification of the whole log.
const statusTimeout = 10 * time.Minute

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
	if v.last != nil && v.now().Sub(v.last.CheckedAt) < v.maxAge {
		st := *v.last
		v.mu.Unlock()
		return st, nil
	}
	done := v.running
	if done == nil {
		done = make(chan struct{})
		v.running = done
		go v.run(context.WithoutCancel(ctx), done)
	}
	v.mu.Unlock()

	select {
	case <-done:
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.last == nil {
		return Status{}, v.lastErr
	}
	return *v.last, nil
}

// run verifies the log once and publishes the result.
func (v *verifier) run(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	at := v.now().UTC()
	rep, err := Verify(ctx, v.repo, v.trusted)
	v.mu.Lock()
	if err == nil {
		v.last = &Status{Report: rep, CheckedAt: at}
	} else if v.last == nil || v.now().Sub(v.last.CheckedAt) >= v.maxAge {
		v.last, v.lastErr = nil, err
	}
	v.running = nil
	v.mu.Unlock()
	close(done)
}
