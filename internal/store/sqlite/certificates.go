package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"certd/internal/apperr"
	"certd/internal/certificate"
)

var _ certificate.Repository = (*Store)(nil)

// summaryCols are the columns of a summary (certificate.Certificate.
// Summary): those stored before the seal and the sealed document in each
// row, so reading them never follows a row into its overflow pages.
const summaryCols = `id, lineage, type_code, issuer_code, serial, version, type_version, holder_code, holder_name, holder_kind,
	state, current, successor, data, valid_from, valid_until, issued_at`

const certCols = summaryCols + `, seal, document, history, inspections, timeliness, idempotency_key, issued_by, rev`

// NextSerials implements certificate.Repository.
func (s *Store) NextSerials(ctx context.Context, issuer string, year int, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("reserve %d serials: need at least one", n)
	}
	var next int64
	err := s.write.QueryRowContext(ctx, `INSERT INTO serials (issuer_code, year, next) VALUES (?, ?, ? + 1)
		ON CONFLICT (issuer_code, year) DO UPDATE SET next = next + ? RETURNING next`, issuer, year, n, n).Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("reserve serials: %w", err)
	}
	return next - int64(n), nil
}

// certRow is a certificate with its JSON columns encoded.
type certRow struct {
	c                                                   *certificate.Certificate
	data, seal, history, inspections, timeliness, until any
	key                                                 any
}

func encodeCert(c *certificate.Certificate) (certRow, error) {
	if c.Summary {
		return certRow{}, certificate.ErrSummary
	}
	r := certRow{c: c}
	var err error
	enc := func(v any) string {
		if err != nil {
			return ""
		}
		var b []byte
		b, err = json.Marshal(v)
		return string(b)
	}
	r.data, r.seal, r.timeliness = enc(nonNilMap(c.Data)), enc(c.Seal), enc(c.Timeliness)
	r.history, r.inspections = enc(nonNilSlice(c.History)), enc(nonNilSlice(c.Inspections))
	if c.ValidUntil != nil {
		r.until = c.ValidUntil.Format(time.DateOnly)
	}
	if c.IdempotencyKey != "" {
		r.key = c.IdempotencyKey
	}
	return r, err
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (r certRow) args() []any {
	c := r.c
	return []any{c.ID, c.Lineage, c.TypeCode, c.IssuerCode, c.Serial, c.Version, c.TypeVersion,
		c.Holder.Code, c.Holder.Name, string(c.Holder.Kind), string(c.State), c.Current, c.Successor,
		r.data, c.ValidFrom.Format(time.DateOnly), r.until, millis(c.IssuedAt), r.seal, c.Document,
		r.history, r.inspections, r.timeliness, r.key, c.IssuedBy, c.Rev}
}

// insertChunk is how many licences one INSERT statement carries.
const insertChunk = 64

// Insert implements certificate.Repository: the whole batch is one
// transaction, so it is stored entirely or not at all. Rows go in
// multi-row statements; a row whose idempotency key is taken is skipped,
// and found afterwards by its id being absent.
func (s *Store) Insert(ctx context.Context, cs []certificate.Certificate) ([]certificate.InsertResult, error) {
	res := make([]certificate.InsertResult, len(cs))
	var dups []int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		dups = dups[:0]
		for start := 0; start < len(cs); start += insertChunk {
			end := min(start+insertChunk, len(cs))
			args := make([]any, 0, (end-start)*25)
			for i := start; i < end; i++ {
				row, err := encodeCert(&cs[i])
				if err != nil {
					return err
				}
				args = append(args, row.args()...)
			}
			r, err := tx.ExecContext(ctx, insertSQL(end-start), args...)
			if isUniqueViolation(err) {
				return apperr.Conflictf("a licence of this batch exists already")
			}
			if err != nil {
				return fmt.Errorf("insert licences: %w", err)
			}
			if n, _ := r.RowsAffected(); int(n) == end-start {
				continue
			}
			skipped, err := absentIDs(ctx, tx, cs[start:end])
			if err != nil {
				return err
			}
			for _, j := range skipped {
				dups = append(dups, start+j)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, i := range dups {
		existing, err := s.ByIdempotencyKey(ctx, cs[i].IssuerCode, cs[i].IdempotencyKey)
		if err != nil {
			return nil, err
		}
		res[i].Existing = &existing
	}
	return res, nil
}

var insertSQLs sync.Map // rows → statement

// insertSQL is a multi-row INSERT of n licences.
func insertSQL(n int) string {
	if q, ok := insertSQLs.Load(n); ok {
		return q.(string)
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", 25), ", ") + ")"
	q := `INSERT INTO certificates (` + certCols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") +
		` ON CONFLICT (issuer_code, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`
	insertSQLs.Store(n, q)
	return q
}

// absentIDs returns the positions of cs whose id is not stored.
func absentIDs(ctx context.Context, tx *sql.Tx, cs []certificate.Certificate) ([]int, error) {
	args := make([]any, len(cs))
	for i := range cs {
		args[i] = cs[i].ID
	}
	rows, err := tx.QueryContext(ctx, "SELECT id FROM certificates WHERE id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(cs)), ", ")+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	present := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		present[id] = true
	}
	var out []int
	for i := range cs {
		if !present[cs[i].ID] {
			out = append(out, i)
		}
	}
	return out, rows.Err()
}

type scanner = interface{ Scan(...any) error }

func scanCert(sc scanner) (certificate.Certificate, error) { return scanRow(sc, false) }

func scanSummary(sc scanner) (certificate.Certificate, error) { return scanRow(sc, true) }

// scanRow reads a row of certCols, or of summaryCols for a summary.
func scanRow(sc scanner, summary bool) (certificate.Certificate, error) {
	var c certificate.Certificate
	var kind, state, data, from, seal, history, inspections, timeliness string
	var until, key sql.NullString
	var issuedAt int64
	dest := make([]any, 0, 25)
	dest = append(dest, &c.ID, &c.Lineage, &c.TypeCode, &c.IssuerCode, &c.Serial, &c.Version, &c.TypeVersion,
		&c.Holder.Code, &c.Holder.Name, &kind, &state, &c.Current, &c.Successor, &data, &from, &until, &issuedAt)
	if !summary {
		dest = append(dest, &seal, &c.Document, &history, &inspections, &timeliness, &key, &c.IssuedBy, &c.Rev)
	}
	if err := sc.Scan(dest...); err != nil {
		return c, err
	}
	c.Holder.Kind, c.State, c.IdempotencyKey, c.Summary = certificate.HolderKind(kind), certificate.State(state), key.String, summary
	c.IssuedAt = fromMillis(issuedAt)
	var err error
	if c.ValidFrom, err = time.Parse(time.DateOnly, from); err != nil {
		return c, err
	}
	if until.Valid {
		u, err := time.Parse(time.DateOnly, until.String)
		if err != nil {
			return c, err
		}
		c.ValidUntil = &u
	}
	if err := json.Unmarshal([]byte(data), &c.Data); err != nil {
		return c, fmt.Errorf("decode licence %s: %w", c.ID, err)
	}
	if summary {
		return c, nil
	}
	for _, f := range [...]struct {
		src string
		dst any
	}{{seal, &c.Seal}, {history, &c.History}, {inspections, &c.Inspections}, {timeliness, &c.Timeliness}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return c, fmt.Errorf("decode licence %s: %w", c.ID, err)
		}
	}
	return c, nil
}

func (s *Store) getCert(ctx context.Context, what, where string, args ...any) (certificate.Certificate, error) {
	c, err := scanCert(s.read.QueryRowContext(ctx, "SELECT "+certCols+" FROM certificates WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return c, apperr.NotFoundf("licence %s not found", what)
	}
	if err != nil {
		return c, fmt.Errorf("get licence: %w", err)
	}
	return c, nil
}

// Get implements certificate.Repository.
func (s *Store) Get(ctx context.Context, id string) (certificate.Certificate, error) {
	return s.getCert(ctx, id, "id = ?", id)
}

// ByIdempotencyKey implements certificate.Repository.
func (s *Store) ByIdempotencyKey(ctx context.Context, issuer, key string) (certificate.Certificate, error) {
	return s.getCert(ctx, "with idempotency key "+key, "issuer_code = ? AND idempotency_key = ?", issuer, key)
}

// StoredKeys implements certificate.Repository.
func (s *Store) StoredKeys(ctx context.Context, issuer string, keys []string) (map[string]string, error) {
	found := map[string]string{}
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, issuer)
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := s.read.QueryContext(ctx, `SELECT idempotency_key, id FROM certificates WHERE issuer_code = ? AND idempotency_key IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("look up idempotency keys: %w", err)
		}
		for rows.Next() {
			var k, id string
			if err := rows.Scan(&k, &id); err != nil {
				rows.Close()
				return nil, err
			}
			found[k] = id
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// Versions implements certificate.Repository.
func (s *Store) Versions(ctx context.Context, lineage string) ([]certificate.Certificate, error) {
	return list(ctx, s.read, "SELECT "+certCols+" FROM certificates WHERE lineage = ? ORDER BY version", scanCert, lineage)
}

// List implements certificate.Repository.
func (s *Store) List(ctx context.Context, f certificate.Filter, after *certificate.Cursor, limit int) ([]certificate.Certificate, error) {
	cond := f.Cond()
	if limit == 0 || cond.IsFalse() {
		return []certificate.Certificate{}, nil
	}
	w, args, err := condSQL(cond)
	if err != nil {
		return nil, fmt.Errorf("list licences: %w", err)
	}
	if after != nil {
		w += " AND (issued_at < ? OR (issued_at = ? AND id < ?))"
		args = append(args, millis(after.IssuedAt), millis(after.IssuedAt), after.ID)
	}
	args = append(args, limit)
	cols, scan := certCols, scanCert
	if f.Summary {
		cols, scan = summaryCols, scanSummary
	}
	return list(ctx, s.read, "SELECT "+cols+" FROM certificates WHERE "+w+" ORDER BY issued_at DESC, id DESC LIMIT ?", scan, args...)
}

// Count implements certificate.Repository.
func (s *Store) Count(ctx context.Context, f certificate.Filter) (int, error) {
	cond := f.Cond()
	if cond.IsFalse() {
		return 0, nil
	}
	w, args, err := condSQL(cond)
	if err != nil {
		return 0, fmt.Errorf("count licences: %w", err)
	}
	var n int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM certificates WHERE "+w, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count licences: %w", err)
	}
	return n, nil
}

const updateCert = `UPDATE certificates SET state = ?, current = ?, successor = ?, history = ?, inspections = ?, rev = ?
	WHERE id = ? AND rev = ?`

func updateArgs(c *certificate.Certificate, prevRev int) ([]any, error) {
	if c.Summary {
		return nil, certificate.ErrSummary
	}
	row, err := encodeCert(c)
	if err != nil {
		return nil, err
	}
	return []any{string(c.State), c.Current, c.Successor, row.history, row.inspections, prevRev + 1, c.ID, prevRev}, nil
}

// Update implements certificate.Repository.
func (s *Store) Update(ctx context.Context, c certificate.Certificate, prevRev int) error {
	args, err := updateArgs(&c, prevRev)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, updateCert, args...)
	return s.certUpdated(ctx, res, err, c.ID)
}

func (s *Store) certUpdated(ctx context.Context, res sql.Result, err error, id string) error {
	if err != nil {
		return fmt.Errorf("update licence: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	return apperr.Conflictf("licence %s was changed by someone else; read it again", id)
}

// Supersede implements certificate.Repository in one transaction: SQLite
// has transactions, so the new version and the old one marked SUPERSEDED
// are stored together or not at all, and no intent is needed (the MongoDB
// store writes one because it has none; both pass one conformance suite,
// which checks what a supersession leaves, not how).
func (s *Store) Supersede(ctx context.Context, old certificate.Certificate, prevRev int, next certificate.Certificate) error {
	old.Current, old.Successor = false, next.ID
	if !old.State.Final() {
		old.State = certificate.Superseded
	}
	args, err := updateArgs(&old, prevRev)
	if err != nil {
		return err
	}
	row, err := encodeCert(&next)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, updateCert, args...)
		if err != nil {
			return fmt.Errorf("supersede licence: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.Conflictf("licence %s was changed by someone else; read it again", old.ID)
		}
		if _, err := tx.ExecContext(ctx, insertSQL(1), row.args()...); isUniqueViolation(err) {
			return apperr.Conflictf("version %d of this licence exists already", next.Version)
		} else if err != nil {
			return fmt.Errorf("insert version %d: %w", next.Version, err)
		}
		return nil
	})
}

// dueForExpirySQL reads the partial index certificates_due (migration
// 0012), which holds only the licences still due, in its order; its WHERE
// repeats the index's terms so that SQLite may use it, and INDEXED BY
// keeps the planner from preferring an equality on current (without
// statistics it would, and sort every current licence).
const dueForExpirySQL = "SELECT " + certCols + ` FROM certificates INDEXED BY certificates_due
	WHERE current = 1 AND valid_until IS NOT NULL
	AND state NOT IN ('REVOKED', 'CANCELLED', 'ABOLISHED', 'EXPIRED', 'SUPERSEDED')
	AND valid_until < ? ORDER BY valid_until, id LIMIT ?`

// DueForExpiry implements certificate.Repository.
func (s *Store) DueForExpiry(ctx context.Context, today time.Time, limit int) ([]certificate.Certificate, error) {
	return list(ctx, s.read, dueForExpirySQL, scanCert, today.Format(time.DateOnly), limit)
}

// Repair implements certificate.Repository: SQLite writes are
// transactional, so there is never anything to finish.
func (s *Store) Repair(context.Context) (int, error) { return 0, nil }

// IssueStats implements certificate.Repository.
func (s *Store) IssueStats(ctx context.Context, from, to time.Time) (map[string]certificate.IssueStat, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT issuer_code, count(*), coalesce(sum(json_extract(timeliness, '$.late')), 0)
		FROM certificates WHERE issued_at >= ? AND issued_at < ? GROUP BY issuer_code`, millis(from), millis(to))
	if err != nil {
		return nil, fmt.Errorf("issue statistics: %w", err)
	}
	defer rows.Close()
	out := map[string]certificate.IssueStat{}
	for rows.Next() {
		var code string
		var st certificate.IssueStat
		if err := rows.Scan(&code, &st.Issued, &st.Late); err != nil {
			return nil, err
		}
		out[code] = st
	}
	return out, rows.Err()
}
