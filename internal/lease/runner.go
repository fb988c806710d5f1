package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultTTL is how long a lease lasts without renewal. The holder renews
// it every third of that, so another instance takes over between one and
// about one and a third TTLs after the holder stopped.
const DefaultTTL = 30 * time.Second

// Job is one run of a background job, made while holding its lease l. Its
// context ends when the lease is lost or the instance stops. The note it
// returns is recorded on the lease (a fenced write) for operators.
type Job func(ctx context.Context, l Lease) (note string, err error)

// Runner runs jobs each under its own lease, so that of the instances
// sharing a store one at a time runs each job.
type Runner struct {
	repo  Repository
	owner string
	ttl   time.Duration
	now   func() time.Time
	log   *slog.Logger

	runs     *prometheus.CounterVec
	acquired *prometheus.CounterVec
	held     *prometheus.GaugeVec
}

// NewOwner names this process as a lease owner: host, process id and a
// random part, so that a restarted process is a new owner.
func NewOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// NewRunner returns a runner acquiring leases as owner for ttl
// (DefaultTTL if 0). now is the clock (time.Now if nil).
func NewRunner(repo Repository, owner string, ttl time.Duration, now func() time.Time, log *slog.Logger) *Runner {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Runner{
		repo: repo, owner: owner, ttl: ttl, now: now, log: log,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certd_background_runs_total",
			Help: "Runs of background jobs on this instance while it held the job's lease, by job and result (ok, error).",
		}, []string{"job", "result"}),
		acquired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certd_background_lease_acquisitions_total",
			Help: "Times this instance acquired a background job's lease.",
		}, []string{"job"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certd_background_lease_held",
			Help: "1 while this instance holds the background job's lease, else 0.",
		}, []string{"job"}),
	}
}

// Owner is the runner's owner name.
func (r *Runner) Owner() string { return r.owner }

// Collectors are the runner's Prometheus series.
func (r *Runner) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.runs, r.acquired, r.held}
}

// Run runs job under the lease name, right away on acquiring it and then
// every interval while it holds it, until ctx is done; it then releases
// the lease so that another instance takes over at once. While another
// instance holds the lease it tries again every third of the TTL.
func (r *Runner) Run(ctx context.Context, name string, every time.Duration, job Job) {
	r.held.WithLabelValues(name).Set(0)
	retry := r.ttl / 3
	for ctx.Err() == nil {
		l, ok, err := r.repo.AcquireLease(ctx, name, r.owner, r.now(), r.ttl)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.log.Warn("background: acquire lease", "job", name, "err", err)
			}
		case ok:
			r.acquired.WithLabelValues(name).Inc()
			r.log.Info("background: lease acquired", "job", name, "owner", r.owner, "token", l.Token)
			r.hold(ctx, name, l, every, job)
			continue
		}
		if !sleep(ctx, retry) {
			return
		}
	}
}

// hold runs job every interval while the lease is held, renewing it
// beside the runs; it returns when the lease is lost or ctx is done, in
// which case it releases the lease.
func (r *Runner) hold(ctx context.Context, name string, l Lease, every time.Duration, job Job) {
	r.held.WithLabelValues(name).Set(1)
	defer r.held.WithLabelValues(name).Set(0)
	holdCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var mu sync.Mutex
	current := l
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		defer cancel()
		t := time.NewTicker(r.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-holdCtx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			held := current
			mu.Unlock()
			next, err := r.repo.RenewLease(holdCtx, held, r.now(), r.ttl)
			switch {
			case err == nil:
				mu.Lock()
				current = next
				mu.Unlock()
			case errors.Is(err, ErrLost):
				r.log.Warn("background: lease lost to another instance", "job", name, "token", held.Token)
				return
			case holdCtx.Err() != nil:
				return
			default:
				// The store may be back before the lease lapses; past
				// the expiry another instance may have it, so stop.
				r.log.Warn("background: renew lease", "job", name, "err", err)
				if !r.now().Add(r.ttl / 3).Before(held.Expires) {
					return
				}
			}
		}
	}()

	for {
		mu.Lock()
		held := current
		mu.Unlock()
		note, err := job(holdCtx, held)
		result := "ok"
		if err != nil {
			result = "error"
			if holdCtx.Err() == nil {
				r.log.Warn("background job failed", "job", name, "err", err)
				note = "failed: " + err.Error()
			}
		}
		r.runs.WithLabelValues(name, result).Inc()
		if holdCtx.Err() == nil {
			if err := r.repo.NoteLease(holdCtx, held, note, r.now()); errors.Is(err, ErrLost) {
				r.log.Warn("background: lease lost to another instance", "job", name, "token", held.Token)
				cancel()
			} else if err != nil && holdCtx.Err() == nil {
				r.log.Warn("background: note on lease", "job", name, "err", err)
			}
		}
		if !sleep(holdCtx, every) {
			break
		}
	}
	cancel()
	<-renewed
	if ctx.Err() != nil {
		// Stopping: let another instance take over now rather than
		// after the TTL.
		mu.Lock()
		held := current
		mu.Unlock()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := r.repo.ReleaseLease(rctx, held); err != nil {
			r.log.Warn("background: release lease", "job", name, "err", err)
		} else {
			r.log.Info("background: lease released", "job", name, "token", held.Token)
		}
	}
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
