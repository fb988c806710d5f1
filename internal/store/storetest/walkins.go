package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/cases"
)

// runWalkIns checks the walk-in part of cases.Repository: slots of a
// person's daily quota, alerts counting refusals, and the review listing.
func runWalkIns(t *testing.T, open func(t *testing.T) cases.Repository) {
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)
	mk := func(id, subject, day string, n int, at time.Time) cases.WalkIn {
		return cases.WalkIn{ID: id, Slot: fmt.Sprintf("case/%s/%d/%s", day, n, subject), Day: day, At: at, Subject: subject,
			UnitCode: issuerA, CaseNo: "WI-" + id, HolderCode: "350102198001010011", HolderName: "示例个人甲",
			MatterCode: "350100-SP-0001", Reason: "申请人现场办理"}
	}
	t.Run("WalkInSlots", func(t *testing.T) {
		r := open(t)
		w1 := mk("w1", "s1", "2026-11-02", 1, base)
		must(t, r.AddWalkIn(ctx, w1))
		must(t, r.AddWalkIn(ctx, mk("w2", "s1", "2026-11-02", 2, base.Add(time.Minute))))
		if err := r.AddWalkIn(ctx, mk("w3", "s1", "2026-11-02", 2, base.Add(2*time.Minute))); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("a slot taken twice: %v", err)
		}
		must(t, r.AddWalkIn(ctx, mk("w4", "s1", "2026-11-03", 1, base.Add(24*time.Hour))))
		must(t, r.AddWalkIn(ctx, mk("w5", "s2", "2026-11-02", 1, base)))
		alert := mk("a1", "s1", "2026-11-02", 0, base.Add(3*time.Minute))
		alert.Slot, alert.Alert, alert.Refusals = "alert/2026-11-02/s1", true, 1
		must(t, r.RecordWalkInAlert(ctx, alert))
		for _, c := range []struct {
			subject, day string
			want         int
		}{{"s1", "2026-11-02", 2}, {"s1", "2026-11-03", 1}, {"s2", "2026-11-02", 1}, {"s3", "2026-11-02", 0}, {`{"$gt":""}`, "2026-11-02", 0}} {
			if n, err := r.CountWalkIns(ctx, c.subject, c.day); err != nil || n != c.want {
				t.Fatalf("walk-ins of %s on %s: %d, %v; want %d (alerts do not count)", c.subject, c.day, n, err, c.want)
			}
		}
		must(t, r.RemoveWalkIn(ctx, "w2"))
		if n, _ := r.CountWalkIns(ctx, "s1", "2026-11-02"); n != 1 {
			t.Fatalf("after removing a slot: %d", n)
		}
		must(t, r.AddWalkIn(ctx, mk("w6", "s1", "2026-11-02", 2, base.Add(4*time.Minute))))
		got, err := r.WalkIns(ctx, nil, 10)
		must(t, err)
		var ids []string
		for _, w := range got {
			ids = append(ids, w.ID)
		}
		if fmt.Sprint(ids) != "[w4 w6 a1 w5 w1]" || !reflect.DeepEqual(got[4], w1) || !got[2].Alert || got[2].Refusals != 1 {
			t.Fatalf("walk-ins and the alert, newest first: %v %+v", ids, got)
		}
	})
	t.Run("WalkInAlertCountsRefusals", func(t *testing.T) {
		r := open(t)
		alert := mk("a1", "s1", "2026-11-02", 0, base)
		alert.Slot, alert.Alert, alert.Refusals = "alert/2026-11-02/s1", true, 1
		must(t, r.RecordWalkInAlert(ctx, alert))
		for i := range 3 {
			again := alert
			again.ID, again.At, again.CaseNo = fmt.Sprint("a", i+2), base.Add(time.Duration(i+1)*time.Minute), "later"
			must(t, r.RecordWalkInAlert(ctx, again))
		}
		got, err := r.WalkIns(ctx, nil, 10)
		must(t, err)
		want := alert
		want.Refusals = 4
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("one alert of the first refusal counting four: %+v", got)
		}
	})
	t.Run("WalkInsNewestFirst", func(t *testing.T) {
		r := open(t)
		for i := range 7 {
			// Pairs share a time: ties go by id, descending.
			must(t, r.AddWalkIn(ctx, mk(fmt.Sprint("w", i), "s1", "2026-11-02", i+1, base.Add(time.Duration(i/2)*time.Minute))))
		}
		var ids []string
		var after *cases.Cursor
		for range 10 {
			page, err := r.WalkIns(ctx, after, 3)
			must(t, err)
			for _, w := range page {
				ids = append(ids, w.ID)
			}
			if len(page) < 3 {
				break
			}
			last := page[len(page)-1]
			after = &cases.Cursor{OpenedAt: last.At, ID: last.ID}
		}
		if fmt.Sprint(ids) != "[w6 w5 w4 w3 w2 w1 w0]" {
			t.Fatalf("pages of three, newest first: %v", ids)
		}
	})
}
