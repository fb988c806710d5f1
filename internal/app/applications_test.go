package app_test

import (
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
	runApplications(t, s, clock)
}

func TestApplicationsOnMongo(t *testing.T) {
	s, clock := startClocked(t, true)
	runApplications(t, s, clock)
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
	if got := mine(owner); len(got) != 2 || got[0].ID != c.ID || got[1].ID != a.ID {
		t.Fatalf("the restaurant's applications: %+v", got)
	}
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
	if got := mine(owner); len(got) != 2 || got[0].State != "WITHDRAWN" || got[1].State != "EXPIRED" {
		t.Fatalf("after 20 days: %+v", got)
	}
	if r := s.Do(owner, withdrawQ, map[string]any{"id": a.ID}); r.Code() != "CONFLICT" {
		t.Fatalf("withdrawing an expired application: %+v", r.Errors)
	}
}
