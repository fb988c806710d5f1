package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"certd/internal/apperr"
	"certd/internal/bulk"
)

var _ bulk.Repository = (*Store)(nil)

const bulkCols = `id, state, purpose, group_by, filter, requested_by, requester_org, decided_by, comment,
	valid_until, runs_left, max_runs, valid_days, created_at, decided_at, rev`

// bulkFilter is the stored shape of a bulk.Filter.
type bulkFilter struct {
	Types      []string `json:"types,omitempty"`
	Issuers    []string `json:"issuers,omitempty"`
	States     []string `json:"states,omitempty"`
	IssuedFrom string   `json:"issuedFrom,omitempty"`
	IssuedTo   string   `json:"issuedTo,omitempty"`
}

func encodeBulkFilter(f bulk.Filter) (string, error) {
	d := bulkFilter{Types: f.Types, Issuers: f.Issuers, States: f.States}
	if f.IssuedFrom != nil {
		d.IssuedFrom = f.IssuedFrom.UTC().Format(time.DateOnly)
	}
	if f.IssuedTo != nil {
		d.IssuedTo = f.IssuedTo.UTC().Format(time.DateOnly)
	}
	b, err := json.Marshal(d)
	return string(b), err
}

func decodeBulkFilter(s string) (bulk.Filter, error) {
	var d bulkFilter
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return bulk.Filter{}, err
	}
	f := bulk.Filter{Types: d.Types, Issuers: d.Issuers, States: d.States}
	for _, p := range []struct {
		s   string
		dst **time.Time
	}{{d.IssuedFrom, &f.IssuedFrom}, {d.IssuedTo, &f.IssuedTo}} {
		if p.s == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, p.s)
		if err != nil {
			return f, err
		}
		*p.dst = &t
	}
	return f, nil
}

func nullMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return millis(*t)
}

func scanBulk(sc interface{ Scan(...any) error }) (bulk.Request, error) {
	var r bulk.Request
	var state, groupBy, filter string
	var until, decided sql.NullInt64
	var created int64
	err := sc.Scan(&r.ID, &state, &r.Purpose, &groupBy, &filter, &r.RequestedBy, &r.RequesterOrg, &r.DecidedBy, &r.Comment,
		&until, &r.RunsLeft, &r.MaxRuns, &r.ValidDays, &created, &decided, &r.Rev)
	if err != nil {
		return r, err
	}
	r.State, r.CreatedAt = bulk.State(state), fromMillis(created)
	if until.Valid {
		t := fromMillis(until.Int64)
		r.ValidUntil = &t
	}
	if decided.Valid {
		t := fromMillis(decided.Int64)
		r.DecidedAt = &t
	}
	if err := json.Unmarshal([]byte(groupBy), &r.GroupBy); err != nil {
		return r, fmt.Errorf("bulk request %s: group_by: %w", r.ID, err)
	}
	if r.Filter, err = decodeBulkFilter(filter); err != nil {
		return r, fmt.Errorf("bulk request %s: filter: %w", r.ID, err)
	}
	return r, nil
}

// CreateBulkRequest implements bulk.Repository.
func (s *Store) CreateBulkRequest(ctx context.Context, r bulk.Request) error {
	groupBy, err := json.Marshal(r.GroupBy)
	if err != nil {
		return err
	}
	filter, err := encodeBulkFilter(r.Filter)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO bulk_requests (`+bulkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		r.ID, string(r.State), r.Purpose, string(groupBy), filter, r.RequestedBy, r.RequesterOrg, r.DecidedBy, r.Comment,
		nullMillis(r.ValidUntil), r.RunsLeft, r.MaxRuns, r.ValidDays, millis(r.CreatedAt), nullMillis(r.DecidedAt))
	if isUniqueViolation(err) {
		return apperr.Conflictf("bulk analysis %s exists already", r.ID)
	}
	if err != nil {
		return fmt.Errorf("insert bulk request: %w", err)
	}
	return nil
}

// GetBulkRequest implements bulk.Repository.
func (s *Store) GetBulkRequest(ctx context.Context, id string) (bulk.Request, error) {
	r, err := scanBulk(s.read.QueryRowContext(ctx, "SELECT "+bulkCols+" FROM bulk_requests WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, apperr.NotFoundf("bulk analysis %s not found", id)
	}
	if err != nil {
		return r, fmt.Errorf("get bulk request: %w", err)
	}
	return r, nil
}

// ListBulkRequests implements bulk.Repository.
func (s *Store) ListBulkRequests(ctx context.Context, state bulk.State) ([]bulk.Request, error) {
	q, args := "SELECT "+bulkCols+" FROM bulk_requests", []any{}
	if state != "" {
		q, args = q+" WHERE state = ?", append(args, string(state))
	}
	rows, err := s.read.QueryContext(ctx, q+" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, bulk.MaxList)...)
	if err != nil {
		return nil, fmt.Errorf("list bulk requests: %w", err)
	}
	defer rows.Close()
	out := []bulk.Request{}
	for rows.Next() {
		r, err := scanBulk(rows)
		if err != nil {
			return nil, fmt.Errorf("list bulk requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateBulkRequest implements bulk.Repository.
func (s *Store) UpdateBulkRequest(ctx context.Context, r bulk.Request, prevRev int) error {
	res, err := s.write.ExecContext(ctx, `UPDATE bulk_requests SET state = ?, decided_by = ?, comment = ?, valid_until = ?,
		runs_left = ?, decided_at = ?, rev = ? WHERE id = ? AND rev = ?`,
		string(r.State), r.DecidedBy, r.Comment, nullMillis(r.ValidUntil), r.RunsLeft, nullMillis(r.DecidedAt), prevRev+1, r.ID, prevRev)
	if err != nil {
		return fmt.Errorf("update bulk request: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.GetBulkRequest(ctx, r.ID); err != nil {
		return err
	}
	return apperr.Conflictf("bulk analysis %s was changed meanwhile", r.ID)
}

// bulkExpr is the SQL expression of a dimension. ISSUE_MONTH is the
// month in city time (UTC+8, no DST).
func bulkExpr(d bulk.Dimension) (string, error) {
	switch d {
	case bulk.Type:
		return "type_code", nil
	case bulk.Issuer:
		return "issuer_code", nil
	case bulk.StateDim:
		return "state", nil
	case bulk.HolderKind:
		return "holder_kind", nil
	case bulk.IssueMonth:
		// The city-time day number: integer arithmetic per row, where
		// strftime per row costs four times the whole scan. Days become
		// months in Go, once per group.
		return fmt.Sprintf("(issued_at + %d) / %d", bulk.CityOffset.Milliseconds(), (24 * time.Hour).Milliseconds()), nil
	}
	return "", apperr.Invalid("unknown dimension %q", d)
}

func inList(col string, xs []string, where []string, args []any) ([]string, []any) {
	if len(xs) == 0 {
		return where, args
	}
	where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(xs)), ", ")+")")
	for _, x := range xs {
		args = append(args, x)
	}
	return where, args
}

// Aggregate implements bulk.Repository: one GROUP BY over current
// versions, served by the covering index certificates_bulk.
func (s *Store) Aggregate(ctx context.Context, groupBy []bulk.Dimension, f bulk.Filter) ([]bulk.Row, error) {
	if len(groupBy) == 0 {
		return nil, apperr.Invalid("group by at least one dimension")
	}
	cols := make([]string, len(groupBy))
	for i, d := range groupBy {
		e, err := bulkExpr(d)
		if err != nil {
			return nil, err
		}
		cols[i] = e
	}
	where, args := []string{"current = 1"}, []any{}
	where, args = inList("type_code", f.Types, where, args)
	where, args = inList("issuer_code", f.Issuers, where, args)
	where, args = inList("state", f.States, where, args)
	from, to := f.Bounds()
	if from != nil {
		where, args = append(where, "issued_at >= ?"), append(args, millis(*from))
	}
	if to != nil {
		where, args = append(where, "issued_at < ?"), append(args, millis(*to))
	}
	groups := make([]string, len(cols))
	for i := range cols {
		groups[i] = fmt.Sprint(i + 1)
	}
	q := "SELECT " + strings.Join(cols, ", ") + ", count(*) FROM certificates WHERE " + strings.Join(where, " AND ") +
		" GROUP BY " + strings.Join(groups, ", ")
	// Unprepared: query texts vary with the request and runs are rare, so
	// they stay out of the statement cache.
	rows, err := s.read.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate licences: %w", err)
	}
	defer rows.Close()
	// Day groups of one month are merged: rows keyed by their values.
	out := []bulk.Row{}
	index := map[string]int{}
	vals := make([]sql.NullString, len(groupBy))
	dest := make([]any, len(groupBy)+1)
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		var n int
		dest[len(groupBy)] = &n
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("aggregate licences: %w", err)
		}
		for i, d := range groupBy {
			if d == bulk.IssueMonth {
				days, err := strconv.ParseInt(vals[i].String, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("aggregate licences: issue day %q: %w", vals[i].String, err)
				}
				vals[i].String = time.UnixMilli(days * (24 * time.Hour).Milliseconds()).UTC().Format("2006-01")
			}
		}
		id := ""
		for i := range vals {
			id += vals[i].String + "\x00"
		}
		if j, ok := index[id]; ok {
			out[j].Count += n
			continue
		}
		key := make(map[string]any, len(groupBy))
		for i, d := range groupBy {
			key[string(d)] = vals[i].String
		}
		index[id] = len(out)
		out = append(out, bulk.Row{Key: key, Count: n})
	}
	return out, rows.Err()
}
