package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"certd/internal/apperr"
)

// DefaultStatusMaxAge is how old a verification Status may be before
// AccessLog.Status verifies the log again.
const DefaultStatusMaxAge = time.Minute

// Status is the outcome of verifying the log, and when. The server's
// checks continue each from the last (VerifyFrom): they read what was
// stored since each chain's last verified signed checkpoint.
type Status struct {
	Report
	CheckedAt time.Time
}

// Intact reports whether the verification found no problem.
func (s Status) Intact() bool { return len(s.Problems) == 0 }

// verifier runs Verify at most once per maxAge and one run at a time.
// A run belongs to no request: callers that arrive during it wait for it
// (for at most statusWait, or until their own context ends) and share its
// result, and a caller going away does not cut it short. The next run
// starts no sooner than maxAge after the last one ended, however long runs
// take; a failed run is remembered for statusRetry.
type verifier struct {
	repo    Repository
	trusted []ed25519.PublicKey
	maxAge  time.Duration
	now     func() time.Time

	// positions are where the last check left each chain; file, when
	// set, keeps them across restarts (PersistStatus).
	positions Positions
	file      string

	mu        sync.Mutex
	last      *Status
	lastEnd   time.Time     // when the last run ended
	lastErr   error         // the last run's error, if it failed
	running   chan struct{} // closed when the current run ends; nil if none
	runCancel context.CancelFunc
}

const (
	statusTimeout = 10 * time.Minute // one verification of the whole log
	statusWait    = 50 * time.Second // a caller waits at most this long
	statusRetry   = 30 * time.Second // a failed run is not retried sooner
)

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

// PositionsFile is where, in the data directory, the server keeps how far
// its audit status checks got (PersistStatus).
const PositionsFile = "audit-verified.json"

// PersistStatus keeps the verification positions in the file at path
// (in the instance's data directory, which holds its audit key too), so
// that after a restart the checks continue from there rather than from
// the start of the log. A missing or unreadable file starts from scratch.
func (l *AccessLog) PersistStatus(path string) {
	v := l.verify
	if v == nil {
		return
	}
	v.file = path
	if b, err := os.ReadFile(path); err == nil {
		var pos Positions
		if json.Unmarshal(b, &pos) == nil {
			v.positions = pos
		}
	}
}

// savePositions writes the positions to the file, atomically.
func (v *verifier) savePositions(pos Positions) error {
	if v.file == "" {
		return nil
	}
	b, err := json.Marshal(pos)
	if err != nil {
		return err
	}
	tmp := v.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, v.file)
}

// CloseStatus stops a verification in progress (at shutdown).
func (l *AccessLog) CloseStatus() {
	if v := l.verify; v != nil {
		v.mu.Lock()
		if v.runCancel != nil {
			v.runCancel()
		}
		v.mu.Unlock()
	}
}

// Status returns the latest verification of the log, verifying what was
// stored since when the last one ended more than the configured age ago. It is
// open to whoever may read some part of the access log. It tells counts
// and, to those who may read the whole log, the ids of broken records;
// never their content. Reading it is recorded.
func (l *AccessLog) Status(ctx context.Context) (Status, error) {
	scope, err := l.scope.AuditScope(ctx, "audit.read")
	if err != nil {
		return Status{}, Refused(ctx, "audit.status", Ref{Target: "access log"}, err)
	}
	if l.verify == nil {
		return Status{}, apperr.New(apperr.Internal, "audit verification is not configured")
	}
	st, err := l.verify.status(ctx)
	if err != nil {
		return Status{}, err
	}
	if scope["all"] != true && len(st.Problems) > 0 {
		// Which records of which chains are broken is for those who may
		// read every chain.
		redacted := make([]Problem, len(st.Problems))
		for i, p := range st.Problems {
			redacted[i] = Problem{Kind: p.Kind, RecordID: "-", Detail: "details are open to those who may read the whole log"}
		}
		st.Problems = redacted
	}
	Wrote(ctx, "audit.status", Ref{Target: "access log"}, fmt.Sprintf("%d chains, %d problems", st.Chains, len(st.Problems)))
	return st, nil
}

func (v *verifier) status(ctx context.Context) (Status, error) {
	v.mu.Lock()
	now := v.now()
	switch {
	case v.running != nil:
	case v.last != nil && now.Sub(v.lastEnd) < v.maxAge:
		st := *v.last
		v.mu.Unlock()
		return st, nil
	case v.lastErr != nil && now.Sub(v.lastEnd) < statusRetry:
		err := v.lastErr
		v.mu.Unlock()
		return Status{}, err
	}
	done := v.running
	if done == nil {
		done = make(chan struct{})
		runCtx, cancel := context.WithTimeout(context.Background(), statusTimeout)
		v.running, v.runCancel = done, cancel
		go v.run(runCtx, cancel, done)
	}
	v.mu.Unlock()

	wait := time.NewTimer(statusWait)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
		return Status{}, apperr.New(apperr.AuditUnavailable, "the audit log is still being verified; ask again shortly")
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.lastErr != nil {
		return Status{}, v.lastErr
	}
	return *v.last, nil
}

// run verifies the log once and publishes the result.
func (v *verifier) run(ctx context.Context, cancel context.CancelFunc, done chan struct{}) {
	defer cancel()
	at := v.now().UTC()
	// Only this goroutine reads and writes positions (one run at a time).
	rep, next, err := VerifyFrom(ctx, v.repo, v.trusted, v.positions, nil)
	if err == nil {
		v.positions = next
		// A file that cannot be written (a full disk) costs only a
		// longer first check after a restart; the status stays valid.
		_ = v.savePositions(next)
	}
	v.mu.Lock()
	v.lastEnd = v.now()
	if err != nil {
		v.lastErr = apperr.Wrap(err, apperr.AuditUnavailable, "the audit log could not be verified")
	} else {
		v.last, v.lastErr = &Status{Report: rep, CheckedAt: at}, nil
	}
	v.running, v.runCancel = nil, nil
	v.mu.Unlock()
	close(done)
}
