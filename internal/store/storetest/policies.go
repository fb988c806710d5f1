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
		State:       policyadmin.Proposed,
		BasedOn:     n - 1,
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
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("got %+v, want %+v", got, v)
		}
		// Every field of a decided version, as given.
		at, rat := time.Date(2026, 3, 1, 9, 0, 0, 789e6, time.UTC), time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		full := policyVersion(5)
		full.State, full.RollbackOf, full.ApprovedBy, full.ApprovedAt = policyadmin.Superseded, 2, "复核人", &at
		full.RejectedBy, full.RejectedAt, full.RejectReason = "x", &rat, "理由 \"quoted\"\n第二行"
		must(t, r.InsertPolicy(ctx, full))
		if got, err := r.PolicyVersion(ctx, 5); err != nil || !reflect.DeepEqual(got, full) {
			t.Fatalf("got %+v, %v; want %+v", got, err, full)
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
		for n := 1; n <= 3; n++ {
			must(t, r.InsertPolicy(ctx, proposal(n, n-1)))
		}
		if err := r.ActivatePolicy(ctx, approval(7), 0); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("pointer to an unknown version: %v", err)
		}
		if err := r.ActivatePolicy(ctx, approval(1), 3); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("move of a pointer that does not exist: %v", err)
		}
		must(t, r.ActivatePolicy(ctx, approval(1), 0))
		if v, rev, err := r.ActivePolicy(ctx); err != nil || v != 1 || rev != 1 {
			t.Fatalf("after create: version %d rev %d, %v", v, rev, err)
		}
		if err := r.ActivatePolicy(ctx, approval(2), 0); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("create twice: %v", err)
		}
		must(t, r.ActivatePolicy(ctx, approval(2), 1))
		if v, rev, err := r.ActivePolicy(ctx); err != nil || v != 2 || rev != 2 {
			t.Fatalf("after move: version %d rev %d, %v", v, rev, err)
		}
		if err := r.ActivatePolicy(ctx, approval(3), 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("move from a stale rev: %v", err)
		}
		if err := r.ActivatePolicy(ctx, approval(3), 5); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("move from a rev ahead of the pointer: %v", err)
		}
		if err := r.ActivatePolicy(ctx, approval(9), 2); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("move to an unknown version: %v", err)
		}
		if err := r.ActivatePolicy(ctx, approval(1), 2); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("a superseded version activated again: %v", err)
		}
		if v, rev, err := r.ActivePolicy(ctx); err != nil || v != 2 || rev != 2 {
			t.Fatalf("refused moves moved the pointer: version %d rev %d, %v", v, rev, err)
		}
		must(t, r.ActivatePolicy(ctx, approval(3), 2))
		if v, rev, err := r.ActivePolicy(ctx); err != nil || v != 3 || rev != 3 {
			t.Fatalf("after the second move: version %d rev %d, %v", v, rev, err)
		}
	})

	t.Run("States", func(t *testing.T) {
		r := open(t)
		must(t, r.InsertPolicy(ctx, proposal(1, 0)))
		must(t, r.ActivatePolicy(ctx, approval(1), 0))
		must(t, r.InsertPolicy(ctx, proposal(2, 1)))
		must(t, r.InsertPolicy(ctx, proposal(3, 1)))
		rb := proposal(4, 1)
		rb.RollbackOf = 1
		must(t, r.InsertPolicy(ctx, rb))
		checkState(t, r, 2, policyadmin.Proposed, "", "")
		if got, _ := r.PolicyVersion(ctx, 4); got.BasedOn != 1 || got.RollbackOf != 1 {
			t.Fatalf("rollback proposal stored as %+v", got)
		}

		// Approve 2: active with its approver and time; 1 superseded.
		a := approval(2)
		must(t, r.ActivatePolicy(ctx, a, 1))
		got := checkState(t, r, 2, policyadmin.Active, a.By, "")
		if got.ApprovedAt == nil || !got.ApprovedAt.Equal(a.At) {
			t.Fatalf("approval time %v, want %v", got.ApprovedAt, a.At)
		}
		checkState(t, r, 1, policyadmin.Superseded, policyadmin.SystemAuthor, "")

		// Reject 3: final, with who, when and why.
		rj := policyadmin.Verdict{Version: 3, By: "policy-admin-3", At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Reason: "放宽过多：驳回"}
		must(t, r.RejectPolicy(ctx, rj))
		got = checkState(t, r, 3, policyadmin.Rejected, "", rj.By)
		if got.RejectReason != rj.Reason || got.RejectedAt == nil || !got.RejectedAt.Equal(rj.At) {
			t.Fatalf("rejection stored as %+v", got)
		}
		if err := r.RejectPolicy(ctx, rj); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("a rejected version rejected again: %v", err)
		}
		if err := r.ActivatePolicy(ctx, approval(3), 2); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("a rejected version approved: %v", err)
		}
		if err := r.RejectPolicy(ctx, policyadmin.Verdict{Version: 2, By: "x", At: rj.At, Reason: "r"}); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("the active version rejected: %v", err)
		}
		if err := r.RejectPolicy(ctx, policyadmin.Verdict{Version: 99, By: "x", At: rj.At, Reason: "r"}); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("an unknown version rejected: %v", err)
		}
		checkState(t, r, 2, policyadmin.Active, a.By, "")

		// Approve the rollback 4 (based on 1, but the caller decides that):
		// 2 superseded, 4 active.
		must(t, r.ActivatePolicy(ctx, approval(4), 2))
		checkState(t, r, 2, policyadmin.Superseded, a.By, "")
		checkState(t, r, 4, policyadmin.Active, approval(4).By, "")
		all, err := r.PolicyVersions(ctx)
		must(t, err)
		var states []policyadmin.State
		for _, v := range all {
			states = append(states, v.State)
		}
		want := []policyadmin.State{policyadmin.Superseded, policyadmin.Superseded, policyadmin.Rejected, policyadmin.Active}
		if !reflect.DeepEqual(states, want) {
			t.Fatalf("listed states %v, want %v", states, want)
		}
	})

	t.Run("ConcurrentApprovals", func(t *testing.T) {
		r := open(t)
		must(t, r.InsertPolicy(ctx, proposal(1, 0)))
		must(t, r.ActivatePolicy(ctx, approval(1), 0))
		for n := 2; n <= 9; n++ {
			must(t, r.InsertPolicy(ctx, proposal(n, 1)))
		}
		// Eight proposals based on version 1 approved at once: one wins.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = r.ActivatePolicy(ctx, approval(i+2), 1) })
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
		all, err := r.PolicyVersions(ctx)
		must(t, err)
		for _, v := range all {
			want := policyadmin.Proposed
			switch v.Version {
			case 1:
				want = policyadmin.Superseded
			case winner:
				want = policyadmin.Active
			}
			if v.State != want || (v.State == policyadmin.Proposed) != (v.ApprovedBy == "") {
				t.Errorf("after the race version %d is %s approved by %q, want %s", v.Version, v.State, v.ApprovedBy, want)
			}
		}
	})

	t.Run("RacingApprovalsOfOneProposal", func(t *testing.T) {
		r := open(t)
		must(t, r.InsertPolicy(ctx, proposal(1, 0)))
		must(t, r.ActivatePolicy(ctx, approval(1), 0))
		must(t, r.InsertPolicy(ctx, proposal(2, 1)))
		// Two admins approve version 2 while two others reject it: one
		// decision wins, and the version's state and the pointer agree.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		by := []string{"admin-b", "admin-c", "admin-d", "admin-e"}
		at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
		for i := range errs {
			wg.Go(func() {
				if i < 2 {
					errs[i] = r.ActivatePolicy(ctx, policyadmin.Verdict{Version: 2, By: by[i], At: at}, 1)
				} else {
					errs[i] = r.RejectPolicy(ctx, policyadmin.Verdict{Version: 2, By: by[i], At: at, Reason: "no"})
				}
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("%s and %s both decided version 2", by[won], by[i])
				}
				won = i
			case !errors.Is(err, apperr.ErrConflict):
				t.Fatalf("%s: %v, want CONFLICT", by[i], err)
			}
		}
		if won < 0 {
			t.Fatal("nobody decided version 2")
		}
		active, _, err := r.ActivePolicy(ctx)
		must(t, err)
		if won < 2 {
			checkState(t, r, 2, policyadmin.Active, by[won], "")
			if active != 2 {
				t.Fatalf("approved by %s, but the pointer names %d", by[won], active)
			}
		} else {
			checkState(t, r, 2, policyadmin.Rejected, "", by[won])
			if active != 1 {
				t.Fatalf("rejected by %s, but the pointer names %d", by[won], active)
			}
		}
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		r := open(t)
		var wg sync.WaitGroup
		var inserted, created sync.Map
		for i := range 4 {
			wg.Go(func() {
				if err := r.InsertPolicy(ctx, proposal(1, 0)); err == nil {
					inserted.Store(i, true)
				} else if !errors.Is(err, apperr.ErrConflict) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i := range 4 {
			wg.Go(func() {
				if err := r.ActivatePolicy(ctx, approval(1), 0); err == nil {
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

// proposal is policyVersion(n) as a proposal based on version base.
func proposal(n, base int) policyadmin.Version {
	v := policyVersion(n)
	v.State, v.BasedOn = policyadmin.Proposed, base
	return v
}

// approval is the approval of version n by policy-admin-2 (version 1 by
// the system), at a time of its own.
func approval(n int) policyadmin.Verdict {
	by := "policy-admin-2"
	if n == 1 {
		by = policyadmin.SystemAuthor
	}
	return policyadmin.Verdict{Version: n, By: by, At: time.Date(2026, 3, 1, 12, 0, n, 456e6, time.UTC)}
}

// checkState reads version n and fails unless it is in state, approved by
// approvedBy and rejected by rejectedBy.
func checkState(t *testing.T, r policyadmin.Repository, n int, state policyadmin.State, approvedBy, rejectedBy string) policyadmin.Version {
	t.Helper()
	v, err := r.PolicyVersion(context.Background(), n)
	must(t, err)
	if v.State != state || v.ApprovedBy != approvedBy || v.RejectedBy != rejectedBy {
		t.Fatalf("version %d is %s, approved by %q, rejected by %q; want %s, %q, %q", n, v.State, v.ApprovedBy, v.RejectedBy, state, approvedBy, rejectedBy)
	}
	if (v.ApprovedAt != nil) != (approvedBy != "") || (v.RejectedAt != nil) != (rejectedBy != "") {
		t.Fatalf("version %d: approval time %v, rejection time %v", n, v.ApprovedAt, v.RejectedAt)
	}
	return v
}

func count(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}
