package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"certd/internal/codes"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// madeUpIDs makes n resident ID numbers with valid check characters that
// belong to nobody in the demo.
func madeUpIDs(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		body := fmt.Sprintf("3501021990%02d%02d%03d", 1+i%12, 1+i%28, 100+i)
		c, ok := codes.ResidentIDCheck(body)
		if !ok {
			t.Fatalf("check character of %s", body)
		}
		out[i] = body + string(c)
	}
	return out
}

type reviewed struct {
	ID, CaseNo, OpenedBy, Cursor string
	OpenedAt                     time.Time
	ClosedAt                     *time.Time
	WalkInReason                 *string
	ReviewReason                 *string
	RefusedAttempts              *int
	Holder                       struct{ Code string }
	Unit                         struct{ Code string }
}

const reviewQ = `query($first: Int, $after: String) { casesForReview(first: $first, after: $after) {
	id caseNo openedBy openedAt closedAt cursor walkInReason reviewReason refusedAttempts holder { code } unit { code } } }`

// runWalkInQuota checks the harvest of the issue from the outside: one
// request of 60 aliased walk-in openings for made-up identity numbers
// opens the daily quota's worth, refuses the rest (RATE_LIMITED), and
// supervisors see the walk-ins and the alert; the quota is per person and
// per day, and only cases opened count against it.
func runWalkInQuota(t *testing.T, s *testkit.Server, clock *testClock) {
	harvester := s.Token("harvester", demo.ServiceCentre, identity.RoleStaff)
	colleague := s.Token("colleague", demo.ServiceCentre, identity.RoleStaff)
	supervisor := s.Token("inspector", "", identity.RoleSupervisor)
	const quota = 10                  // data.certd.cases.walk_in_daily_quota of the embedded policy
	physician := "350103199007200036" // 示例个人丙 holds a 医师执业证书
	ids := madeUpIDs(t, 60)
	ids[30] = physician
	var q strings.Builder
	q.WriteString("mutation {")
	for i, id := range ids {
		fmt.Fprintf(&q, ` c%d: openCase(input: {caseNo: "H-%d", holderCode: "%s", matterCode: "350100-WJ-0001", walkInReason: "现场核验身份"}) { id certificates { type { name } } }`, i, i, id)
	}
	q.WriteString(" }")
	r := s.Do(harvester, q.String(), nil)
	limited := 0
	for _, e := range r.Errors {
		if e.Code() != "RATE_LIMITED" || e.Extensions["retryAfter"] == nil || !strings.Contains(e.Message, "quota") {
			t.Fatalf("a refusal past the quota: %+v", e)
		}
		limited++
	}
	if limited != len(ids)-quota || strings.Contains(string(r.Data), "医师执业证书") {
		t.Fatalf("%d of %d openings refused, want %d; data %s", limited, len(ids), len(ids)-quota, r.Data)
	}

	// Supervisors see the walk-ins and one alert for the burst.
	all := func() []reviewed {
		t.Helper()
		var out struct{ CasesForReview []reviewed }
		s.Do(supervisor, reviewQ, map[string]any{"first": 100}).Decode(t, &out)
		return out.CasesForReview
	}
	var walkIns, alerts []reviewed
	for _, c := range all() {
		if c.OpenedBy != "harvester" {
			continue
		}
		switch *c.ReviewReason {
		case "WALK_IN":
			walkIns = append(walkIns, c)
		case "QUOTA_EXCEEDED":
			alerts = append(alerts, c)
		}
	}
	if len(walkIns) != quota || len(alerts) != 1 {
		t.Fatalf("the harvester's walk-ins %d and alerts %d: %+v %+v", len(walkIns), len(alerts), walkIns, alerts)
	}
	for _, c := range walkIns {
		if c.WalkInReason == nil || *c.WalkInReason != "现场核验身份" || c.Unit.Code != demo.ServiceCentre || c.ClosedAt != nil || c.Holder.Code == physician {
			t.Fatalf("a walk-in to review: %+v", c)
		}
	}
	a := alerts[0]
	if a.RefusedAttempts == nil || *a.RefusedAttempts != len(ids)-quota || a.CaseNo != fmt.Sprint("H-", quota) || a.Holder.Code != ids[quota] ||
		a.ClosedAt == nil || !a.ClosedAt.Equal(a.OpenedAt) {
		t.Fatalf("the alert: %+v", a)
	}
	// The alert is no case: nothing can be read through it.
	if r := s.Do(harvester, `query($id: ID!) { case(id: $id) { id } }`, map[string]any{"id": a.ID}); r.Code() != "" || string(r.Data) != `{"case":null}` {
		t.Fatalf("reading the alert as a case: %s %+v", r.Data, r.Errors)
	}
	// The physician sees the refused try in their access log.
	var log struct {
		Me struct {
			AccessLog struct {
				Edges []struct {
					Node struct{ Action, Decision, Subject string }
				}
			}
		}
	}
	s.Do(holderToken(s, physician), `{ me { accessLog(first: 20) { edges { node { action decision subject } } } } }`, nil).Decode(t, &log)
	tried := false
	for _, e := range log.Me.AccessLog.Edges {
		tried = tried || (e.Node.Action == "case.open" && e.Node.Decision == "DENY" && e.Node.Subject == "harvester")
	}
	if !tried {
		t.Fatalf("the physician's access log: %+v", log.Me.AccessLog.Edges)
	}

	// Only supervisors review.
	for _, tok := range []string{harvester, holderToken(s, physician), s.Token("office", demo.DigitalOffice, identity.RoleDigitalOffice)} {
		if r := s.Do(tok, reviewQ, nil); r.Code() != "FORBIDDEN" {
			t.Fatalf("casesForReview for a non-supervisor: %+v", r.Errors)
		}
	}
	// Pages: three at a time, by the cursor, newest first.
	var pages []reviewed
	var after any
	for range 100 {
		var out struct{ CasesForReview []reviewed }
		s.Do(supervisor, reviewQ, map[string]any{"first": 3, "after": after}).Decode(t, &out)
		pages = append(pages, out.CasesForReview...)
		if len(out.CasesForReview) < 3 {
			break
		}
		after = out.CasesForReview[2].Cursor
	}
	whole := all()
	if got, want := reviewedIDs(pages), reviewedIDs(whole); got != want {
		t.Fatalf("paged %s, whole %s", got, want)
	}
	if r := s.Do(supervisor, reviewQ, map[string]any{"after": "bm9wZQ"}); r.Code() != "INVALID_INPUT" {
		t.Fatalf("a cursor not handed out: %+v", r.Errors)
	}

	// The quota is per person: a colleague still opens walk-ins. A walk-in
	// that is not opened (its number taken) leaves the quota as it was.
	open := func(tok, no string) string {
		t.Helper()
		return s.Do(tok, openCaseQ, map[string]any{"in": walkIn(no, ids[0], "350100-SP-0001")}).Code()
	}
	if code := open(colleague, "D-1"); code != "" {
		t.Fatalf("a colleague's walk-in: %s", code)
	}
	for range 3 {
		if code := open(colleague, "D-1"); code != "CONFLICT" {
			t.Fatalf("a case number taken: %s", code)
		}
	}
	for i := 2; i <= quota; i++ {
		if code := open(colleague, fmt.Sprint("D-", i)); code != "" {
			t.Fatalf("the colleague's walk-in %d: %s", i, code)
		}
	}
	if code := open(colleague, "D-11"); code != "RATE_LIMITED" {
		t.Fatalf("the colleague past the quota: %s", code)
	}
	// A new day in the city, a new quota.
	clock.Add(24 * time.Hour)
	if code := open(harvester, "H-next-day"); code != "" {
		t.Fatalf("the next day's walk-in: %s", code)
	}
}

// reviewedIDs lists the ids of reviewed entries, for comparing listings.
func reviewedIDs(rs []reviewed) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	b, _ := json.Marshal(out)
	return string(b)
}
