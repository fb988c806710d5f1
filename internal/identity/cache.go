package identity

import (
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultCacheSize is the number of verified tokens a Verifier remembers
// unless VerifierConfig.CacheSize says otherwise.
const DefaultCacheSize = 10_000

// tokenCache remembers verified tokens by the SHA-256 of the token string
// until they expire, so that a token seen before is accepted without
// parsing it or checking its signature again. It is bounded: when full it
// drops expired entries and, if that is not enough, an arbitrary tenth of
// the rest, so the cost of eviction is amortised over many inserts.
type tokenCache struct {
	mu      sync.RWMutex
	limit   int
	entries map[[sha256.Size]byte]*Principal
}

func newTokenCache(limit int) *tokenCache {
	if limit <= 0 {
		return nil // caching disabled
	}
	return &tokenCache{limit: limit, entries: make(map[[sha256.Size]byte]*Principal)}
}

// get returns the principal cached for key if it is still valid at now
// (expiry plus leeway). Nil caches never hit.
func (c *tokenCache) get(key [sha256.Size]byte, now time.Time, leeway time.Duration) (*Principal, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	p, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !now.Before(p.ExpiresAt.Add(leeway)) {
		return nil, false
	}
	return p, true
}

// put caches p under key. It is a no-op on a nil cache.
func (c *tokenCache) put(key [sha256.Size]byte, p *Principal, now time.Time, leeway time.Duration) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.limit {
		c.evict(now, leeway)
	}
	c.entries[key] = p
}

// evict makes room; c.mu must be held for writing.
func (c *tokenCache) evict(now time.Time, leeway time.Duration) {
	for k, p := range c.entries {
		if !now.Before(p.ExpiresAt.Add(leeway)) {
			delete(c.entries, k)
		}
	}
	target := c.limit - max(c.limit/10, 1)
	for k := range c.entries { // map order is arbitrary
		if len(c.entries) <= target {
			break
		}
		delete(c.entries, k)
	}
}

// size reports the number of cached entries (for tests).
func (c *tokenCache) size() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
