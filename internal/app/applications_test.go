package app_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
)

// testClock is a settable clock for a server (app.Config.Now).
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// startClocked starts a demo server on the clock, on SQLite or (mongo)
// FerretDB.
func startClocked(t *testing.T, mongo bool) (*testkit.Server, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Now().UTC()}
	opts := []testkit.Option{testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.Now = clock.Now })}
	if mongo {
		if testing.Short() {
			t.Skip("FerretDB in -short mode")
		}
		opts = append(opts, testkit.WithMongo(ferrettest.Start(t)))
	}
	return testkit.Start(t, opts...), clock
}

type applicationOut struct {
	ID          string
	State       string
	Note        *string
	SubmittedAt time.Time
	ExpiresAt   time.Time
	Holder      struct{ Code, Name, Kind string }
	Matter      struct{ Code string }
	Unit        struct{ Code string }
}

const submitApplicationQ = `mutation($in: ApplicationInput!) { submitApplication(input: $in) { id state note submittedAt expiresAt holder { code name kind } matter { code } unit { code } } }`

// submit applies and returns the application.
func submit(t *testing.T, s *testkit.Server, tok string, in map[string]any) applicationOut {
	t.Helper()
	var out struct{ SubmitApplication applicationOut }
	s.Do(tok, submitApplicationQ, map[string]any{"in": in}).Decode(t, &out)
	return out.SubmitApplication
}

func holderToken(s *testkit.Server, code string) string {
	return s.TokenFor(identity.TokenRequest{Subject: "holder-" + code, Roles: []string{identity.RoleHolder}, Holder: code, AMR: []string{"pwd"}, TTL: time.Hour})
}

func TestApplicationsOnSQLite(t *testing.T) {
	s, clock := startClocked(t, false)
	t.Run("applications", func(t *testing.T) { runApplications(t, s, clock) })
	t.Run("opening cases", func(t *testing.T) { runCaseOpenings(t, s, clock) })
	t.Run("walk-in quota and review", func(t *testing.T) { runWalkInQuota(t, s, clock) })
}

func TestApplicationsOnMongo(t *testing.T) {
	s, clock := startClocked(t, true)
	t.Run("applications", func(t *testing.T) { runApplications(t, s, clock) })
	t.Run("opening cases", func(t *testing.T) { runCaseOpenings(t, s, clock) })
	t.Run("walk-in quota and review", func(t *testing.T) { runWalkInQuota(t, s, clock) })
}

// runApplications checks submitApplication, withdrawApplication and
// me.applications from the outside: who may apply for whom, to which
// unit, and how an application ends.
func runApplications(t *testing.T, s *testkit.Server, clock *testClock) {
	restaurant := "91350100MA0000001P"
	owner := holderToken(s, restaurant)
	stranger := holderToken(s, "350102198503150022")
	hall := s.Token("hall-client", "", identity.RoleServiceHall)
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)

	// The holder applies for themselves; the name is the base registry's.
	a := submit(t, s, owner, map[string]any{"matterCode": "350100-SP-0002", "unitCode": demo.ServiceCentre, "note": "  延续申请 "})
	if a.State != "PENDING" || a.Holder.Code != restaurant || a.Holder.Name != "福州示例餐饮管理有限公司" || a.Holder.Kind != "ORGANIZATION" ||
		a.Matter.Code != "350100-SP-0002" || a.Unit.Code != demo.ServiceCentre || a.Note == nil || *a.Note != "延续申请" ||
		!a.ExpiresAt.After(a.SubmittedAt.Add(24*time.Hour)) || len(a.ID) != 32 {
		t.Fatalf("submitted: %+v", a)
	}
	// The online service hall applies for a holder it authenticated.
	b := submit(t, s, hall, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.MarketRegistry, "holderCode": "350102198001010011"})
	if b.State != "PENDING" || b.Holder.Code != "350102198001010011" || b.Holder.Kind != "PERSON" || b.Note != nil {
		t.Fatalf("through the service hall: %+v", b)
	}

	refused := []struct {
		name, tok string
		in        map[string]any
		code      string
	}{
		{"a holder for someone else", owner, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.ServiceCentre, "holderCode": "350102198001010011"}, "FORBIDDEN"},
		{"staff", staff, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.ServiceCentre, "holderCode": restaurant}, "FORBIDDEN"},
		{"the service hall without a holder", hall, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.ServiceCentre}, "FORBIDDEN"},
		{"a bad holder code", hall, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.ServiceCentre, "holderCode": "350102198001010012"}, "INVALID_INPUT"},
		{"a unit that does not handle the matter", owner, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.HealthBureau}, "INVALID_INPUT"},
		{"an unknown unit", owner, map[string]any{"matterCode": "350100-SP-0001", "unitCode": "91350100MA0000002T"}, "INVALID_INPUT"},
		{"an unknown matter", owner, map[string]any{"matterCode": `{"$gt":""}`, "unitCode": demo.ServiceCentre}, "INVALID_INPUT"},
		{"a note too long", owner, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.ServiceCentre, "note": string(make([]rune, 501))}, "INVALID_INPUT"},
		{"no token", "", map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.ServiceCentre}, "UNAUTHENTICATED"},
	}
	for _, c := range refused {
		if r := s.Do(c.tok, submitApplicationQ, map[string]any{"in": c.in}); r.Code() != c.code {
			t.Errorf("%s: want %s, got %+v", c.name, c.code, r.Errors)
		}
	}

	// me.applications: the holder's own, newest first.
	mine := func(tok string) []applicationOut {
		var out struct {
			Me struct{ Applications []applicationOut }
		}
		s.Do(tok, `{ me { applications { id state submittedAt } } }`, nil).Decode(t, &out)
		return out.Me.Applications
	}
	clock.Add(time.Second)
	c := submit(t, s, owner, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.MarketRegistry})
	// The restaurant's: the demo's own online application, and these two.
	states := func() map[string]string {
		got := mine(owner)
		out := map[string]string{}
		for _, x := range got {
			out[x.ID] = x.State
		}
		if len(got) != 3 || got[0].ID != c.ID || out[a.ID] == "" {
			t.Fatalf("the restaurant's applications, newest first: %+v", got)
		}
		return out
	}
	states()
	if got := mine(stranger); len(got) != 0 {
		t.Fatalf("another holder's list: %+v", got)
	}
	if r := s.Do(staff, `{ me { applications { id } } }`, nil); r.Code() != "FORBIDDEN" {
		t.Fatalf("staff listing applications: %+v", r.Errors)
	}

	// Withdrawing: only the applicant (or the service hall); once.
	const withdrawQ = `mutation($id: ID!) { withdrawApplication(id: $id) { id state } }`
	if r := s.Do(stranger, withdrawQ, map[string]any{"id": c.ID}); r.Code() != "NOT_FOUND" {
		t.Fatalf("another holder withdrawing: %+v", r.Errors)
	}
	if r := s.Do(owner, withdrawQ, map[string]any{"id": "0123456789abcdef0123456789abcdef"}); r.Code() != "NOT_FOUND" {
		t.Fatalf("an unknown application: %+v", r.Errors)
	}
	var w struct{ WithdrawApplication applicationOut }
	s.Do(owner, withdrawQ, map[string]any{"id": c.ID}).Decode(t, &w)
	if w.WithdrawApplication.State != "WITHDRAWN" {
		t.Fatalf("withdrawn: %+v", w)
	}
	if r := s.Do(owner, withdrawQ, map[string]any{"id": c.ID}); r.Code() != "CONFLICT" {
		t.Fatalf("withdrawing twice: %+v", r.Errors)
	}
	s.Do(hall, withdrawQ, map[string]any{"id": b.ID}).Decode(t, &w)
	if w.WithdrawApplication.State != "WITHDRAWN" {
		t.Fatalf("withdrawn by the service hall: %+v", w)
	}

	// A pending application expires after the policy's working days.
	clock.Add(20 * 24 * time.Hour)
	if got := states(); got[c.ID] != "WITHDRAWN" || got[a.ID] != "EXPIRED" {
		t.Fatalf("after 20 days: %+v", got)
	}
	if r := s.Do(owner, withdrawQ, map[string]any{"id": a.ID}); r.Code() != "CONFLICT" {
		t.Fatalf("withdrawing an expired application: %+v", r.Errors)
	}
}

type openedCase struct {
	ID                string
	CaseNo            string
	ApplicationID     *string
	WalkInReason      *string
	OpenedAt          time.Time
	ClosesAt          time.Time
	ClosedAt          *time.Time
	HolderNameMatches *bool
	Holder            struct{ Code, Name, Kind string }
	Matter            struct{ Code string }
	Unit              struct{ Code string }
}

const openedCaseFields = `id caseNo applicationId walkInReason openedAt closesAt closedAt holderNameMatches holder { code name kind } matter { code } unit { code }`

// runCaseOpenings checks from the outside that a case exists only because
// a holder applied, or as a walk-in with a reason; that openCase shows no
// base-registry data the caller did not bring; that the holder sees every
// case opened about them; and that cases close by themselves.
func runCaseOpenings(t *testing.T, s *testkit.Server, clock *testClock) {
	restaurant := "91350100MA0000001P"
	owner := holderToken(s, restaurant)
	staff := s.Token("opener", demo.ServiceCentre, identity.RoleStaff)
	market := s.Token("market-opener", demo.MarketRegistry, identity.RoleStaff)
	open := func(tok string, in map[string]any) (*testkit.Response, openedCase) {
		t.Helper()
		r := s.Do(tok, `mutation($in: OpenCaseInput!) { openCase(input: $in) { `+openedCaseFields+` } }`, map[string]any{"in": in})
		var out struct{ OpenCase openedCase }
		if r.Code() == "" {
			r.Decode(t, &out)
		}
		return r, out.OpenCase
	}
	state := func(id string) string {
		t.Helper()
		var out struct {
			Me struct{ Applications []applicationOut }
		}
		s.Do(owner, `{ me { applications { id state } } }`, nil).Decode(t, &out)
		for _, a := range out.Me.Applications {
			if a.ID == id {
				return a.State
			}
		}
		t.Fatalf("application %s is not the holder's", id)
		return ""
	}

	// From an application: holder and matter are the application's, and
	// the application is OPENED.
	a := submit(t, s, owner, map[string]any{"matterCode": "350100-SP-0002", "unitCode": demo.ServiceCentre})
	r, c := open(staff, map[string]any{"caseNo": "AP-1", "applicationId": a.ID})
	if r.Code() != "" || c.Holder.Code != restaurant || c.Holder.Name != "福州示例餐饮管理有限公司" || c.Matter.Code != "350100-SP-0002" ||
		c.Unit.Code != demo.ServiceCentre || c.ApplicationID == nil || *c.ApplicationID != a.ID || c.WalkInReason != nil ||
		c.HolderNameMatches != nil || c.ClosedAt != nil || !c.ClosesAt.After(c.OpenedAt.Add(7*24*time.Hour)) {
		t.Fatalf("a case from an application: %+v %+v", c, r.Errors)
	}
	if st := state(a.ID); st != "OPENED" {
		t.Fatalf("the application is %s after the case was opened", st)
	}
	var read struct {
		Case struct{ Certificates []struct{ ID string } }
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID}).Decode(t, &read)
	if len(read.Case.Certificates) != 2 {
		t.Fatalf("the renewal needs two licences: %+v", read.Case)
	}

	// Refused: the same application twice, another unit's application, an
	// unknown one, one whose holder or matter the caller contradicts, a
	// walk-in reason beside it, a withdrawn one.
	b := submit(t, s, owner, map[string]any{"matterCode": "350100-SP-0002", "unitCode": demo.ServiceCentre})
	w := submit(t, s, owner, map[string]any{"matterCode": "350100-SP-0001", "unitCode": demo.ServiceCentre})
	s.Do(owner, `mutation($id: ID!) { withdrawApplication(id: $id) { id } }`, map[string]any{"id": w.ID}).Decode(t, &struct{}{})
	for _, c := range []struct {
		name, tok string
		in        map[string]any
		code      string
	}{
		{"the same application again", staff, map[string]any{"caseNo": "AP-2", "applicationId": a.ID}, "CONFLICT"},
		{"an application to another unit", market, map[string]any{"caseNo": "AP-3", "applicationId": b.ID}, "FORBIDDEN"},
		{"an unknown application", staff, map[string]any{"caseNo": "AP-4", "applicationId": "0123456789abcdef0123456789abcdef"}, "NOT_FOUND"},
		{"an operator as the application", staff, map[string]any{"caseNo": "AP-4", "applicationId": `{"$gt":""}`}, "NOT_FOUND"},
		{"another holder than the application's", staff, map[string]any{"caseNo": "AP-5", "applicationId": b.ID, "holderCode": "350102198001010011"}, "INVALID_INPUT"},
		{"another matter than the application's", staff, map[string]any{"caseNo": "AP-5", "applicationId": b.ID, "matterCode": "350100-SP-0001"}, "INVALID_INPUT"},
		{"a walk-in reason beside the application", staff, map[string]any{"caseNo": "AP-5", "applicationId": b.ID, "walkInReason": "申请人现场办理"}, "INVALID_INPUT"},
		{"a withdrawn application", staff, map[string]any{"caseNo": "AP-6", "applicationId": w.ID}, "CONFLICT"},
		{"an application's case number taken", staff, map[string]any{"caseNo": "AP-1", "applicationId": b.ID}, "CONFLICT"},
	} {
		if r, _ := open(c.tok, c.in); r.Code() != c.code {
			t.Errorf("%s: want %s, got %+v", c.name, c.code, r.Errors)
		}
	}
	if st := state(b.ID); st != "PENDING" {
		t.Fatalf("refused openings left the application %s", st)
	}
	// The holder's and matter's codes may be repeated.
	if r, c := open(staff, map[string]any{"caseNo": "AP-7", "applicationId": b.ID, "holderCode": restaurant, "matterCode": "350100-SP-0002"}); r.Code() != "" || c.Holder.Code != restaurant {
		t.Fatalf("repeating the application's codes: %+v", r.Errors)
	}

	// Walk-ins need a reason that says something.
	for _, c := range []struct {
		name string
		in   map[string]any
	}{
		{"no reason", map[string]any{"caseNo": "WI-1", "holderCode": restaurant, "matterCode": "350100-SP-0001"}},
		{"punctuation", map[string]any{"caseNo": "WI-1", "holderCode": restaurant, "matterCode": "350100-SP-0001", "walkInReason": " 。。，！ "}},
		{"two characters", map[string]any{"caseNo": "WI-1", "holderCode": restaurant, "matterCode": "350100-SP-0001", "walkInReason": "代办"}},
		{"too long", map[string]any{"caseNo": "WI-1", "holderCode": restaurant, "matterCode": "350100-SP-0001", "walkInReason": strings.Repeat("现场", 101)}},
		{"no holder", map[string]any{"caseNo": "WI-1", "matterCode": "350100-SP-0001", "walkInReason": "申请人现场办理"}},
		{"no matter", map[string]any{"caseNo": "WI-1", "holderCode": restaurant, "walkInReason": "申请人现场办理"}},
	} {
		if r, _ := open(staff, c.in); r.Code() != "INVALID_INPUT" {
			t.Errorf("walk-in with %s: %+v", c.name, r.Errors)
		}
	}
	r, wi := open(staff, map[string]any{"caseNo": "WI-2", "holderCode": restaurant, "matterCode": "350100-SP-0001", "walkInReason": " 老人代办 "})
	if r.Code() != "" || wi.WalkInReason == nil || *wi.WalkInReason != "老人代办" || wi.ApplicationID != nil {
		t.Fatalf("a walk-in with a short Chinese reason: %+v %+v", wi, r.Errors)
	}

	// openCase never shows the base registry's data: the name is the one
	// brought, and an ID the registry does not know looks like one it
	// knows, except through the name given.
	registrar := s.Token("registry-prober", demo.ServiceCentre, identity.RoleStaff)
	known, unknown := "350102198001010011", "321083197812162119" // 示例个人甲 is in the registry; the other is not
	shape := func(no, holder, name string) string {
		t.Helper()
		in := walkIn(no, holder, "350100-SP-0001")
		if name != "" {
			in["holderName"] = name
		}
		r, c := open(registrar, in)
		if r.Code() != "" {
			t.Fatalf("walk-in %s: %+v", no, r.Errors)
		}
		m := "null"
		if c.HolderNameMatches != nil {
			m = strconv.FormatBool(*c.HolderNameMatches)
		}
		return c.Holder.Name + "|" + c.Holder.Kind + "|" + m
	}
	for _, c := range []struct{ holder, name, want string }{
		{known, "", "|PERSON|null"},
		{unknown, "", "|PERSON|null"},
		{known, "示例个人甲", "示例个人甲|PERSON|true"},
		{unknown, "示例个人甲", "示例个人甲|PERSON|false"},
		{known, "张三", "张三|PERSON|false"},
		{unknown, "张三", "张三|PERSON|false"},
	} {
		if got := shape(fmt.Sprint("RG-", c.holder, c.name), c.holder, c.name); got != c.want {
			t.Errorf("walk-in of %s named %q: %s, want %s", c.holder, c.name, got, c.want)
		}
	}
	// Listed later, the walk-ins still hold only what was brought.
	var listed struct {
		Cases []struct {
			ApplicationID *string
			Holder        struct{ Code, Name string }
		}
	}
	s.Do(registrar, `{ cases(first: 100) { applicationId holder { code name } } }`, nil).Decode(t, &listed)
	walkIns := 0
	for _, c := range listed.Cases {
		if c.ApplicationID != nil || (c.Holder.Code != known && c.Holder.Code != unknown) {
			continue
		}
		walkIns++
		if c.Holder.Name != "" && c.Holder.Name != "示例个人甲" && c.Holder.Name != "张三" {
			t.Fatalf("a case listing shows a name nobody brought: %+v", c)
		}
	}
	if walkIns != 6 {
		t.Fatalf("%d of the 6 walk-ins listed: %+v", walkIns, listed.Cases)
	}

	// The holder sees every case opened about them, and the refused try.
	var log struct {
		Me struct {
			AccessLog struct {
				Edges []struct {
					Node struct {
						Action, Decision, Subject string
						Org, MatterCode, CaseID   *string
					}
				}
			}
		}
	}
	s.Do(owner, `{ me { accessLog(first: 100) { edges { node { action decision subject org matterCode caseId } } } } }`, nil).Decode(t, &log)
	opened := map[string]bool{}
	refusedBy := ""
	for _, e := range log.Me.AccessLog.Edges {
		n := e.Node
		if n.Action != "case.open" {
			continue
		}
		if n.Decision == "DENY" {
			refusedBy = *n.Org
		} else if n.CaseID != nil && *n.Org == demo.ServiceCentre && n.MatterCode != nil {
			opened[*n.CaseID] = true
		}
	}
	if !opened[c.ID] || !opened[wi.ID] || refusedBy != demo.MarketRegistry {
		t.Fatalf("the holder's access log shows openings %v and a refusal by %q: %+v", opened, refusedBy, log.Me.AccessLog.Edges)
	}

	// Cases close by themselves after the policy's working days.
	clock.Add(c.ClosesAt.Sub(clock.Now()) + time.Second)
	var after struct{ Case openedCase }
	s.Do(staff, `query($id: ID!) { case(id: $id) { `+openedCaseFields+` } }`, map[string]any{"id": c.ID}).Decode(t, &after)
	if after.Case.ClosedAt == nil || !after.Case.ClosedAt.Equal(c.ClosesAt) {
		t.Fatalf("past its deadline the case is closed at it: %+v", after.Case)
	}
	if r := s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("licences through a case past its deadline: %+v", r.Errors)
	}
	if r := s.Do(staff, `mutation($id: ID!) { closeCase(id: $id) { id } }`, map[string]any{"id": c.ID}); r.Code() != "CONFLICT" {
		t.Fatalf("closing a case that closed by itself: %+v", r.Errors)
	}
	var list struct{ Cases []struct{ ID string } }
	s.Do(staff, `{ cases(first: 100) { id } }`, nil).Decode(t, &list)
	for _, l := range list.Cases {
		if l.ID == c.ID || l.ID == wi.ID {
			t.Fatalf("open cases list one that closed by itself: %+v", list.Cases)
		}
	}
	s.Do(staff, `{ cases(openOnly: false, first: 100) { id } }`, nil).Decode(t, &list)
	if !slices.ContainsFunc(list.Cases, func(l struct{ ID string }) bool { return l.ID == c.ID }) {
		t.Fatalf("all cases list it: %+v", list.Cases)
	}
}
