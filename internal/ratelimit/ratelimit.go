// Package ratelimit throttles public operations per client address: one
// token bucket (golang.org/x/time/rate) per IPv4 address or IPv6 /64
// network, kept in memory by each instance.
package ratelimit

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxClients bounds how many client buckets a limiter keeps.
const DefaultMaxClients = 100_000

// Limiter allows each client perMinute operations a minute, in bursts of
// at most burst. A nil *Limiter allows everything. It is safe for
// concurrent use.
type Limiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time
	max   int

	mu      sync.Mutex
	clients map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// New returns a limiter of perMinute operations a minute per client with
// bursts of burst (at least 1); perMinute <= 0 returns nil, which limits
// nothing. now is the clock; nil means time.Now.
func New(perMinute, burst int, now func() time.Time) *Limiter {
	if perMinute <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{limit: rate.Limit(float64(perMinute) / 60), burst: max(burst, 1), now: now,
		max: DefaultMaxClients, clients: map[string]*bucket{}}
}

// Allow takes one token from client's bucket. When none is left it
// returns false and how long until one is.
func (l *Limiter) Allow(client string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	key := Key(client)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= l.max {
			l.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict forgets the clients whose buckets have refilled (nothing to
// remember), and if that frees too little, every other one: memory stays
// bounded whatever number of addresses calls.
func (l *Limiter) evict(now time.Time) {
	refill := time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	for k, b := range l.clients {
		if now.Sub(b.last) > refill {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < l.max*9/10 {
		return
	}
	i := 0
	for k := range l.clients {
		if i%2 == 0 {
			delete(l.clients, k)
		}
		i++
	}
}

// Key is the bucket of a client address: the address itself for IPv4,
// its /64 network for IPv6 (one subscriber's usual allocation), the text
// as given for anything that is not an address.
func Key(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil {
		return client
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

type clientKey struct{}

// WithClient records the client address of a request in ctx.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// Client is the client address recorded in ctx, or "".
func Client(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}
