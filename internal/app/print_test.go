package app_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"certd/internal/app"
	"certd/internal/certificate"
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
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.PublicURL = "https://certd.city.example/" }))
	owner := s.TokenFor(identity.TokenRequest{Subject: "co", Roles: []string{identity.RoleHolder}, Holder: "91350100MA0000001P", AMR: []string{"pwd"}, TTL: time.Hour})
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	c := openCase(t, s, staff, "PR-1", "91350100MA0000001P", "350100-SP-0001")
	var got struct {
		Case struct{ Certificates []struct{ ID string } }
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": c.ID}).Decode(t, &got)
	lic := got.Case.Certificates[0].ID

	code, page := get(t, s, owner, "/print/"+url.PathEscape(lic))
	holderPage := page
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
	// The page's verification address, also in its QR code, is under the
	// configured public URL whatever Host the request named, and carries
	// the code: it answers anyone.
	link := verifyLinkRe.FindStringSubmatch(html.UnescapeString(holderPage))
	if link == nil {
		t.Fatalf("the holder's print carries no verification link with a code:\n%s", page)
	}
	u, err := url.Parse(link[0])
	if err != nil || u.Scheme+"://"+u.Host != "https://certd.city.example" || u.Query().Get("id") != lic || u.Query().Get("code") == "" {
		t.Fatalf("verification link %q", link[0])
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/print/"+url.PathEscape(lic), nil)
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer "+owner)
	req.Header.Set("X-Forwarded-Proto", "http")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(forged), "evil.example") || !strings.Contains(html.UnescapeString(string(forged)), link[0]) {
		t.Fatalf("the Host header changed the printed verification link")
	}
	code, body := get(t, s, "", u.RequestURI())
	var v struct {
		Found, Citable, SealValid bool
		State                     string
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || code != 200 || !v.Found || !v.Citable || !v.SealValid || v.State != "VALID" {
		t.Fatalf("verify page: %d %s", code, body)
	}
	// Without the code: the same answer as for an id that names nothing.
	other := otherVersion(t, lic, 9)
	_, without := get(t, s, "", "/verify?id="+url.QueryEscape(lic))
	_, unknown := get(t, s, "", "/verify?id="+url.QueryEscape(other))
	if strings.Contains(without, `"found":true`) || strings.ReplaceAll(without, lic, "ID") != strings.ReplaceAll(unknown, other, "ID") {
		t.Fatalf("without the code:\n%s\nan unknown id:\n%s", without, unknown)
	}
	// A browser scanning the QR code gets a page.
	req, _ = http.NewRequest(http.MethodGet, s.URL+u.RequestURI(), nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	htmlPage, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(htmlPage), "可以引用") {
		t.Fatalf("verify page for a browser: %s\n%s", ct, htmlPage)
	}

	// Staff printing through the case get no code (the policy gives it
	// to the holder and the issuer only).
	_, staffPage := get(t, s, staff, "/print/"+url.PathEscape(lic)+"?case="+c.ID)
	if verifyLinkRe.MatchString(html.UnescapeString(staffPage)) || strings.Contains(staffPage, u.Query().Get("code")) {
		t.Fatal("a print through a case carries the verification code")
	}
}

// otherVersion is the identifier of version v of licence id's lineage,
// with its check character: well-formed, and naming nothing stored.
func otherVersion(t *testing.T, id string, v int) string {
	t.Helper()
	p, err := certificate.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	p.Version = v
	return p.String()
}

var verifyLinkRe = regexp.MustCompile(`https?://[^\s"<]+/verify\?[^\s"<]*code=[0-9A-Z-]+[^\s"<]*`)
