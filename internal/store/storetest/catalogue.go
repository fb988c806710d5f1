// Package storetest is the one conformance suite that every store
// implementation passes. Each implementation's tests call the Run functions
// with a constructor that returns a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/catalogue"
)

// Stamp returns a Stamp for tests, at a time truncated to milliseconds so
// that every store round-trips it exactly.
func Stamp(by string) catalogue.Stamp {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return catalogue.Stamp{CreatedBy: by, CreatedAt: now, UpdatedBy: by, UpdatedAt: now}
}

func months(n int) *int { return &n }

// RunCatalogue runs the catalogue conformance suite.
func RunCatalogue(t *testing.T, open func(t *testing.T) catalogue.Repository) {
	ctx := context.Background()

	t.Run("UnitRoundTripAndConflict", func(t *testing.T) {
		r := open(t)
		u := catalogue.Unit{Code: "11100000000013338W", Name: "国家某部", Issuing: true, Version: 1, Stamp: Stamp("admin")}
		if err := r.CreateUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := r.GetUnit(ctx, u.Code)
		if err != nil {
			t.Fatal(err)
		}
		if got.Code != u.Code || got.Name != u.Name || !got.Issuing || got.Version != 1 ||
			!got.CreatedAt.Equal(u.CreatedAt) || got.CreatedBy != "admin" {
			t.Fatalf("got %+v, want %+v", got, u)
		}
		dup := u
		dup.Name = "another"
		if err := r.CreateUnit(ctx, dup); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("duplicate unit: got %v, want CONFLICT", err)
		}
		got, _ = r.GetUnit(ctx, u.Code)
		if got.Name != u.Name {
			t.Fatalf("duplicate overwrote the unit: %q", got.Name)
		}
		if _, err := r.GetUnit(ctx, "91310110666007217T"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing unit: got %v, want NOT_FOUND", err)
		}
	})

	t.Run("UnitUpdateIsConditioned", func(t *testing.T) {
		r := open(t)
		u := catalogue.Unit{Code: "91310110666007217T", Name: "A", Issuing: false, Version: 1, Stamp: Stamp("a")}
		must(t, r.CreateUnit(ctx, u))
		u.Name, u.Version, u.SealPublicKey = "B", 2, "-----BEGIN PUBLIC KEY-----"
		must(t, r.UpdateUnit(ctx, u, 1))
		u.Name, u.Version = "C", 2
		if err := r.UpdateUnit(ctx, u, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale update: got %v, want CONFLICT", err)
		}
		got, _ := r.GetUnit(ctx, u.Code)
		if got.Name != "B" || got.Version != 2 || got.SealPublicKey == "" {
			t.Fatalf("got %+v", got)
		}
		if err := r.UpdateUnit(ctx, catalogue.Unit{Code: "11100000000013338W", Version: 2}, 1); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("update of a missing unit: got %v, want NOT_FOUND", err)
		}
	})

	t.Run("ListUnitsOrdered", func(t *testing.T) {
		r := open(t)
		for _, c := range []string{"91310110666007217T", "11100000000013338W", "11110000000021135M"} {
			must(t, r.CreateUnit(ctx, catalogue.Unit{Code: c, Name: c, Version: 1, Stamp: Stamp("a")}))
		}
		us, err := r.ListUnits(ctx)
		must(t, err)
		if len(us) != 3 || us[0].Code != "11100000000013338W" || us[2].Code != "91310110666007217T" {
			t.Fatalf("units not listed by code: %+v", us)
		}
	})

	t.Run("TypeRoundTripUpdateConflict", func(t *testing.T) {
		r := open(t)
		ct := catalogue.CertificateType{
			Code: "11100000000013338W011", Name: "营业执照", IssuerCode: "11110000000021135M", Category: "市场监管",
			Fields: []catalogue.TemplateField{
				{Name: "name", Label: "名称", Type: catalogue.FieldString, Required: true},
				{Name: "capital", Label: "注册资本", Type: catalogue.FieldNumber},
				{Name: "legalId", Label: "法定代表人身份证", Type: catalogue.FieldString, Sensitive: true},
			},
			ValidityMonths: months(120), Version: 1, Stamp: Stamp("issuer1"),
		}
		must(t, r.CreateType(ctx, ct))
		if err := r.CreateType(ctx, ct); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("duplicate type: got %v, want CONFLICT", err)
		}
		got, err := r.GetType(ctx, ct.Code)
		must(t, err)
		if got.Name != ct.Name || got.IssuerCode != ct.IssuerCode || len(got.Fields) != 3 ||
			got.Fields[2] != ct.Fields[2] || got.ValidityMonths == nil || *got.ValidityMonths != 120 {
			t.Fatalf("got %+v", got)
		}
		ct.Name, ct.Version, ct.ValidityMonths = "营业执照（新）", 2, nil
		must(t, r.UpdateType(ctx, ct, 1))
		if err := r.UpdateType(ctx, ct, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale type update: got %v, want CONFLICT", err)
		}
		got, _ = r.GetType(ctx, ct.Code)
		if got.Version != 2 || got.ValidityMonths != nil || got.Name != "营业执照（新）" {
			t.Fatalf("after update: %+v", got)
		}
		if _, err := r.GetType(ctx, "11100000000013338W999"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing type: %v", err)
		}
		ts, err := r.ListTypes(ctx)
		must(t, err)
		if len(ts) != 1 {
			t.Fatalf("ListTypes: %d", len(ts))
		}
	})

	t.Run("ConcurrentUpdatesOneWins", func(t *testing.T) {
		r := open(t)
		ct := catalogue.CertificateType{Code: "11100000000013338W012", Name: "t", IssuerCode: "11110000000021135M", Category: "c",
			Fields: []catalogue.TemplateField{{Name: "a", Label: "A", Type: catalogue.FieldString}}, Version: 1, Stamp: Stamp("x")}
		must(t, r.CreateType(ctx, ct))
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := ct
				c.Name, c.Version = fmt.Sprintf("writer %d", i), 2
				switch err := r.UpdateType(ctx, c, 1); {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, apperr.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("update: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 7 {
			t.Fatalf("wins=%d conflicts=%d, want 1 and 7", wins.Load(), conflicts.Load())
		}
	})

	t.Run("MatterRoundTrip", func(t *testing.T) {
		r := open(t)
		m := catalogue.Matter{Code: "350100-XK-001", Name: "食品经营许可", RequiredTypes: []string{"11100000000013338W011", "11100000000013338W032"},
			HandlingUnits: []string{"91310110666007217T"}, DisclosedFields: []string{"11100000000013338W011.legalId"}, Version: 1, Stamp: Stamp("office")}
		must(t, r.CreateMatter(ctx, m))
		if err := r.CreateMatter(ctx, m); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("duplicate matter: %v", err)
		}
		got, err := r.GetMatter(ctx, m.Code)
		must(t, err)
		if got.Name != m.Name || len(got.RequiredTypes) != 2 || got.RequiredTypes[1] != m.RequiredTypes[1] || got.HandlingUnits[0] != m.HandlingUnits[0] ||
			len(got.DisclosedFields) != 1 || got.DisclosedFields[0] != m.DisclosedFields[0] {
			t.Fatalf("got %+v", got)
		}
		m.RequiredTypes, m.DisclosedFields, m.Version = m.RequiredTypes[:1], nil, 2
		must(t, r.UpdateMatter(ctx, m, 1))
		got, _ = r.GetMatter(ctx, m.Code)
		if len(got.RequiredTypes) != 1 || got.Version != 2 || len(got.DisclosedFields) != 0 {
			t.Fatalf("after update %+v", got)
		}
		ms, err := r.ListMatters(ctx)
		must(t, err)
		if len(ms) != 1 {
			t.Fatalf("ListMatters: %d", len(ms))
		}
		if _, err := r.GetMatter(ctx, "nope"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("missing matter: %v", err)
		}
	})

	t.Run("OperatorStringsAreData", func(t *testing.T) {
		r := open(t)
		evil := `{"$gt":""}`
		must(t, r.CreateUnit(ctx, catalogue.Unit{Code: "11100000000013338W", Name: evil, Version: 1, Stamp: Stamp(evil)}))
		if _, err := r.GetUnit(ctx, evil); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("an operator string matched a unit: %v", err)
		}
		got, err := r.GetUnit(ctx, "11100000000013338W")
		must(t, err)
		if got.Name != evil || got.CreatedBy != evil {
			t.Fatalf("the string was not stored as data: %+v", got)
		}
		if _, err := r.GetMatter(ctx, `{"$ne":null}`); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("an operator string matched a matter: %v", err)
		}
	})

	t.Run("ChangeHistory", func(t *testing.T) {
		r := open(t)
		at := time.Now().UTC().Truncate(time.Millisecond)
		c1 := catalogue.Change{Kind: catalogue.KindType, Code: "11100000000013338W011", Version: 1, Action: "create", By: "a", At: at, Snapshot: []byte(`{"v":1}`)}
		c2 := c1
		c2.Version, c2.Action, c2.By, c2.At, c2.Snapshot = 2, "update", "b", at.Add(time.Second), []byte(`{"v":2}`)
		other := c1
		other.Code = "11100000000013338W012"
		must(t, r.AppendChange(ctx, c1))
		must(t, r.AppendChange(ctx, c2))
		must(t, r.AppendChange(ctx, other))
		must(t, r.AppendChange(ctx, c1)) // a retry is not a second entry
		got, err := r.Changes(ctx, catalogue.KindType, c1.Code)
		must(t, err)
		if len(got) != 2 || got[0].Version != 1 || got[1].Version != 2 || got[1].By != "b" ||
			!got[1].At.Equal(c2.At) || string(got[1].Snapshot) != `{"v":2}` || got[0].Action != "create" {
			t.Fatalf("history: %+v", got)
		}
		all, err := r.Changes(ctx, catalogue.KindType, "")
		must(t, err)
		if len(all) != 3 {
			t.Fatalf("all type changes: %d", len(all))
		}
		none, err := r.Changes(ctx, catalogue.KindUnit, "")
		must(t, err)
		if len(none) != 0 {
			t.Fatalf("unit changes: %d", len(none))
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
