package audit

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"certd/internal/apperr"
)

// DefaultQueryLimit is the page size of a Query without Limit.
const DefaultQueryLimit = 100

// MemoryRepository is a Repository held in memory: the log of an export
// read back for offline verification (ReadExport), and a store for tests.
// It is safe for concurrent use.
type MemoryRepository struct {
	mu      sync.Mutex
	records map[string][]Record // by chain, in the order added
	cps     map[string][]Checkpoint
	keys    map[string]bool // "<chain>.<seq>" of records, and with ".cp" or ".final" of checkpoints
}

var _ Repository = (*MemoryRepository)(nil)

// NewMemoryRepository returns an empty log.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{records: map[string][]Record{}, cps: map[string][]Checkpoint{}, keys: map[string]bool{}}
}

// AppendAudit implements Repository; a (chain, seq) that exists is a
// CONFLICT and nothing is stored.
func (m *MemoryRepository) AppendAudit(_ context.Context, recs []Record, cps []Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	batch := map[string]bool{}
	for _, r := range recs {
		k := r.ID()
		if m.keys[k] || batch[k] {
			return apperr.Conflictf("audit record %s exists already", k)
		}
		batch[k] = true
	}
	for _, c := range cps {
		k := checkpointKey(&c)
		if m.keys[k] || batch[k] {
			return apperr.Conflictf("audit checkpoint %s exists already", k)
		}
		batch[k] = true
	}
	m.add(recs, cps)
	return nil
}

func checkpointKey(c *Checkpoint) string {
	if c.Final {
		return c.Chain + "." + itoa(c.Seq) + ".final"
	}
	return c.Chain + "." + itoa(c.Seq) + ".cp"
}

// add stores without checks: an export may hold anything.
func (m *MemoryRepository) add(recs []Record, cps []Checkpoint) {
	for _, r := range recs {
		m.records[r.Chain] = append(m.records[r.Chain], r)
		m.keys[r.ID()] = true
	}
	for _, c := range cps {
		m.cps[c.Chain] = append(m.cps[c.Chain], c)
		m.keys[checkpointKey(&c)] = true
	}
}

// QueryAudit implements Repository.
func (m *MemoryRepository) QueryAudit(_ context.Context, q Query) ([]Record, error) {
	m.mu.Lock()
	var out []Record
	for _, rs := range m.records {
		for _, r := range rs {
			if Matches(&q, &r) {
				out = append(out, r)
			}
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Record) int { return compareNewestFirst(&a, &b) })
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultQueryLimit
	}
	return out[:min(limit, len(out))], nil
}

// compareNewestFirst orders records by At, Chain and Seq, descending.
func compareNewestFirst(a, b *Record) int {
	return cmp.Or(b.At.Compare(a.At), cmp.Compare(b.Chain, a.Chain), cmp.Compare(b.Seq, a.Seq))
}

// Matches reports whether r is selected by q, cursor included: the
// meaning of Query that the stores implement.
func Matches(q *Query, r *Record) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	switch {
	case !eq(q.CertificateID, r.CertificateID), !eq(q.HolderCode, r.HolderCode), !eq(q.Org, r.Org),
		!eq(q.ScopeIssuer, r.IssuerCode), !eq(q.ScopeHolder, r.HolderCode),
		q.KindAccessOnly && r.Kind != KindAccess && !slices.Contains(q.AlsoActions, r.Action),
		!q.From.IsZero() && r.At.Before(q.From), !q.To.IsZero() && !r.At.Before(q.To):
		return false
	}
	if q.After != nil {
		return compareNewestFirst(&Record{At: q.After.At, Chain: q.After.Chain, Seq: q.After.Seq}, r) < 0
	}
	return true
}

// AuditChains implements Repository.
func (m *MemoryRepository) AuditChains(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for c := range m.records {
		out = append(out, c)
	}
	for c := range m.cps {
		if _, ok := m.records[c]; !ok {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out, nil
}

// AuditChain implements Repository.
func (m *MemoryRepository) AuditChain(_ context.Context, chain string, after int64, limit int) ([]Record, error) {
	m.mu.Lock()
	var out []Record
	for _, r := range m.records[chain] {
		if r.Seq > after {
			out = append(out, r)
		}
	}
	m.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Record) int { return cmp.Compare(a.Seq, b.Seq) })
	return out[:min(limit, len(out))], nil
}

// AuditCheckpoints implements Repository.
func (m *MemoryRepository) AuditCheckpoints(_ context.Context, chain string, after int64) ([]Checkpoint, error) {
	m.mu.Lock()
	var out []Checkpoint
	for _, cp := range m.cps[chain] {
		if cp.Seq > after {
			out = append(out, cp)
		}
	}
	m.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Checkpoint) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// AuditHead implements Repository.
func (m *MemoryRepository) AuditHead(_ context.Context, chain string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var head int64
	for _, r := range m.records[chain] {
		head = max(head, r.Seq)
	}
	return head, nil
}

// AccessStats implements Repository.
func (m *MemoryRepository) AccessStats(_ context.Context, from, to time.Time) (map[string]AccessStat, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]AccessStat{}
	for _, rs := range m.records {
		for _, r := range rs {
			if r.Kind != KindAccess || r.At.Before(from) || !r.At.Before(to) {
				continue
			}
			st := out[r.Org]
			st.Add(r.Decision, 1, r.Count)
			out[r.Org] = st
		}
	}
	return out, nil
}
