package catalogue

import (
	"context"
	"sync"
	"time"
)

// lookupTTL is how long a looked-up catalogue entry is reused. Entries
// change rarely; a change made on this instance is seen at once (the cache
// is cleared), one made on another instance within this time.
const lookupTTL = 2 * time.Second

// lookups caches Lookup* results for licence and case reads, which look up
// the same few types, matters and units on every request.
type lookups struct {
	mu      sync.Mutex
	entries map[string]cached
}

type cached struct {
	v   any
	exp time.Time
}

func (l *lookups) get(key string, now time.Time) (any, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.entries[key]
	if !ok || now.After(c.exp) {
		return nil, false
	}
	return c.v, true
}

func (l *lookups) put(key string, v any, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil || len(l.entries) > 10_000 {
		l.entries = map[string]cached{}
	}
	l.entries[key] = cached{v: v, exp: now.Add(lookupTTL)}
}

func (l *lookups) clear() {
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
}

// cachedLookup returns the cached value for key or loads it.
func cachedLookup[T any](s *Service, ctx context.Context, key string, load func(context.Context, string) (T, error), code string) (T, error) {
	now := time.Now()
	if v, ok := s.cache.get(key, now); ok {
		return v.(T), nil
	}
	v, err := load(ctx, code)
	if err != nil {
		return v, err
	}
	s.cache.put(key, v, now)
	return v, nil
}
