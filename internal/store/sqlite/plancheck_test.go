package sqlite

// The plan check of the SQLite store: every statement the store runs
// while the package's tests (the conformance suite among them) run is
// recorded through WithTrace; once they have passed, TestMain has SQLite
// explain each one (EXPLAIN QUERY PLAN, on a fresh database of the same
// schema) and fails the package if a plan reads every row of a growing
// table or sorts every matching row for an ORDER BY.

import (
	"context"
	"database/sql/driver"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"certd/internal/audit"
	"certd/internal/certificate"
)

// uncheckedTables cannot grow, so their statements need no index; each
// says why.
var uncheckedTables = map[string]string{
	"units":             "the catalogue: the city's units, edited by hand",
	"certificate_types": "the catalogue: the certificate types, edited by hand",
	"matters":           "the catalogue: the matters, edited by hand",
	"policy_versions":   "one row per published policy version, a few a month; the policies query lists them whole",
	"policy_active":     "one row: the active-policy pointer",
	"schema_migrations": "one row per migration",
}

// recordedStmt is one statement the store ran, once per text and caller.
type recordedStmt struct {
	file, query, caller string
	args                []any
}

type stmtRecorder struct {
	mu    sync.Mutex
	seen  map[string]bool
	stmts []recordedStmt
}

var sqlRecorder = &stmtRecorder{seen: map[string]bool{}}

// repeated collapses the repetitions of multi-row VALUES and IN lists, so
// that one shape is explained once.
var repeated = regexp.MustCompile(`(\?, )+\?|(\([?, ]+\), )+\([?, ]+\)`)

func (r *stmtRecorder) trace(file, query string, args []driver.NamedValue) {
	q := strings.Join(strings.Fields(query), " ")
	switch strings.ToUpper(strings.SplitN(q, " ", 2)[0]) {
	case "SELECT", "WITH", "UPDATE", "DELETE", "INSERT":
	default:
		return // PRAGMA, DDL of migrations
	}
	caller := stmtCaller()
	if caller == "" {
		return
	}
	key := file + "|" + repeated.ReplaceAllString(q, "…") + "|" + caller
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	r.stmts = append(r.stmts, recordedStmt{file: file, query: q, caller: caller, args: vals})
}

// stmtCaller names the store method that ran a statement: the outermost
// frame of the package before the stack leaves it.
func stmtCaller() string {
	const prefix = "certd/internal/store/sqlite."
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	outer := ""
	for {
		f, more := frames.Next()
		inPkg := strings.HasPrefix(f.Function, prefix) && !strings.Contains(f.Function, "tracing") && !strings.Contains(f.Function, "(*pool).")
		test := strings.HasSuffix(f.File, "_test.go")
		switch {
		case inPkg && !test:
			outer = strings.TrimPrefix(f.Function, prefix)
		case outer == "" && inPkg && test:
			// A test's own statement (one that tampers with the tables
			// behind the store's back), not the store's.
			return ""
		case outer != "" && !strings.HasPrefix(f.Function, "database/sql") && !strings.HasPrefix(f.Function, "modernc.org/"):
			return outer
		}
		if !more {
			return outer
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = checkSQLPlans()
	}
	os.Exit(code)
}

// checkSQLPlans explains every recorded statement and reports the bad
// plans.
func checkSQLPlans() int {
	sqlRecorder.mu.Lock()
	stmts := slices.Clone(sqlRecorder.stmts)
	sqlRecorder.mu.Unlock()
	if len(stmts) == 0 {
		return 0
	}
	dir, err := os.MkdirTemp("", "certd-plan-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "plan check:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := Open(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plan check:", err)
		return 1
	}
	defer s.Close()
	problems, err := explainAll(s, stmts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plan check:", err)
		return 1
	}
	if len(problems) == 0 {
		if testing.Verbose() {
			fmt.Printf("plan check: %d statements, none scans a growing table or sorts it whole\n", len(stmts))
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "--- FAIL: plan check: %d of %d statements the store ran have bad query plans\n", len(problems), len(stmts))
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "  "+p)
	}
	return 1
}

// explainAll explains each statement on s's database of its file and
// returns one message per bad plan.
func explainAll(s *Store, stmts []recordedStmt) ([]string, error) {
	sort.SliceStable(stmts, func(i, j int) bool { return stmts[i].query < stmts[j].query })
	tables := map[string]bool{}
	for _, db := range []*pool{s.read, s.auditRead} {
		names, err := list(context.Background(), db, "SELECT name FROM sqlite_master WHERE type = 'table'", func(sc interface{ Scan(...any) error }) (string, error) {
			var n string
			return n, sc.Scan(&n)
		})
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			tables[n] = true
		}
	}
	var problems []string
	for _, st := range stmts {
		plan, err := explain(s, st)
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", st.query, err)
		}
		if why := judgePlan(st.query, plan, tables); why != "" {
			problems = append(problems, fmt.Sprintf("%s: %s (run by %s):\n    plan: %s\n    %s",
				st.file, st.query, st.caller, strings.Join(plan, "; "), why))
		}
	}
	return problems, nil
}

func explain(s *Store, st recordedStmt) ([]string, error) {
	db := s.read
	if st.file == AuditFileName {
		db = s.auditRead
	}
	rows, err := db.DB.Query("EXPLAIN QUERY PLAN "+st.query, st.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

var (
	scanRe  = regexp.MustCompile(`^SCAN (\w+)( USING (COVERING )?INDEX (\w+))?`)
	aliasRe = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+AS)?(?:\s+(\w+))?`)
)

// judgePlan returns why a plan is bad, or "".
func judgePlan(query string, plan []string, schema map[string]bool) string {
	tables := map[string]string{} // name or alias → table of the schema
	for _, m := range aliasRe.FindAllStringSubmatch(query, -1) {
		if !schema[m[1]] {
			continue // a common table expression
		}
		tables[m[1]] = m[1]
		if m[2] != "" && !isKeyword(m[2]) {
			tables[m[2]] = m[1]
		}
	}
	var why []string
	for _, step := range plan {
		if strings.Contains(step, "USE TEMP B-TREE FOR ORDER BY") {
			why = append(why, "sorts every matching row for the ORDER BY (USE TEMP B-TREE FOR ORDER BY)\n    fix: an index whose columns are the WHERE clause's equality columns, then the ORDER BY's, so the rows come in order")
		}
		m := scanRe.FindStringSubmatch(step)
		if m == nil {
			continue
		}
		table, ok := tables[m[1]]
		if !ok {
			continue // a common table expression or subquery
		}
		if _, exempt := uncheckedTables[table]; exempt {
			continue
		}
		if m[4] != "" && strings.Contains(strings.ToUpper(query), "LIMIT") && strings.Contains(strings.ToUpper(query), "ORDER BY") && !hasWhere(query) {
			continue // the newest rows in index order, up to a limit
		}
		what := "reads every row of " + table
		if m[4] != "" {
			what = "reads every entry of index " + m[4] + " of " + table
		}
		why = append(why, what+" ("+step+")\n    fix: a new migration (internal/store/sqlite/migrations) with an index led by the WHERE clause's equality columns, then the ORDER BY's, then a range column")
	}
	return strings.Join(why, "\n    ")
}

func isKeyword(w string) bool {
	switch strings.ToUpper(w) {
	case "WHERE", "SET", "VALUES", "ON", "ORDER", "GROUP", "LIMIT", "UNION", "SELECT", "JOIN", "LEFT", "INNER", "AS", "DEFAULT":
		return true
	}
	return false
}

// hasWhere reports whether the query filters rows beyond "1 = 1".
func hasWhere(query string) bool {
	u := strings.ToUpper(query)
	i := strings.Index(u, " WHERE ")
	if i < 0 {
		return false
	}
	rest := u[i+7:]
	if j := strings.Index(rest, " ORDER BY "); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest) != "1 = 1"
}

// TestPlanCheckNamesDroppedIndex drops one index at a time from a fresh
// database and expects the plan check to name the statement it leaves
// reading every row, or sorting them: the check can fail, and says what to
// fix.
func TestPlanCheckNamesDroppedIndex(t *testing.T) {
	ctx := context.Background()
	rec := &stmtRecorder{seen: map[string]bool{}}
	s, err := Open(ctx, t.TempDir(), WithTrace(rec.trace))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec.mu.Lock()
	rec.seen, rec.stmts = map[string]bool{}, nil // the migrations' statements
	rec.mu.Unlock()
	if _, err := s.List(ctx, certificate.Filter{HolderCode: "321083197812162119"}, nil, 20); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, certificate.Filter{IssuerCode: "11110000000021135M"}, nil, 20); err != nil {
		t.Fatal(err)
	}
	if _, err := s.QueryAudit(ctx, audit.Query{ScopeIssuer: "11110000000021135M", Limit: 20}); err != nil {
		t.Fatal(err)
	}
	if len(rec.stmts) != 3 {
		t.Fatalf("recorded %d statements, want 3", len(rec.stmts))
	}
	if problems, err := explainAll(s, rec.stmts); err != nil || len(problems) > 0 {
		t.Fatalf("with every index: %v, %v", problems, err)
	}
	for _, tc := range []struct {
		file, index string
		want        []string
	}{
		{FileName, "certificates_holder_listing", []string{"FROM certificates WHERE holder_code = ?", "(*Store).List", "USE TEMP B-TREE FOR ORDER BY", "fix:"}},
		{FileName, "certificates_issuer_listing", []string{"FROM certificates WHERE issuer_code = ?", "(*Store).List", "USE TEMP B-TREE FOR ORDER BY"}},
		{AuditFileName, "audit_records_issuer", []string{"FROM audit_records WHERE 1 = 1 AND issuer_code = ?", "(*Store).QueryAudit", "fix:"}},
	} {
		t.Run(tc.index, func(t *testing.T) {
			fresh, err := Open(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			db := fresh.write
			if tc.file == AuditFileName {
				db = fresh.auditWrite
			}
			if _, err := db.ExecContext(ctx, "DROP INDEX "+tc.index); err != nil {
				t.Fatal(err)
			}
			problems, err := explainAll(fresh, slices.Clone(rec.stmts))
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != 1 {
				t.Fatalf("without %s: %d problems, want 1: %v", tc.index, len(problems), problems)
			}
			for _, w := range tc.want {
				if !strings.Contains(problems[0], w) {
					t.Errorf("without %s the problem does not say %q:\n%s", tc.index, w, problems[0])
				}
			}
		})
	}
}
