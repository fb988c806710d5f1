package authz

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
)

// decisionCache memoizes decisions that depend only on their input and
// the policy version — data filters and hidden fields — so that reading
// the same case again costs a hash, not a partial evaluation. Policies
// are pure functions of their input (they get no clock, no network, no
// data documents), which is what makes this sound.
type decisionCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]any
	max     int
}

func newDecisionCache(max int) *decisionCache {
	return &decisionCache{entries: map[[sha256.Size]byte]any{}, max: max}
}

// key hashes what a decision depends on; ok is false when the input
// cannot be encoded (the caller then evaluates without the cache).
func cacheKey(kind string, version int, input map[string]any) (k [sha256.Size]byte, ok bool) {
	b, err := json.Marshal(input) // map keys are encoded in sorted order
	if err != nil {
		return k, false
	}
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0, byte(version >> 24), byte(version >> 16), byte(version >> 8), byte(version)})
	h.Write(b)
	h.Sum(k[:0])
	return k, true
}

func (c *decisionCache) get(k [sha256.Size]byte) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[k]
	return v, ok
}

func (c *decisionCache) put(k [sha256.Size]byte, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Start over rather than track recency: the working set of cases
		// being handled refills it at once.
		c.entries = make(map[[sha256.Size]byte]any, c.max/4)
	}
	c.entries[k] = v
}
