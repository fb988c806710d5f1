package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

func get(t *testing.T, s *testkit.Server, tok, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPrintAndVerifyPage(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	owner := s.TokenFor(identity.TokenRequest{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	c := openCase(t, s, staff, "PR-1", "91350100MA0000001P", "350100-SP-0001")
	var got struct {
		Case struct{ Certificates []struct{ ID string } }
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID}).Decode(t, &got)
	lic := got.Case.Certificates[0].ID

	code, page := get(t, s, owner, "/print/"+url.PathEscape(lic))
	if code != 200 || !strings.Contains(page, lic) || !strings.Contains(page, "data:image/png;base64,") || !strings.Contains(page, "350102198001010011") {
		t.Fatalf("the holder's print: %d\n%.300s", code, page)
	}
	if code, page := get(t, s, staff, "/print/"+url.PathEscape(lic)); code != 403 || strings.Contains(page, "福州示例餐饮") {
		t.Fatalf("staff printing outside a case: %d", code)
	}
	code, page = get(t, s, staff, "/print/"+url.PathEscape(lic)+"?case="+c.ID)
	if code != 200 || strings.Contains(page, "350102198001010011") {
		t.Fatalf("staff printing through the case (the sensitive ID must not show): %d", code)
	}
	if code, _ := get(t, s, "", "/print/"+url.PathEscape(lic)); code != 401 {
		t.Fatalf("printing without a token: %d", code)
	}
	office := s.Token("o", demo.DigitalOffice, identity.RoleDigitalOffice)
	printed := 0
	for _, r := range accessRecords(t, s, office, map[string]any{"certificateId": lic}) {
		for _, f := range r.Fields {
			if f == "print" {
				printed++
			}
		}
	}
	if printed != 2 {
		t.Fatalf("%d print records, want 2", printed)
	}
	// The QR code's address answers anyone.
	code, body := get(t, s, "", "/verify?id="+url.QueryEscape(lic))
	var v struct {
		Found, Citable, SealValid bool
		State                     string
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || code != 200 || !v.Citable || !v.SealValid || v.State != "VALID" {
		t.Fatalf("verify page: %d %s", code, body)
	}
}
