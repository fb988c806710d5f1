package certificate

import (
	"testing"
	"time"
)

func TestDeadlines(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cal, err := NewCalendar(loc, []string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"}, []string{"2026-10-10"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.ParseInLocation("2006-01-02 15:04", s, loc); return v }
	// Online: before completion.
	if d := cal.Deadline(Online, at("2026-09-28 10:00"), 1); !d.Equal(at("2026-09-28 10:00")) {
		t.Errorf("online %s", d)
	}
	// Offline: the same day.
	if d := cal.Deadline(Offline, at("2026-09-28 10:00"), 1); d.In(loc).Format("2006-01-02 15:04:05") != "2026-09-28 23:59:59" {
		t.Errorf("offline %s", d.In(loc))
	}
	// A batch completed on Wednesday 30 Sep: holidays 1-7 Oct (3, 4 are a
	// weekend), 8 and 9 Oct are working days, Saturday 10 Oct is a make-up
	// working day: the third working day is 10 Oct.
	if d := cal.Deadline(Offline, at("2026-09-30 16:00"), 150); d.In(loc).Format(time.DateOnly) != "2026-10-10" {
		t.Errorf("batch %s", d.In(loc))
	}
	// Friday plus three working days is Wednesday.
	if d := cal.Deadline(Online, at("2026-11-27 09:00"), 100); d.In(loc).Format(time.DateOnly) != "2026-12-02" {
		t.Errorf("batch over a weekend %s", d.In(loc))
	}
	if cal.Deadline(Stock, at("2026-11-27 09:00"), 5000) != nil {
		t.Error("stock licences have no deadline")
	}
	if _, err := NewCalendar(loc, []string{"2026-13-01"}, nil); err == nil {
		t.Error("a bad date was accepted")
	}
}
