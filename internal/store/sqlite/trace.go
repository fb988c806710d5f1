package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// Option configures OpenFile.
type Option func(*options)

type options struct {
	trace TraceFunc
}

// TraceFunc is told every statement the store runs, with the database file
// it runs on and its arguments, before it runs.
type TraceFunc func(file, query string, args []driver.NamedValue)

// WithTrace has the store report every statement it runs, in transactions
// too, to fn; the plan check (plancheck_test.go) explains each one's query
// plan. It costs a function call per statement.
func WithTrace(fn TraceFunc) Option {
	return func(o *options) { o.trace = fn }
}

// openSQL opens dsn with the sqlite driver, through a tracing wrapper when
// o has a trace function.
func (o *options) openSQL(file, dsn string) (*sql.DB, error) {
	if o == nil || o.trace == nil {
		return sql.Open("sqlite", dsn)
	}
	return sql.OpenDB(tracingConnector{dsn: dsn, file: file, trace: o.trace}), nil
}

// tracingConnector opens connections of the sqlite driver that report
// every statement before running it.
type tracingConnector struct {
	dsn, file string
	trace     TraceFunc
}

func (c tracingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &tracingConn{Conn: conn, c: c}, nil
}

func (c tracingConnector) Driver() driver.Driver { return &sqlite.Driver{} }

// The driver's connection implements these; the wrapper passes them on.
type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type tracingConn struct {
	driver.Conn
	c tracingConnector
}

func (t *tracingConn) full() fullConn { return t.Conn.(fullConn) }

func (t *tracingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return t.full().BeginTx(ctx, opts)
}

func (t *tracingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := t.full().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &tracingStmt{Stmt: st, query: query, c: t.c}, nil
}

func (t *tracingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	t.c.trace(t.c.file, query, args)
	return t.full().ExecContext(ctx, query, args)
}

func (t *tracingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	t.c.trace(t.c.file, query, args)
	return t.full().QueryContext(ctx, query, args)
}

func (t *tracingConn) Ping(ctx context.Context) error { return t.full().Ping(ctx) }

func (t *tracingConn) ResetSession(ctx context.Context) error { return t.full().ResetSession(ctx) }

func (t *tracingConn) IsValid() bool { return t.full().IsValid() }

type tracingStmt struct {
	driver.Stmt
	query string
	c     tracingConnector
}

func (s *tracingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.trace(s.c.file, s.query, args)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *tracingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.trace(s.c.file, s.query, args)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
