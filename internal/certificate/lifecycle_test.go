package certificate

import (
	"testing"
	"time"

	"certd/internal/apperr"
)

func TestTransitions(t *testing.T) {
	cases := []struct {
		from State
		a    Action
		to   State
		code apperr.Code
	}{
		{Valid, Suspend, Suspended, ""},
		{Suspended, Resume, Valid, ""},
		{Valid, Pledge, Pledged, ""},
		{Pledged, ReleasePledge, Valid, ""},
		{Valid, ReportLost, Lost, ""},
		{Lost, Resume, Valid, ""},
		{Valid, Revoke, Revoked, ""},
		{Valid, Cancel, Cancelled, ""},
		{Valid, Abolish, Abolished, ""},
		{Pledged, Cancel, "", apperr.Conflict},
		{Valid, Resume, "", apperr.Conflict},
		{Suspended, ReleasePledge, "", apperr.Conflict},
		{Revoked, Resume, "", apperr.Conflict},
		{Cancelled, Revoke, "", apperr.Conflict},
		{Expired, Resume, "", apperr.Conflict},
		{Superseded, Suspend, "", apperr.Conflict},
		{Valid, Action("DESTROY"), "", apperr.InvalidInput},
	}
	for _, c := range cases {
		to, err := Next(c.from, c.a)
		if c.code == "" {
			if err != nil || to != c.to {
				t.Errorf("%s %s: got %s %v, want %s", c.from, c.a, to, err, c.to)
			}
		} else if !apperr.CodeIs(err, c.code) {
			t.Errorf("%s %s: got %v, want %s", c.from, c.a, err, c.code)
		}
	}
}

func TestCitability(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	until := day("2026-12-31")
	c := Certificate{State: Valid, Current: true, ValidFrom: day("2026-01-01"), ValidUntil: &until}
	if !c.Citable(day("2026-12-31")) {
		t.Error("valid through its last day")
	}
	if c.Citable(day("2027-01-01")) {
		t.Error("citable after validUntil")
	}
	if c.Citable(day("2025-12-31")) {
		t.Error("citable before validFrom")
	}
	c.State = Suspended
	if ok, why := c.Citability(day("2026-06-01")); ok || len(why) != 1 || why[0] != "state is SUSPENDED" {
		t.Errorf("suspended: %v %v", ok, why)
	}
	c.State, c.Current, c.Successor = Valid, false, "X"
	if c.Citable(day("2026-06-01")) {
		t.Error("a superseded version is citable")
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	clk := Clock{Now: func() time.Time { return time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC) }, Loc: loc}
	if got := clk.Today(); !got.Equal(day("2027-01-01")) {
		t.Errorf("17:00 UTC on 31 Dec is 1 Jan in the city, got %s", got)
	}
}
