package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// pool is a connection pool that prepares each query text once and reuses
// the statement: modernc's SQLite spends much of a small read parsing SQL
// otherwise. database/sql re-prepares a statement on each connection as
// needed. Query texts built for a variable number of values (IN lists) are
// many; past maxStmts the rest run unprepared.
type pool struct {
	*sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

const maxStmts = 256

func newPool(db *sql.DB) *pool { return &pool{DB: db, stmts: map[string]*sql.Stmt{}} }

func (p *pool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st, ok := p.stmts[query]
	n := len(p.stmts)
	p.mu.RUnlock()
	if ok || n >= maxStmts {
		return st
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil // the unprepared path reports the error
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.stmts[query]; ok {
		st.Close()
		return old
	}
	p.stmts[query] = st
	return st
}

// QueryContext runs a query through its prepared statement.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query through its prepared statement.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement through its prepared form.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

// Close closes the statements and the pool.
func (p *pool) Close() error {
	p.mu.Lock()
	for _, st := range p.stmts {
		st.Close()
	}
	p.stmts = map[string]*sql.Stmt{}
	p.mu.Unlock()
	return p.DB.Close()
}
