package app_test

import (
	"strings"
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// TestShortChineseTextsAreAccepted: a bulk-analysis purpose and an
// objection that say what they need to in a few Chinese characters are
// accepted; empty, blank and punctuation-only texts are refused with the
// rule in the message.
func TestShortChineseTextsAreAccepted(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	analyst := s.Token("a1", demo.ServiceCentre, identity.RoleAnalyst)
	owner := s.TokenFor(identity.TokenRequest{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})

	purpose := func(p string) *testkit.Response {
		return s.Do(analyst, submitQ, map[string]any{"in": map[string]any{"purpose": p, "groupBy": []string{"TYPE"}, "validDays": 7, "maxRuns": 1}})
	}
	var sub struct{ SubmitBulkAnalysis struct{ ID, State string } }
	purpose("按证照类型统计").Decode(t, &sub)
	if sub.SubmitBulkAnalysis.State != "PENDING" {
		t.Fatalf("按证照类型统计: %+v", sub)
	}

	var mine struct {
		Me struct{ Certificates []struct{ ID string } }
	}
	s.Do(owner, `{ me { certificates { id } } }`, nil).Decode(t, &mine)
	if len(mine.Me.Certificates) == 0 {
		t.Fatal("the demo holder has no licence")
	}
	lic := mine.Me.Certificates[0].ID
	object := func(d string) *testkit.Response {
		return s.Do(owner, `mutation($c: ID!, $d: String!) { fileObjection(certificateId: $c, fields: ["holder.name"], description: $d) { id description } }`,
			map[string]any{"c": lic, "d": d})
	}
	var filed struct {
		FileObjection struct{ ID, Description string }
	}
	object("住所有误").Decode(t, &filed)
	if filed.FileObjection.Description != "住所有误" {
		t.Fatalf("住所有误: %+v", filed)
	}

	for _, bad := range []string{"", "   ", "。。。。。。。。", "...........", "？！"} {
		r := purpose(bad)
		if r.Code() != "INVALID_INPUT" || !strings.Contains(r.Errors[0].Message, "at least 10 letters or digits, or 5 Chinese characters") {
			t.Errorf("purpose %q: %+v", bad, r.Errors)
		}
		r = object(bad)
		if r.Code() != "INVALID_INPUT" || !strings.Contains(r.Errors[0].Message, "at least 5 letters or digits, or 3 Chinese characters") {
			t.Errorf("objection %q: %+v", bad, r.Errors)
		}
	}
}
