package objection_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/cases"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/objection"
	"certd/internal/store/sqlite"
)

const (
	issuerA = "11110000000021135M"
	issuerB = "11220000013544541J"
	unitA   = "12350100MB0000001X" // a using unit
	unitB   = "12350100MB0000009X"
	holderA = "321083197812162119"
	holderB = "33010219200403064X"
	caseA   = "0123456789abcdef0123456789abcdef"
	caseB   = "fedcba9876543210fedcba9876543210"
	caseC   = "00000000000000000000000000000000" // closed, unitA
)

var (
	licA    = licenceID(issuerA, "20260000001") // issuerA's licence of holderA
	licB    = licenceID(issuerB, "20260000002") // issuerB's licence of holderB
	licNone = licenceID(issuerA, "20260009999") // a well-formed id of no licence
)

func licenceID(issuer, serial string) string {
	return certificate.ID{TypeCode: "11100000000013338W011", IssuerCode: issuer, Serial: serial, Version: 1}.String()
}

// city is the calendar's zone (UTC+8, no DST).
var city = time.FixedZone("CST", 8*3600)

// fakeLicences stands in for *certificate.Service: Get and Change
// authorize with the real engine as the service does (certificate.read,
// certificate.change).
type fakeLicences struct {
	policy  *authz.Engine
	certs   map[string]certificate.Certificate
	mu      sync.Mutex
	changes []string // "id reason data"
}

func licResource(c *certificate.Certificate) map[string]any {
	return map[string]any{"id": c.ID, "issuer": c.IssuerCode, "type": c.TypeCode, "holder": c.Holder.Code, "state": string(c.State)}
}

func (f *fakeLicences) Get(ctx context.Context, id string) (certificate.View, error) {
	c, ok := f.certs[id]
	if !ok {
		return certificate.View{}, apperr.NotFoundf("licence %s not found", id)
	}
	if err := f.policy.Authorize(ctx, "certificate.read", licResource(&c)); err != nil {
		return certificate.View{}, err
	}
	return certificate.NewView(c, nil, "holder"), nil
}

func (f *fakeLicences) Change(ctx context.Context, id string, data map[string]any, reason string) (certificate.Certificate, error) {
	c, ok := f.certs[id]
	if !ok {
		return c, apperr.NotFoundf("licence %s not found", id)
	}
	if err := f.policy.Authorize(ctx, "certificate.change", licResource(&c)); err != nil {
		return certificate.Certificate{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, fmt.Sprintf("%s %s %v", id, reason, data))
	next := c
	next.ID, next.Data = fmt.Sprintf("%s-v%d", id, len(f.changes)+1), maps.Clone(data)
	return next, nil
}

// fakeCases stands in for *cases.Service: Get authorizes case.read with
// the real engine; Certificates shows the configured licences of open
// cases.
type fakeCases struct {
	policy *authz.Engine
	cases  map[string]cases.Case
	shows  map[string][]string // case id → licence ids
	certs  map[string]certificate.Certificate
}

func (f *fakeCases) Get(ctx context.Context, id string) (cases.Case, error) {
	c, ok := f.cases[id]
	if !ok {
		return c, apperr.NotFoundf("case %s not found", id)
	}
	if err := f.policy.Authorize(ctx, "case.read", map[string]any{"case": map[string]any{"id": c.ID, "unit": c.UnitCode}}); err != nil {
		return cases.Case{}, err
	}
	return c, nil
}

func (f *fakeCases) Certificates(_ context.Context, c *cases.Case) ([]certificate.View, error) {
	if !c.Open() {
		return nil, apperr.Forbiddenf("case %s is closed", c.CaseNo)
	}
	var out []certificate.View
	for _, id := range f.shows[c.ID] {
		out = append(out, certificate.ThroughCase(f.certs[id], nil, c.ID, c.MatterCode))
	}
	return out, nil
}

type fixture struct {
	svc      *objection.Service
	store    *sqlite.Store
	licences *fakeLicences
	mu       sync.Mutex
	now      time.Time
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mods, err := authz.DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	engine, err := authz.NewEngine(ctx, mods, 1)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := certificate.NewCalendar(city, []string{"2026-06-10"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lic := func(id, issuer, holder string) certificate.Certificate {
		return certificate.Certificate{ID: id, IssuerCode: issuer, TypeCode: "11100000000013338W011", State: certificate.Valid,
			Current: true, Holder: certificate.Holder{Code: holder, Name: "示例个人甲", Kind: certificate.Person},
			Data: map[string]any{"name": "示例个人甲", "address": "福州"}}
	}
	certs := map[string]certificate.Certificate{licA: lic(licA, issuerA, holderA), licB: lic(licB, issuerB, holderB)}
	closed := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	cs := &fakeCases{policy: engine, certs: certs,
		cases: map[string]cases.Case{
			caseA: {ID: caseA, CaseNo: "A-1", UnitCode: unitA, Holder: certs[licA].Holder},
			caseB: {ID: caseB, CaseNo: "B-1", UnitCode: unitB, Holder: certs[licA].Holder},
			caseC: {ID: caseC, CaseNo: "A-0", UnitCode: unitA, Holder: certs[licA].Holder, ClosedAt: &closed},
		},
		shows: map[string][]string{caseA: {licA}, caseB: {licA}, caseC: {licA}},
	}
	f := &fixture{store: s, licences: &fakeLicences{policy: engine, certs: certs},
		now: time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)} // Monday 10:00 in the city
	f.svc = objection.NewService(s, f.licences, cs, engine, cal, 0)
	f.svc.Now = f.clock
	return f
}

func as(p identity.Principal) context.Context {
	return identity.WithPrincipal(context.Background(), &p)
}

var (
	holder      = as(identity.Principal{Subject: "h1", Roles: []string{"holder"}, Holder: holderA})
	otherHolder = as(identity.Principal{Subject: "h2", Roles: []string{"holder"}, Holder: holderB})
	staff       = as(identity.Principal{Subject: "s1", Org: unitA, Roles: []string{"staff"}})
	issuer      = as(identity.Principal{Subject: "i1", Org: issuerA, Roles: []string{"issuer"}, AMR: []string{"pwd", "cert"}})
	weakIssuer  = as(identity.Principal{Subject: "i3", Org: issuerA, Roles: []string{"issuer"}, AMR: []string{"pwd"}})
	otherIssuer = as(identity.Principal{Subject: "i2", Org: issuerB, Roles: []string{"issuer"}, AMR: []string{"cert"}})
)

func wantCode(t *testing.T, err error, code error) {
	t.Helper()
	if !errors.Is(err, code) {
		t.Fatalf("want %v, got %v", code, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ids(os []objection.Objection) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func TestHolderFilesOnOwnLicence(t *testing.T) {
	f := setup(t)
	o, err := f.svc.File(holder, licA, []string{"name", " holder.name ", "name"}, "  名字写错了，应为示例个人丁  ", "")
	must(t, err)
	if o.State != objection.Open || o.IssuerCode != issuerA || o.HolderCode != holderA || o.FiledRole != objection.RoleHolder ||
		o.CaseID != "" || o.FiledBy != "h1" || o.Rev != 1 || !slices.Equal(o.Fields, []string{"name", "holder.name"}) ||
		o.Description != "名字写错了，应为示例个人丁" {
		t.Fatalf("filed %+v", o)
	}
	// Filed Monday 1 June; 5 working days with Wednesday 10 June a
	// holiday: 2, 3, 4, 5, 8 June — due at the end of Monday 8 June.
	if want := time.Date(2026, 6, 8, 23, 59, 59, 999e6, city); !o.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", o.DueAt, want)
	}
	got, err := f.store.GetObjection(context.Background(), o.ID)
	must(t, err)
	if got.ID != o.ID || !got.DueAt.Equal(o.DueAt) {
		t.Fatalf("stored %+v", got)
	}
	mine, err := f.svc.Mine(holder)
	must(t, err)
	if !slices.Equal(ids(mine), []string{o.ID}) {
		t.Fatalf("mine: %v", ids(mine))
	}
	theirs, err := f.svc.Mine(otherHolder)
	must(t, err)
	if len(theirs) != 0 {
		t.Fatalf("another holder's objections: %v", ids(theirs))
	}
	_, err = f.svc.Mine(issuer)
	wantCode(t, err, apperr.ErrForbidden)
}

func TestFilingRefused(t *testing.T) {
	f := setup(t)
	_, err := f.svc.File(otherHolder, licA, []string{"name"}, "not my name at all", "")
	wantCode(t, err, apperr.ErrForbidden)
	// The issuer reads its licence but does not object to it.
	_, err = f.svc.File(issuer, licA, []string{"name"}, "not my name at all", "")
	wantCode(t, err, apperr.ErrForbidden)
	// Staff without a case cannot read the licence.
	_, err = f.svc.File(staff, licA, []string{"name"}, "not my name at all", "")
	wantCode(t, err, apperr.ErrForbidden)
	_, err = f.svc.File(holder, licNone, []string{"name"}, "not my name at all", "")
	wantCode(t, err, apperr.ErrNotFound)
	if all, _ := f.store.ListObjections(context.Background(), objection.ObjectionQuery{}); len(all) != 0 {
		t.Fatalf("refused objections stored: %v", ids(all))
	}
}

func TestValidation(t *testing.T) {
	f := setup(t)
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("f%d", i)
	}
	for _, tc := range []struct {
		name   string
		fields []string
		desc   string
	}{
		{"no fields", nil, "a good description"},
		{"21 fields", many, "a good description"},
		{"empty field", []string{""}, "a good description"},
		{"operator field", []string{"$where"}, "a good description"},
		{"spaces in field", []string{"a b"}, "a good description"},
		{"short description", []string{"name"}, " abc "},
		{"long description", []string{"name"}, strings.Repeat("长", 2001)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.File(holder, licA, tc.fields, tc.desc, "")
			wantCode(t, err, apperr.ErrInvalid)
		})
	}
	_, err := f.svc.File(holder, licA, many[:20], strings.Repeat("长", 2000), "")
	must(t, err)
}

func TestStaffFileThroughCase(t *testing.T) {
	f := setup(t)
	o, err := f.svc.File(staff, licA, []string{"address"}, "the address is outdated", caseA)
	must(t, err)
	if o.FiledRole != objection.RoleStaff || o.CaseID != caseA || o.IssuerCode != issuerA || o.HolderCode != holderA || o.FiledByOrg != unitA {
		t.Fatalf("filed %+v", o)
	}
	// Another unit's case.
	_, err = f.svc.File(staff, licA, []string{"address"}, "the address is outdated", caseB)
	wantCode(t, err, apperr.ErrForbidden)
	// A closed case of the unit.
	_, err = f.svc.File(staff, licA, []string{"address"}, "the address is outdated", caseC)
	wantCode(t, err, apperr.ErrForbidden)
	// A licence the case does not show.
	_, err = f.svc.File(staff, licB, []string{"address"}, "the address is outdated", caseA)
	wantCode(t, err, apperr.ErrForbidden)
	// A holder does not file through a case.
	_, err = f.svc.File(holder, licA, []string{"address"}, "the address is outdated", caseA)
	wantCode(t, err, apperr.ErrForbidden)
	_, err = f.svc.File(staff, licA, []string{"address"}, "the address is outdated", "nope")
	wantCode(t, err, apperr.ErrNotFound)
}

func TestIssuerListsItsUnitsObjections(t *testing.T) {
	f := setup(t)
	first, err := f.svc.File(holder, licA, []string{"name"}, "the name is misspelt", "")
	must(t, err)
	f.set(f.now.Add(time.Minute))
	second, err := f.svc.File(staff, licA, []string{"address"}, "the address is outdated", caseA)
	must(t, err)
	f.set(f.now.Add(2 * time.Minute))
	_, err = f.svc.File(otherHolder, licB, []string{"name"}, "the name is misspelt", "")
	must(t, err)
	got, err := f.svc.List(issuer, "")
	must(t, err)
	if !slices.Equal(ids(got), []string{second.ID, first.ID}) {
		t.Fatalf("issuer A lists %v", ids(got))
	}
	open, err := f.svc.List(issuer, objection.Open)
	must(t, err)
	if len(open) != 2 {
		t.Fatalf("open: %v", ids(open))
	}
	other, err := f.svc.List(otherIssuer, "")
	must(t, err)
	if len(other) != 1 || other[0].IssuerCode != issuerB {
		t.Fatalf("issuer B lists %+v", other)
	}
	_, err = f.svc.List(staff, "")
	wantCode(t, err, apperr.ErrForbidden)
	_, err = f.svc.List(holder, "")
	wantCode(t, err, apperr.ErrForbidden)
	_, err = f.svc.List(issuer, "BOGUS")
	wantCode(t, err, apperr.ErrInvalid)
}

func TestResolveCorrected(t *testing.T) {
	f := setup(t)
	o, err := f.svc.File(holder, licA, []string{"name"}, "the name is misspelt", "")
	must(t, err)
	data := map[string]any{"name": "示例个人丁", "address": "福州"}
	_, err = f.svc.Resolve(issuer, o.ID, objection.Corrected, "checked", nil)
	wantCode(t, err, apperr.ErrInvalid)
	_, err = f.svc.Resolve(otherIssuer, o.ID, objection.Corrected, "checked", data)
	wantCode(t, err, apperr.ErrForbidden)
	_, err = f.svc.Resolve(holder, o.ID, objection.Rejected, "no", nil)
	wantCode(t, err, apperr.ErrForbidden)
	// certificate.change needs strong authentication: nothing changes.
	_, err = f.svc.Resolve(weakIssuer, o.ID, objection.Corrected, "checked", data)
	wantCode(t, err, apperr.ErrForbidden)
	if len(f.licences.changes) != 0 {
		t.Fatalf("changes: %v", f.licences.changes)
	}
	f.set(f.now.Add(time.Hour))
	r, err := f.svc.Resolve(issuer, o.ID, objection.Corrected, " checked against the register ", data)
	must(t, err)
	if r.State != objection.Corrected || r.CorrectedID != licA+"-v2" || r.Resolution != "checked against the register" ||
		r.ResolvedBy != "i1" || r.ResolvedAt == nil || !r.ResolvedAt.Equal(f.clock()) || r.Rev != 2 {
		t.Fatalf("resolved %+v", r)
	}
	want := fmt.Sprintf("%s objection %s: checked against the register %v", licA, o.ID, data)
	if !slices.Equal(f.licences.changes, []string{want}) {
		t.Fatalf("changes %q, want %q", f.licences.changes, want)
	}
	stored, err := f.store.GetObjection(context.Background(), o.ID)
	must(t, err)
	if stored.State != objection.Corrected || stored.CorrectedID != r.CorrectedID || stored.Rev != 2 {
		t.Fatalf("stored %+v", stored)
	}
	_, err = f.svc.Resolve(issuer, o.ID, objection.Corrected, "again", data)
	wantCode(t, err, apperr.ErrConflict)
	_, err = f.svc.Resolve(issuer, o.ID, objection.Rejected, "again", nil)
	wantCode(t, err, apperr.ErrConflict)
	if len(f.licences.changes) != 1 {
		t.Fatalf("a second resolution changed the licence: %v", f.licences.changes)
	}
	_, err = f.svc.Resolve(issuer, "nope", objection.Rejected, "x", nil)
	wantCode(t, err, apperr.ErrNotFound)
}

func TestResolveRejected(t *testing.T) {
	f := setup(t)
	o, err := f.svc.File(holder, licA, []string{"name"}, "the name is misspelt", "")
	must(t, err)
	_, err = f.svc.Resolve(issuer, o.ID, objection.Rejected, "  ", nil)
	wantCode(t, err, apperr.ErrInvalid)
	_, err = f.svc.Resolve(issuer, o.ID, objection.Rejected, "x", map[string]any{"name": "y"})
	wantCode(t, err, apperr.ErrInvalid)
	_, err = f.svc.Resolve(issuer, o.ID, objection.Open, "x", nil)
	wantCode(t, err, apperr.ErrInvalid)
	// Rejection needs no strong authentication: nothing is issued.
	r, err := f.svc.Resolve(weakIssuer, o.ID, objection.Rejected, "the register agrees with the licence", nil)
	must(t, err)
	if r.State != objection.Rejected || r.CorrectedID != "" || r.Resolution != "the register agrees with the licence" {
		t.Fatalf("resolved %+v", r)
	}
	_, err = f.svc.Resolve(issuer, o.ID, objection.Rejected, "again", nil)
	wantCode(t, err, apperr.ErrConflict)
	mine, err := f.svc.Mine(holder)
	must(t, err)
	if len(mine) != 1 || mine[0].State != objection.Rejected {
		t.Fatalf("mine %+v", mine)
	}
}

func TestOverdue(t *testing.T) {
	f := setup(t)
	a, err := f.svc.File(holder, licA, []string{"name"}, "the name is misspelt", "")
	must(t, err)
	f.set(time.Date(2026, 6, 3, 2, 0, 0, 0, time.UTC)) // Wednesday
	b, err := f.svc.File(holder, licA, []string{"address"}, "the address is outdated", "")
	must(t, err)
	check := func(at time.Time, wantIDs []string, wantOpen, wantOverdue int) {
		t.Helper()
		f.set(at)
		got, err := f.svc.Overdue(issuer)
		must(t, err)
		if !slices.Equal(ids(got), wantIDs) {
			t.Fatalf("at %v overdue %v, want %v", at, ids(got), wantIDs)
		}
		open, overdue, err := f.svc.Stats(context.Background(), issuerA, at)
		must(t, err)
		if open != wantOpen || overdue != wantOverdue {
			t.Fatalf("at %v stats %d open, %d overdue; want %d, %d", at, open, overdue, wantOpen, wantOverdue)
		}
	}
	// a is due at the end of Monday 8 June (city time).
	check(time.Date(2026, 6, 8, 15, 59, 0, 0, time.UTC), []string{}, 2, 0)
	check(time.Date(2026, 6, 8, 16, 0, 0, 0, time.UTC), []string{a.ID}, 2, 1)
	if !a.Overdue(time.Date(2026, 6, 9, 0, 0, 0, 0, time.UTC)) || a.Overdue(time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("Overdue around the deadline")
	}
	// b, filed Wednesday 3 June: 4, 5, 8, 9, 11 (10 June is a holiday).
	if want := time.Date(2026, 6, 11, 23, 59, 59, 999e6, city); !b.DueAt.Equal(want) {
		t.Fatalf("b due %v, want %v", b.DueAt, want)
	}
	check(time.Date(2026, 6, 12, 0, 0, 0, 0, time.UTC), []string{b.ID, a.ID}, 2, 2)
	// Resolved objections are never overdue.
	_, err = f.svc.Resolve(issuer, a.ID, objection.Rejected, "correct as is", nil)
	must(t, err)
	check(time.Date(2026, 6, 12, 0, 0, 0, 0, time.UTC), []string{b.ID}, 1, 1)
	open, overdue, err := f.svc.Stats(context.Background(), issuerB, time.Date(2026, 6, 12, 0, 0, 0, 0, time.UTC))
	must(t, err)
	if open != 0 || overdue != 0 {
		t.Fatalf("issuer B stats %d, %d", open, overdue)
	}
	_, err = f.svc.Overdue(holder)
	wantCode(t, err, apperr.ErrForbidden)
}

func TestSupersededLicence(t *testing.T) {
	f := setup(t)
	c := f.licences.certs[licA]
	c.Current, c.Successor = false, licA+"-v2"
	f.licences.certs[licA] = c
	_, err := f.svc.File(holder, licA, []string{"name"}, "the name is misspelt", "")
	wantCode(t, err, apperr.ErrConflict)
}
