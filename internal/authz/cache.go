package authz

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"sync"

	"certd/internal/identity"
)

// decisionCache memoizes decisions that depend only on their input and
// the policy — data filters, hidden fields, allow — so that reading the
// same case again costs an encoding and a map lookup, not an evaluation.
// Policies are pure functions of their input (they get no clock, no
// network, no data documents), which is what makes this sound.
//
// A key is the whole of what a decision depends on in a fixed binary form
// (decisionKey), never a hash of it: two inputs that differ in anything,
// one claim of the principal or one value of the resource, cannot share
// an entry. It starts with the generation of the compiled policy, which
// every Load changes, so a decision is only ever reused under the policy
// that took it.
type decisionCache struct {
	mu      sync.RWMutex
	entries map[string]any
	max     int
}

func newDecisionCache(max int) *decisionCache {
	return &decisionCache{entries: map[string]any{}, max: max}
}

func (c *decisionCache) get(k []byte) (any, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.entries[string(k)] // no copy of k: the compiler looks up in place
	return v, ok
}

func (c *decisionCache) put(k []byte, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Start over rather than track recency: the working set of cases
		// being handled refills it at once.
		c.entries = make(map[string]any, c.max/4)
	}
	c.entries[string(k)] = v
}

// clear drops every entry (a new policy was loaded).
func (c *decisionCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = make(map[string]any, c.max/4)
}

// Kinds of decision, the first byte of a key.
const (
	kindAllow  byte = 'a'
	kindFilter byte = 'f'
	kindHidden byte = 'h'
)

// How the extra map of a key enters the input: under "resource" (Decide),
// or merged into the top level (Filter, HiddenFields).
const (
	extraResource byte = 'r'
	extraMerged   byte = 'm'
)

var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// decisionKey encodes what a decision depends on: its kind, the policy's
// generation, the action, every claim of the principal that reaches the
// policy's input, and the extra map (the resource or the known input)
// with its keys in sorted order. Every string is length-prefixed and
// every value tagged with its type, so the encoding of different inputs
// differs. ok is false when a value has a type the encoding does not
// know and cannot be marshalled to JSON; the caller then decides
// without the cache. Return the buffer with releaseKey.
func decisionKey(kind byte, gen uint64, action string, p *identity.Principal, mode byte, extra map[string]any) (key *[]byte, ok bool) {
	bp := keyBuffers.Get().(*[]byte)
	b := append((*bp)[:0], kind)
	b = binary.AppendUvarint(b, gen)
	b = appendString(b, action)
	if p == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendString(b, p.Subject)
		b = appendString(b, p.Org)
		b = appendStrings(b, p.Roles)
		b = appendString(b, p.Holder)
		b = appendStrings(b, p.AMR)
	}
	b = append(b, mode)
	b, ok = appendValue(b, extra)
	*bp = b
	if !ok {
		releaseKey(bp)
		return nil, false
	}
	return bp, true
}

func releaseKey(bp *[]byte) {
	if cap(*bp) <= 64<<10 { // keep no giant buffers
		keyBuffers.Put(bp)
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// Type tags of appendValue.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagString
	tagInt
	tagUint
	tagFloat
	tagNumber
	tagList
	tagStrings
	tagObject
	tagStringMap
	tagJSON
)

// appendValue appends v, tagged with its type; a nil map or slice is
// nil, not empty, as JSON has it. Values of other types than
// those certd's callers build are appended as their JSON, still tagged
// and length-prefixed.
func appendValue(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, tagNil), true
	case bool:
		if v {
			return append(b, tagTrue), true
		}
		return append(b, tagFalse), true
	case string:
		return appendString(append(b, tagString), v), true
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(v)), true
	case int64:
		return binary.AppendVarint(append(b, tagInt), v), true
	case int32:
		return binary.AppendVarint(append(b, tagInt), int64(v)), true
	case uint64:
		return binary.AppendUvarint(append(b, tagUint), v), true
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v)), true
	case json.Number:
		return appendString(append(b, tagNumber), string(v)), true
	case []any:
		if v == nil {
			return append(b, tagNil), true
		}
		b = binary.AppendUvarint(append(b, tagList), uint64(len(v)))
		for _, x := range v {
			var ok bool
			if b, ok = appendValue(b, x); !ok {
				return b, false
			}
		}
		return b, true
	case []string:
		if v == nil {
			return append(b, tagNil), true
		}
		return appendStrings(append(b, tagStrings), v), true
	case map[string]any:
		if v == nil {
			return append(b, tagNil), true
		}
		b = binary.AppendUvarint(append(b, tagObject), uint64(len(v)))
		var ok bool
		var arr [16]string
		for _, k := range sortedKeys(arr[:0], v) {
			b = appendString(b, k)
			if b, ok = appendValue(b, v[k]); !ok {
				return b, false
			}
		}
		return b, true
	case map[string]string:
		if v == nil {
			return append(b, tagNil), true
		}
		b = binary.AppendUvarint(append(b, tagStringMap), uint64(len(v)))
		var arr [16]string
		for _, k := range sortedKeys(arr[:0], v) {
			b = appendString(appendString(b, k), v[k])
		}
		return b, true
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return b, false
	}
	b = binary.AppendUvarint(append(b, tagJSON), uint64(len(raw)))
	return append(b, raw...), true
}

// sortedKeys appends m's keys to keys, sorted: with room in keys, as
// for the small maps of a decision's input, without allocating.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
