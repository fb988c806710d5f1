package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Appender stores records durably (the Writer).
type Appender interface {
	Append(ctx context.Context, recs []Record) error
}

// GateOptions tunes a Gate; zero values take the defaults.
type GateOptions struct {
	// RefusalInterval is how long repeated refusals are counted before
	// their summary is stored (default one minute).
	RefusalInterval time.Duration
	// MaxCallers bounds the (caller, refusal) pairs counted at once
	// (default 10,000); past it, further pairs are counted together.
	MaxCallers int
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger
}

// Gate stores the records of each request before its response leaves,
// and keeps the log from being flooded: the first refusal of a kind from
// one caller in an interval is stored with its request, the same refusal
// again is only counted, and at the end of the interval one summary
// record says how many there were (Record.Count). A caller is a subject
// and unit for requests with a token, a client address without one; a
// kind of refusal is its action and, with a token, what it was about.
type Gate struct {
	w    Appender
	opts GateOptions
	log  *slog.Logger

	mu      sync.Mutex
	counts  map[refusalKey]*refusalCount
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
}

type refusalKey struct {
	caller, action, what string
}

type refusalCount struct {
	first Record // the refusal stored
	more  int    // refusals counted since
}

// NewGate returns a gate storing into w; it flushes refusal summaries
// every RefusalInterval until Close.
func NewGate(w Appender, opts GateOptions) *Gate {
	if opts.RefusalInterval <= 0 {
		opts.RefusalInterval = time.Minute
	}
	if opts.MaxCallers <= 0 {
		opts.MaxCallers = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	g := &Gate{w: w, opts: opts, log: opts.Logger, counts: map[refusalKey]*refusalCount{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// Commit stores the records of t's request, of the operation named op
// (when not ""), and returns once they are stored; AUDIT_UNAVAILABLE
// means the response must not leave. Refusals repeated within the
// interval are counted, not stored.
func (g *Gate) Commit(ctx context.Context, t *Trail, op string) error {
	if t == nil {
		return nil
	}
	if op != "" {
		t.SetOperation(op)
	}
	recs := g.admit(t.Records(g.opts.Now().UTC().Truncate(time.Millisecond)))
	if len(recs) == 0 {
		return nil
	}
	return g.w.Append(ctx, recs)
}

// admit keeps the records to store now: every record but refusals
// counted (see Gate).
func (g *Gate) admit(recs []Record) []Record {
	out := recs[:0]
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range recs {
		if r.Decision != Deny {
			out = append(out, r)
			continue
		}
		k := keyOf(&r)
		c, ok := g.counts[k]
		if !ok && len(g.counts) >= g.opts.MaxCallers {
			k = refusalKey{action: r.Action} // the rest, together
			c, ok = g.counts[k]
		}
		if ok {
			c.more += max(r.Count, 1)
			continue
		}
		g.counts[k] = &refusalCount{first: r}
		out = append(out, r)
	}
	return out
}

func keyOf(r *Record) refusalKey {
	if r.Subject == AnonymousSubject {
		return refusalKey{caller: "client " + r.Client, action: r.Action}
	}
	return refusalKey{caller: r.Subject + "@" + r.Org, action: r.Action,
		what: r.CertificateID + "|" + r.CaseID + "|" + r.HolderCode + "|" + r.Reason}
}

// Flush stores a summary record for every refusal counted since the last
// flush, and starts a new interval.
func (g *Gate) Flush(ctx context.Context) error {
	g.mu.Lock()
	counts := g.counts
	g.counts = map[refusalKey]*refusalCount{}
	g.mu.Unlock()
	at := g.opts.Now().UTC().Truncate(time.Millisecond)
	var recs []Record
	for k, c := range counts {
		if c.more == 0 {
			continue
		}
		recs = append(recs, summary(k, c, at))
	}
	if len(recs) == 0 {
		return nil
	}
	return g.w.Append(ctx, recs)
}

// summary is the record of refusals counted: who and what as the first
// one stored said, without what belonged to one request.
func summary(k refusalKey, c *refusalCount, at time.Time) Record {
	f := &c.first
	r := Record{At: at, Kind: f.Kind, Action: f.Action, Decision: Deny, Count: c.more, Fields: []string{},
		Subject: f.Subject, Org: f.Org, Roles: f.Roles, PolicyVersion: f.PolicyVersion,
		Reason: "refused again after the one recorded, within the interval"}
	switch {
	case k.caller == "": // the rest, together
		r.Subject, r.Org, r.Roles = "various", "", []string{}
		r.Reason = "refusals of callers past the counting limit, within the interval"
	case f.Subject == AnonymousSubject:
		r.Client = f.Client
	default:
		r.Client, r.CertificateID, r.CaseID, r.HolderCode, r.IssuerCode, r.MatterCode =
			f.Client, f.CertificateID, f.CaseID, f.HolderCode, f.IssuerCode, f.MatterCode
	}
	return r
}

func (g *Gate) run() {
	defer close(g.done)
	tick := time.NewTicker(g.opts.RefusalInterval)
	defer tick.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			if err := g.Flush(ctx); err != nil {
				g.log.Warn("audit: refusal summaries not stored", "err", err)
			}
			cancel()
		}
	}
}

// Close stops the periodic flush and stores what was counted; call it
// before closing the Appender.
func (g *Gate) Close(ctx context.Context) error {
	g.closing.Do(func() { close(g.stop) })
	<-g.done
	return g.Flush(ctx)
}
