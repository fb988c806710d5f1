package app_test

import (
	"strings"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

const submitQ = `mutation($in: BulkAnalysisInput!) { submitBulkAnalysis(input: $in) { id state runsLeft requestedBy } }`

const runQ = `mutation($id: ID!) { runBulkAnalysis(id: $id) { requestId rows { key count } suppressedGroups k } }`

// TestBulkAnalysisNeedsApproval walks 第十三条 from the outside.
func TestBulkAnalysisNeedsApproval(t *testing.T) {
	now := time.Now()
	var clockMu = make(chan struct{}, 1)
	clockMu <- struct{}{}
	clock := func() time.Time { <-clockMu; defer func() { clockMu <- struct{}{} }(); return now }
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.Now = clock }))
	seedLicences(t, s, 12) // 12 more food licences: 13 in all

	analyst := s.Token("a1", demo.ServiceCentre, identity.RoleAnalyst)
	office := s.Token("o1", demo.DigitalOffice, identity.RoleDigitalOffice)
	both := s.Token("x1", demo.DigitalOffice, identity.RoleAnalyst, identity.RoleDigitalOffice)
	in := map[string]any{"purpose": "统计各类证照的发放数量，用于年度评估", "groupBy": []string{"TYPE"}, "validDays": 7, "maxRuns": 2}

	var sub struct {
		SubmitBulkAnalysis struct {
			ID, State string
			RunsLeft  int
		}
	}
	s.Do(analyst, submitQ, map[string]any{"in": in}).Decode(t, &sub)
	req := sub.SubmitBulkAnalysis
	if req.State != "PENDING" || req.RunsLeft != 2 {
		t.Fatalf("submitted %+v", req)
	}
	// Nothing runs before approval, and nobody else runs it.
	if r := s.Do(analyst, runQ, map[string]any{"id": req.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a run before approval: %+v", r.Errors)
	}
	if r := s.Do(analyst, `mutation($id: ID!) { approveBulkAnalysis(id: $id) { state } }`, map[string]any{"id": req.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("an analyst approving: %+v", r.Errors)
	}
	// Approval by the requester themself is refused.
	var own struct{ SubmitBulkAnalysis struct{ ID string } }
	s.Do(both, submitQ, map[string]any{"in": in}).Decode(t, &own)
	r := s.Do(both, `mutation($id: ID!) { approveBulkAnalysis(id: $id, comment: "ok") { state } }`, map[string]any{"id": own.SubmitBulkAnalysis.ID})
	if r.Code() != "FORBIDDEN" || !strings.Contains(strings.Join(detailsOf(r), ";")+r.Errors[0].Message, "requester") {
		t.Fatalf("approving one's own request: %+v", r.Errors)
	}
	var ap struct {
		ApproveBulkAnalysis struct {
			State      string
			ValidUntil *string
			DecidedBy  *string
		}
	}
	s.Do(office, `mutation($id: ID!) { approveBulkAnalysis(id: $id, comment: "同意") { state validUntil decidedBy } }`, map[string]any{"id": req.ID}).Decode(t, &ap)
	if ap.ApproveBulkAnalysis.State != "APPROVED" || ap.ApproveBulkAnalysis.ValidUntil == nil || *ap.ApproveBulkAnalysis.DecidedBy != "o1" {
		t.Fatalf("approved %+v", ap)
	}
	if r := s.Do(s.Token("a2", demo.ServiceCentre, identity.RoleAnalyst), runQ, map[string]any{"id": req.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("another analyst running the request: %+v", r.Errors)
	}

	// An approved run: counts only, small groups suppressed.
	var run struct {
		RunBulkAnalysis struct {
			RequestID string
			Rows      []struct {
				Key   map[string]any
				Count int
			}
			SuppressedGroups int
			K                int
		}
	}
	s.Do(analyst, runQ, map[string]any{"id": req.ID}).Decode(t, &run)
	res := run.RunBulkAnalysis
	if res.K != 5 || len(res.Rows) != 1 || res.Rows[0].Key["TYPE"] != demo.FoodLicence || res.Rows[0].Count != 13 || res.SuppressedGroups != 3 {
		t.Fatalf("result %+v", res)
	}

	// The run is in the audit log.
	found := false
	for _, rec := range accessRecords(t, s, office, map[string]any{"org": demo.ServiceCentre}) {
		if rec.Action == "bulk.run" && rec.Subject == "a1" && rec.Reason != nil && strings.Contains(*rec.Reason, "1 groups, 3 suppressed") {
			found = true
		}
	}
	if !found {
		t.Fatal("the run is not in the audit log")
	}

	// Exhausted after maxRuns.
	s.Do(analyst, runQ, map[string]any{"id": req.ID}).Decode(t, &run)
	if r := s.Do(analyst, runQ, map[string]any{"id": req.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a third run of two: %+v", r.Errors)
	}
	var list struct {
		BulkAnalysisRequests []struct{ ID, State string }
	}
	s.Do(office, `{ bulkAnalysisRequests(state: EXHAUSTED) { id state } }`, nil).Decode(t, &list)
	if len(list.BulkAnalysisRequests) != 1 || list.BulkAnalysisRequests[0].ID != req.ID {
		t.Fatalf("exhausted requests %+v", list.BulkAnalysisRequests)
	}

	// Expired after validDays.
	var sub2 struct{ SubmitBulkAnalysis struct{ ID string } }
	s.Do(analyst, submitQ, map[string]any{"in": in}).Decode(t, &sub2)
	s.Do(office, `mutation($id: ID!) { approveBulkAnalysis(id: $id) { state } }`, map[string]any{"id": sub2.SubmitBulkAnalysis.ID}).Decode(t, &ap)
	<-clockMu
	now = now.Add(8 * 24 * time.Hour)
	clockMu <- struct{}{}
	if r := s.Do(analyst, runQ, map[string]any{"id": sub2.SubmitBulkAnalysis.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a run after validUntil: %+v", r.Errors)
	}
	s.Do(office, `{ bulkAnalysisRequests(state: EXPIRED) { id state } }`, nil).Decode(t, &list)
	if len(list.BulkAnalysisRequests) != 1 || list.BulkAnalysisRequests[0].ID != sub2.SubmitBulkAnalysis.ID {
		t.Fatalf("expired requests %+v", list.BulkAnalysisRequests)
	}
	// Rejection needs a reason and ends the request.
	var sub3 struct{ SubmitBulkAnalysis struct{ ID string } }
	s.Do(analyst, submitQ, map[string]any{"in": in}).Decode(t, &sub3)
	var rej struct {
		RejectBulkAnalysis struct{ State, Comment string }
	}
	s.Do(office, `mutation($id: ID!) { rejectBulkAnalysis(id: $id, reason: "用途不明确") { state comment } }`, map[string]any{"id": sub3.SubmitBulkAnalysis.ID}).Decode(t, &rej)
	if rej.RejectBulkAnalysis.State != "REJECTED" || rej.RejectBulkAnalysis.Comment != "用途不明确" {
		t.Fatalf("rejected %+v", rej)
	}
	if r := s.Do(analyst, runQ, map[string]any{"id": sub3.SubmitBulkAnalysis.ID}); r.Code() != "FORBIDDEN" {
		t.Fatalf("running a rejected request: %+v", r.Errors)
	}
	// Bad input.
	bad := map[string]any{"purpose": "x", "groupBy": []string{"TYPE"}, "validDays": 7, "maxRuns": 2}
	if r := s.Do(analyst, submitQ, map[string]any{"in": bad}); r.Code() != "INVALID_INPUT" {
		t.Fatalf("a one-letter purpose: %+v", r.Errors)
	}
}

func detailsOf(r *testkit.Response) []string {
	var out []string
	if len(r.Errors) > 0 {
		if ds, ok := r.Errors[0].Extensions["details"].([]any); ok {
			for _, d := range ds {
				if s, ok := d.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
