package baseline

import (
	"context"
	"slices"
	"sync"

	"certd/internal/cases"
	"certd/internal/certificate"
)

// memoryStore serves the baseline's reads from maps: the rows of the
// store underneath, each read from it once and then kept. It is the
// in-memory baseline: the same rows and the same shapes as the store
// baseline, without the store's cost. Writes go to the store and update
// the maps, so what it serves stays what the store holds as long as the
// baseline is the only writer of the rows it has read (certd issuing to a
// holder the baseline has read is not seen by it).
type memoryStore struct {
	Store

	mu       sync.RWMutex
	byID     map[string]certificate.Certificate
	byHolder map[string][]certificate.Certificate // every version, newest first
	cases    map[string]cases.Case
}

func newMemoryStore(st Store) *memoryStore {
	return &memoryStore{Store: st, byID: map[string]certificate.Certificate{},
		byHolder: map[string][]certificate.Certificate{}, cases: map[string]cases.Case{}}
}

// holderRows is the most licence versions of one holder kept.
const holderRows = 10_000

// Get implements certificate.Repository from the map.
func (m *memoryStore) Get(ctx context.Context, id string) (certificate.Certificate, error) {
	return readThrough(m, m.byID, id, func() (certificate.Certificate, error) { return m.Store.Get(ctx, id) })
}

// readThrough returns rows[key], loading and keeping it the first time.
func readThrough[V any](m *memoryStore, rows map[string]V, key string, load func() (V, error)) (V, error) {
	m.mu.RLock()
	v, ok := rows[key]
	m.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	m.mu.Lock()
	rows[key] = v
	m.mu.Unlock()
	return v, nil
}

// List implements certificate.Repository for the holder listings the
// baseline makes: from the holder's rows in memory, filtered as the store
// would. Any other listing goes to the store.
func (m *memoryStore) List(ctx context.Context, f certificate.Filter, after *certificate.Cursor, limit int) ([]certificate.Certificate, error) {
	if f.HolderCode == "" || after != nil || f.Policy != nil || f.IssuerCode != "" || f.TypeCode != "" {
		return m.Store.List(ctx, f, after, limit)
	}
	rows, err := m.holder(ctx, f.HolderCode)
	if err != nil {
		return nil, err
	}
	out := make([]certificate.Certificate, 0, min(limit, len(rows)))
	for i := range rows {
		c := &rows[i]
		if len(out) == limit {
			break
		}
		if (f.State != "" && c.State != f.State) || (f.CurrentOnly && !c.Current) ||
			(f.TypeCodes != nil && !slices.Contains(f.TypeCodes, c.TypeCode)) {
			continue
		}
		out = append(out, *c)
	}
	return out, nil
}

// holder returns every version of a holder's licences, newest first,
// reading them from the store the first time.
func (m *memoryStore) holder(ctx context.Context, code string) ([]certificate.Certificate, error) {
	m.mu.RLock()
	rows, ok := m.byHolder[code]
	m.mu.RUnlock()
	if ok {
		return rows, nil
	}
	rows, err := m.Store.List(ctx, certificate.Filter{HolderCode: code}, nil, holderRows)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.byHolder[code] = rows
	for _, c := range rows {
		m.byID[c.ID] = c
	}
	m.mu.Unlock()
	return rows, nil
}

// Insert implements certificate.Repository: stored, then forgotten for
// the holders it adds to, which the next read loads again.
func (m *memoryStore) Insert(ctx context.Context, cs []certificate.Certificate) ([]certificate.InsertResult, error) {
	res, err := m.Store.Insert(ctx, cs)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	for _, c := range cs {
		delete(m.byHolder, c.Holder.Code)
	}
	m.mu.Unlock()
	return res, nil
}

// GetCase implements cases.Repository from the map.
func (m *memoryStore) GetCase(ctx context.Context, id string) (cases.Case, error) {
	return readThrough(m, m.cases, id, func() (cases.Case, error) { return m.Store.GetCase(ctx, id) })
}

// CreateCase implements cases.Repository: stored, and kept.
func (m *memoryStore) CreateCase(ctx context.Context, c cases.Case) error {
	if err := m.Store.CreateCase(ctx, c); err != nil {
		return err
	}
	m.mu.Lock()
	m.cases[c.ID] = c
	m.mu.Unlock()
	return nil
}
