package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/authz"
	"certd/internal/policyadmin"
)

// policyVersion returns a policy version for tests whose modules hold
// text that a careless store would change: Chinese comments, tabs, CRLF,
// trailing spaces, quotes, backslashes and no final newline.
func policyVersion(n int) policyadmin.Version {
	return policyadmin.Version{
		Version: n,
		Modules: []authz.Module{
			{Path: "authz.rego", Rego: fmt.Sprintf("# 授权规则 第%d版：默认拒绝。\npackage certd.authz\n\ndefault allow := false\n\n"+
				"allow if {\n\tinput.action == \"catalogue.read\"  \r\n\tinput.principal.sub != \"\" # 已认证\n}\n"+
				"reasons contains `back\\slash \"q\"` if false", n)},
			{Path: "nested/authz_test.rego", Rego: "package certd.authz_test\n\nimport data.certd.authz\n\n# 测试：匿名不可读\ntest_anonymous if not authz.allow with input as {}\n"},
		},
		Message:     fmt.Sprintf("版本 %d: 调整目录读取规则", n),
		Author:      "policy-admin-1",
		PublishedAt: time.Date(2026, 3, 1, 8, 0, n, 123e6, time.UTC),
		TestsPassed: n,
	}
}

// RunPolicies runs the policy repository conformance suite.
func RunPolicies(t *testing.T, open func(t *testing.T) policyadmin.Repository) {
	ctx := context.Background()

	t.Run("RoundTripAndConflict", func(t *testing.T) {
		r := open(t)
		v := policyVersion(1)
		must(t, r.InsertPolicy(ctx, v))
		got, err := r.PolicyVersion(ctx, 1)
		must(t, err)
		if !reflect.DeepEqual(got.Modules, v.Modules) {
			t.Fatalf("modules changed on the way:\n got %q\nwant %q", got.Modules, v.Modules)
		}
		if got.Version != 1 || got.Message != v.Message || got.Author != v.Author ||
			!got.PublishedAt.Equal(v.PublishedAt) || got.TestsPassed != v.TestsPassed {
			t.Fatalf("got %+v, want %+v", got, v)
		}
		other := policyVersion(1)
		other.Message = "another"
		if err := r.InsertPolicy(ctx, other); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("version 1 twice: %v", err)
		}
		if got, _ := r.PolicyVersion(ctx, 1); got.Message != v.Message {
			t.Fatalf("a refused insert changed version 1: %+v", got)
		}
		if _, err := r.PolicyVersion(ctx, 2); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("unknown version: %v", err)
		}
	})

	t.Run("Ordering", func(t *testing.T) {
		r := open(t)
		none, err := r.PolicyVersions(ctx)
		must(t, err)
		if len(none) != 0 {
			t.Fatalf("empty store lists %d versions", len(none))
		}
		for _, n := range []int{3, 1, 10, 2} {
			must(t, r.InsertPolicy(ctx, policyVersion(n)))
		}
		all, err := r.PolicyVersions(ctx)
		must(t, err)
		var got []int
		for _, v := range all {
			got = append(got, v.Version)
			if !reflect.DeepEqual(v.Modules, policyVersion(v.Version).Modules) || v.TestsPassed != v.Version {
				t.Errorf("version %d listed as %+v", v.Version, v)
			}
		}
		if !reflect.DeepEqual(got, []int{1, 2, 3, 10}) {
			t.Fatalf("versions in order %v, want [1 2 3 10]", got)
		}
	})

	t.Run("Pointer", func(t *testing.T) {
		r := open(t)
		if _, _, err := r.ActivePolicy(ctx); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("no pointer yet: %v", err)
		}
		must(t, r.InsertPolicy(ctx, policyVersion(1)))
		must(t, r.InsertPolicy(ctx, policyVersion(2)))
		if err := r.SetActivePolicy(ctx, 7, 0); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("pointer to an unknown version: %v", err)
		}
		if err := r.SetActivePolicy(ctx, 1, 3); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("move of a pointer that does not exist: %v", err)
		}
		must(t, r.SetActivePolicy(ctx, 1, 0))
		if v, rev, err := r.ActivePolicy(ctx); err != nil || v != 1 || rev != 1 {
			t.Fatalf("after create: version %d rev %d, %v", v, rev, err)
		}
		if err := r.SetActivePolicy(ctx, 2, 0); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("create twice: %v", err)
		}
		must(t, r.SetActivePolicy(ctx, 2, 1))
		if v, rev, err := r.ActivePolicy(ctx); err != nil || v != 2 || rev != 2 {
			t.Fatalf("after move: version %d rev %d, %v", v, rev, err)
		}
		if err := r.SetActivePolicy(ctx, 1, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("move from a stale rev: %v", err)
		}
		if err := r.SetActivePolicy(ctx, 9, 2); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("move to an unknown version: %v", err)
		}
		must(t, r.SetActivePolicy(ctx, 1, 2)) // back to 1
		if v, rev, err := r.ActivePolicy(ctx); err != nil || v != 1 || rev != 3 {
			t.Fatalf("after rollback: version %d rev %d, %v", v, rev, err)
		}
	})

	t.Run("ConcurrentMoves", func(t *testing.T) {
		r := open(t)
		for n := 1; n <= 9; n++ {
			must(t, r.InsertPolicy(ctx, policyVersion(n)))
		}
		must(t, r.SetActivePolicy(ctx, 1, 0))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = r.SetActivePolicy(ctx, i+2, 1) })
		}
		wg.Wait()
		winner := 0
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != 0 {
					t.Fatalf("versions %d and %d both moved the pointer from rev 1", winner, i+2)
				}
				winner = i + 2
			case !errors.Is(err, apperr.ErrConflict):
				t.Fatalf("move to %d: %v, want CONFLICT", i+2, err)
			}
		}
		if winner == 0 {
			t.Fatal("no concurrent move succeeded")
		}
		if v, rev, err := r.ActivePolicy(ctx); err != nil || v != winner || rev != 2 {
			t.Fatalf("after the race: version %d rev %d, %v; want %d rev 2", v, rev, err, winner)
		}
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		r := open(t)
		var wg sync.WaitGroup
		var inserted, created sync.Map
		for i := range 4 {
			wg.Go(func() {
				if err := r.InsertPolicy(ctx, policyVersion(1)); err == nil {
					inserted.Store(i, true)
				} else if !errors.Is(err, apperr.ErrConflict) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i := range 4 {
			wg.Go(func() {
				if err := r.SetActivePolicy(ctx, 1, 0); err == nil {
					created.Store(i, true)
				} else if !errors.Is(err, apperr.ErrConflict) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := count(&inserted); n != 1 {
			t.Fatalf("%d concurrent inserts of version 1 succeeded", n)
		}
		if n := count(&created); n != 1 {
			t.Fatalf("%d concurrent pointer creations succeeded", n)
		}
	})
}

func count(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}
