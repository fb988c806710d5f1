package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"certd/internal/apperr"
	"certd/internal/audit"
)

// The audit log lives in audit_records and audit_checkpoints of its own
// database file (audit_migrations/0001_audit.sql, audit_db.go), which
// triggers keep append-only.

var _ audit.Repository = (*Store)(nil)

// auditColsV1 are the columns of migration 0001, those a certd.db from
// before the audit log's own file holds; auditCols adds those of 0002.
const (
	auditColsV1 = `chain, seq, at, kind, subject, org, roles, operation, action, case_id, matter_code, holder_code,
	certificate_id, issuer_code, fields, decision, reason, policy_version, request_id, client, prev_hash, hash`
	auditCols = auditColsV1 + `, v, basis, count`
)

const (
	auditColCount = 25
	cpColCount    = 7
	// auditChunk is the most records one INSERT statement carries
	// (25 × 256 parameters, well below SQLite's limit of 32766); a power
	// of two.
	auditChunk = 256
)

// AppendAudit implements audit.Repository: records and checkpoints are
// stored in one transaction, in multi-row INSERTs. A (chain, seq) that
// exists fails the whole call with CONFLICT.
func (s *Store) AppendAudit(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	if len(recs) == 0 && len(cps) == 0 {
		return nil
	}
	args := make([]any, 0, len(recs)*auditColCount)
	for i := range recs {
		var err error
		if args, err = appendAuditArgs(args, &recs[i]); err != nil {
			return err
		}
	}
	cpArgs := make([]any, 0, len(cps)*cpColCount)
	for _, c := range cps {
		cpArgs = append(cpArgs, c.Chain, c.Seq, millis(c.At), c.KeyID, c.Signature, c.Hash, c.Final)
	}
	// Records go in chunks of a power of two rows, at most auditChunk, so
	// that nine statements, each parsed once and kept prepared, serve
	// every batch: parsing a new statement of n rows for each batch took a
	// quarter of the time of storing a small one. They are prepared before
	// the transaction takes the pool's only connection.
	type chunk struct {
		q    string
		args []any
	}
	var chunks []chunk
	for start := 0; start < len(recs); {
		n := min(auditChunk, 1<<(bits.Len(uint(len(recs)-start))-1))
		chunks = append(chunks, chunk{auditInsertSQL("audit_records", auditCols, auditColCount, n), args[start*auditColCount : (start+n)*auditColCount]})
		start += n
	}
	if len(cps) > 0 {
		chunks = append(chunks, chunk{auditInsertSQL("audit_checkpoints", auditCheckpointCols, cpColCount, len(cps)), cpArgs})
	}
	stmts := make([]*sql.Stmt, len(chunks))
	for i, c := range chunks {
		stmts[i] = s.auditWrite.stmt(ctx, c.q)
	}
	return inTx(ctx, s.auditWrite, func(tx *sql.Tx) error {
		for i, c := range chunks {
			var err error
			if st := stmts[i]; st != nil {
				_, err = tx.StmtContext(ctx, st).ExecContext(ctx, c.args...)
			} else {
				_, err = tx.ExecContext(ctx, c.q, c.args...)
			}
			if err != nil {
				what := "record"
				if len(cps) > 0 && i == len(chunks)-1 {
					what = "checkpoint"
				}
				return auditWriteErr(err, what)
			}
		}
		return nil
	})
}

func appendAuditArgs(args []any, r *audit.Record) ([]any, error) {
	roles, err := jsonStrings(r.Roles)
	if err != nil {
		return nil, err
	}
	fields, err := jsonStrings(r.Fields)
	if err != nil {
		return nil, err
	}
	return append(args, r.Chain, r.Seq, millis(r.At), r.Kind, r.Subject, r.Org, roles, r.Operation, r.Action,
		r.CaseID, r.MatterCode, r.HolderCode, r.CertificateID, r.IssuerCode, fields, r.Decision, r.Reason,
		int64(r.PolicyVersion), r.RequestID, r.Client, r.PrevHash, r.Hash, int64(r.V), r.Basis, int64(r.Count)), nil
}

func jsonStrings(s []string) (string, error) {
	if len(s) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(s)
	return string(b), err
}

// auditWriteErr turns an existing (chain, seq) into CONFLICT: the primary
// key, or the trigger that refuses INSERT OR REPLACE, reports it.
func auditWriteErr(err error, what string) error {
	var se *sqlite.Error
	if isUniqueViolation(err) || errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_TRIGGER && strings.Contains(se.Error(), "exists") {
		return apperr.Conflictf("an audit %s of this batch exists already", what)
	}
	return fmt.Errorf("store audit %ss: %w", what, err)
}

var auditSQLs sync.Map // table and rows → statement

// auditInsertSQL is a multi-row INSERT of n rows of cols columns. OR
// ROLLBACK: a statement that can fail halfway through its rows would
// otherwise copy every page it changes into a statement journal first, to
// undo just itself (a third of the CPU time of storing a batch); a
// violated constraint fails the whole AppendAudit anyway, and OR ROLLBACK
// undoes its whole transaction instead.
func auditInsertSQL(table, names string, cols, n int) string {
	key := fmt.Sprintf("%s/%d", table, n)
	if q, ok := auditSQLs.Load(key); ok {
		return q.(string)
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	q := "INSERT OR ROLLBACK INTO " + table + " (" + names + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	auditSQLs.Store(key, q)
	return q
}

func scanAuditRecord(sc interface{ Scan(...any) error }) (audit.Record, error) {
	var r audit.Record
	var at, version, v, count int64
	var roles, fields string
	err := sc.Scan(&r.Chain, &r.Seq, &at, &r.Kind, &r.Subject, &r.Org, &roles, &r.Operation, &r.Action,
		&r.CaseID, &r.MatterCode, &r.HolderCode, &r.CertificateID, &r.IssuerCode, &fields, &r.Decision, &r.Reason,
		&version, &r.RequestID, &r.Client, &r.PrevHash, &r.Hash, &v, &r.Basis, &count)
	if err != nil {
		return r, err
	}
	r.At, r.PolicyVersion, r.V, r.Count = fromMillis(at), int(version), int(v), int(count)
	if err := json.Unmarshal([]byte(roles), &r.Roles); err != nil {
		return r, fmt.Errorf("audit record %s: roles: %w", r.ID(), err)
	}
	if err := json.Unmarshal([]byte(fields), &r.Fields); err != nil {
		return r, fmt.Errorf("audit record %s: fields: %w", r.ID(), err)
	}
	return r, nil
}

// ceilMillis is the first whole millisecond at or after t: records (whole
// milliseconds) at or after it are exactly those at or after t.
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// QueryAudit implements audit.Repository. User strings are only ever
// bound as parameters.
func (s *Store) QueryAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	where := []string{"1 = 1"}
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	eq("certificate_id", q.CertificateID)
	eq("holder_code", q.HolderCode)
	eq("org", q.Org)
	eq("issuer_code", q.ScopeIssuer)
	eq("holder_code", q.ScopeHolder)
	if q.KindAccessOnly {
		kinds := "kind = ?"
		args = append(args, audit.KindAccess)
		for _, a := range q.AlsoActions {
			kinds += " OR action = ?"
			args = append(args, a)
		}
		where = append(where, "("+kinds+")")
	}
	if !q.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, ceilMillis(q.From))
	}
	if !q.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, ceilMillis(q.To))
	}
	if c := q.After; c != nil {
		// The first term bounds the index range; the second is the keyset.
		at := millis(c.At)
		where = append(where, "at <= ? AND (at < ? OR (at = ? AND (chain < ? OR (chain = ? AND seq < ?))))")
		args = append(args, at, at, at, c.Chain, c.Chain, c.Seq)
	} else if len(where) == 1 && q.To.IsZero() {
		// The newest records of the whole log: a bound on at, even one
		// every row meets, has SQLite read the at index backwards rather
		// than sort every row. (With a filter, the filter's index leads.)
		where, args = append(where, "at <= ?"), append(args, int64(math.MaxInt64))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = audit.DefaultQueryLimit
	}
	args = append(args, limit)
	return list(ctx, s.auditRead, "SELECT "+auditCols+" FROM audit_records WHERE "+strings.Join(where, " AND ")+
		" ORDER BY at DESC, chain DESC, seq DESC LIMIT ?", scanAuditRecord, args...)
}

// AuditChains implements audit.Repository. It skips from chain to chain
// along the primary keys (a loose index scan), so it reads a few pages per
// chain rather than every record.
func (s *Store) AuditChains(ctx context.Context) ([]string, error) {
	skip := func(table string) string {
		return `SELECT min(chain) AS chain FROM ` + table + ` UNION ALL
			SELECT (SELECT min(chain) FROM ` + table + ` WHERE chain > prev.chain) FROM ` + table + `_chains AS prev WHERE prev.chain IS NOT NULL`
	}
	q := `WITH RECURSIVE audit_records_chains(chain) AS (` + skip("audit_records") + `),
		audit_checkpoints_chains(chain) AS (` + skip("audit_checkpoints") + `)
		SELECT chain FROM audit_records_chains WHERE chain IS NOT NULL
		UNION ALL SELECT chain FROM audit_checkpoints_chains WHERE chain IS NOT NULL`
	chains, err := list(ctx, s.auditRead, q, func(sc interface{ Scan(...any) error }) (string, error) {
		var c string
		return c, sc.Scan(&c)
	})
	// The few chains are sorted and made distinct in Go rather than in
	// temporary b-trees.
	slices.Sort(chains)
	return slices.Compact(chains), err
}

// AuditChain implements audit.Repository.
func (s *Store) AuditChain(ctx context.Context, chain string, after int64, limit int) ([]audit.Record, error) {
	return list(ctx, s.auditRead, "SELECT "+auditCols+" FROM audit_records WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?",
		scanAuditRecord, chain, after, limit)
}

// AuditCheckpoints implements audit.Repository.
func (s *Store) AuditCheckpoints(ctx context.Context, chain string, after int64) ([]audit.Checkpoint, error) {
	return list(ctx, s.auditRead, `SELECT chain, seq, at, key_id, signature, hash, final FROM audit_checkpoints
		WHERE chain = ? AND seq > ? ORDER BY seq, final`, func(sc interface{ Scan(...any) error }) (audit.Checkpoint, error) {
		var c audit.Checkpoint
		var at int64
		err := sc.Scan(&c.Chain, &c.Seq, &at, &c.KeyID, &c.Signature, &c.Hash, &c.Final)
		c.At = fromMillis(at)
		return c, err
	}, chain, after)
}

// AuditHead implements audit.Repository, from the end of the primary key.
func (s *Store) AuditHead(ctx context.Context, chain string) (int64, error) {
	var head int64
	err := s.auditRead.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM audit_records WHERE chain = ?", chain).Scan(&head)
	if err != nil {
		return 0, fmt.Errorf("audit chain head: %w", err)
	}
	return head, nil
}

// AccessStats implements audit.Repository.
func (s *Store) AccessStats(ctx context.Context, from, to time.Time) (map[string]audit.AccessStat, error) {
	rows, err := s.auditRead.QueryContext(ctx, `SELECT org, decision, count, count(*) FROM audit_records
		WHERE kind = 'access' AND at >= ? AND at < ? GROUP BY org, decision, count`, millis(from), millis(to))
	if err != nil {
		return nil, fmt.Errorf("access statistics: %w", err)
	}
	defer rows.Close()
	out := map[string]audit.AccessStat{}
	for rows.Next() {
		var org, decision string
		var count, n int
		if err := rows.Scan(&org, &decision, &count, &n); err != nil {
			return nil, err
		}
		st := out[org]
		st.Add(decision, n, count)
		out[org] = st
	}
	return out, rows.Err()
}
