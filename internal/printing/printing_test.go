package printing_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"html"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/printing"
)

const (
	caseID   = "0123456789abcdef0123456789abcdef"
	issuer   = "11350100MB00000025"
	typeCode = "11350100MB00000025001"
	holderNm = "示例个人丁"
	holderCd = "110101199003078515"
)

var (
	licID   = certificate.ID{TypeCode: typeCode, IssuerCode: issuer, Serial: "20260000001", Version: 1}.String()
	otherID = certificate.ID{TypeCode: typeCode, IssuerCode: issuer, Serial: "20260000002", Version: 1}.String()
)

type fakeLicences struct {
	certs map[string]certificate.Certificate
	err   error
}

func (f *fakeLicences) Get(_ context.Context, id string) (certificate.View, error) {
	if f.err != nil {
		return certificate.View{}, f.err
	}
	c, ok := f.certs[id]
	if !ok {
		return certificate.View{}, apperr.NotFoundf("licence %s not found", id)
	}
	return certificate.NewView(c, nil, "holder"), nil
}

type fakeCases struct {
	cases map[string]cases.Case
	certs []certificate.Certificate
}

func (f *fakeCases) Get(_ context.Context, id string) (cases.Case, error) {
	c, ok := f.cases[id]
	if !ok {
		return cases.Case{}, apperr.NotFoundf("case %s not found", id)
	}
	return c, nil
}

func (f *fakeCases) Certificates(_ context.Context, c *cases.Case) ([]certificate.View, error) {
	out := make([]certificate.View, 0, len(f.certs))
	for _, lc := range f.certs {
		out = append(out, certificate.ThroughCase(lc, []string{"idNumber"}, c.ID, c.MatterCode))
	}
	return out, nil
}

type fakeTypes struct{}

func (fakeTypes) LookupType(_ context.Context, code string) (catalogue.CertificateType, error) {
	if code != typeCode {
		return catalogue.CertificateType{}, apperr.NotFoundf("type %s not found", code)
	}
	return catalogue.CertificateType{Code: code, Name: "测试许可证", IssuerCode: issuer, Fields: []catalogue.TemplateField{
		{Name: "name", Label: "姓名", Type: catalogue.FieldString},
		{Name: "idNumber", Label: "身份证号码", Type: catalogue.FieldString, Sensitive: true},
		{Name: "scope", Label: "经营范围", Type: catalogue.FieldString},
		{Name: "capital", Label: "注册资本", Type: catalogue.FieldNumber},
	}}, nil
}

type fakeUnits struct{}

func (fakeUnits) LookupUnit(_ context.Context, code string) (catalogue.Unit, error) {
	return catalogue.Unit{Code: code, Name: "某市市场监督管理局"}, nil
}

func licence() certificate.Certificate {
	until := time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC)
	return certificate.Certificate{
		ID: licID, TypeCode: typeCode, IssuerCode: issuer, Version: 1, Current: true,
		Holder: certificate.Holder{Code: holderCd, Name: holderNm, Kind: certificate.Person},
		State:  certificate.Valid,
		Data: map[string]any{
			"name": holderNm, "idNumber": "SECRET-ID-4711", "scope": "<script>alert(1)</script>", "capital": 1000000.0,
		},
		ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), ValidUntil: &until,
		IssuedAt: time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC),
		Seal: certificate.Seal{Algorithm: "SM2-SM3", Signature: "MEUCIQDsig+/signature==", KeyID: "key-1",
			SealedAt: time.Date(2024, 1, 1, 8, 0, 1, 0, time.UTC)},
	}
}

const testCode = "7KQ2-M9XD-4TRB"

func verifyURL(id, code string) string {
	u := "https://certd.example/verify?id=" + url.QueryEscape(id)
	if code != "" {
		u += "&code=" + code
	}
	return u
}

type env struct {
	deps      printing.Deps
	licences  *fakeLicences
	commitErr error
	commits   int
}

func newEnv() *env {
	e := &env{licences: &fakeLicences{certs: map[string]certificate.Certificate{licID: licence()}}}
	e.deps = printing.Deps{
		Licences: e.licences,
		Cases: &fakeCases{
			cases: map[string]cases.Case{caseID: {ID: caseID, UnitCode: "UNIT", MatterCode: "M1",
				Holder: certificate.Holder{Code: holderCd, Name: holderNm}}},
			certs: []certificate.Certificate{licence()},
		},
		Types:     fakeTypes{},
		Units:     fakeUnits{},
		VerifyURL: verifyURL,
		// As the policy decides: the code for readers outside a case
		// (holder, issuer), none for staff reading through one.
		Code: func(_ context.Context, c *certificate.View) *string {
			if c.CaseID != "" {
				return nil
			}
			code := testCode
			return &code
		},
		Commit: func(context.Context) error {
			e.commits++
			return e.commitErr
		},
		Today:  func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) },
		Logger: slog.New(slog.DiscardHandler),
	}
	return e
}

func (e *env) get(t *testing.T, target string) (*httptest.ResponseRecorder, *audit.Trail) {
	t.Helper()
	trail := audit.NewTrail(audit.Record{Subject: "u1"}, nil)
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req = req.WithContext(audit.WithTrail(req.Context(), trail))
	rec := httptest.NewRecorder()
	printing.Handler(e.deps).ServeHTTP(rec, req)
	return rec, trail
}

func fields(trail *audit.Trail) []string {
	var out []string
	for _, r := range trail.Records(time.Now()) {
		if r.Action == "certificate.read" {
			out = append(out, r.Fields...)
		}
	}
	return out
}

func checkHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := rec.Header()
	if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "img-src data:", "style-src 'unsafe-inline'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
}

var qrRe = regexp.MustCompile(`src="data:image/png;base64,([A-Za-z0-9+/=]+)"`)

func TestPrintReadableLicence(t *testing.T) {
	e := newEnv()
	rec, trail := e.get(t, "/print/"+licID)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	checkHeaders(t, rec)
	body := html.UnescapeString(rec.Body.String()) // html/template writes + as &#43;
	for _, want := range []string{
		licID, holderNm, holderCd, "测试许可证", "某市市场监督管理局", "姓名", "经营范围", "注册资本", "1000000",
		"身份证号码", "SECRET-ID-4711", "MEUCIQDsig+/signature==", "SM2-SM3", "key-1",
		"data:image/png;base64,", verifyURL(licID, testCode), "核验码", testCode,
		"2024-01-01", "2030-12-31", "打印时间", "@page",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "NOT CITABLE") {
		t.Error("a citable licence has the NOT CITABLE banner")
	}
	// Template order.
	if i, j := strings.Index(body, "姓名"), strings.Index(body, "经营范围"); i < 0 || j < i {
		t.Error("fields not in template order")
	}
	if e.commits != 1 {
		t.Errorf("commits = %d, want 1", e.commits)
	}

	got := fields(trail)
	for _, want := range []string{"print", "data.name", "data.idNumber", "data.scope", "data.capital",
		"holder.name", "holder.code", "state", "validFrom", "validUntil", "seal.signature", "verificationCode"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit fields %v lack %q", got, want)
		}
	}
	recs := trail.Records(time.Now())
	if len(recs) != 1 || recs[0].CertificateID != licID || recs[0].HolderCode != holderCd || recs[0].IssuerCode != issuer {
		t.Errorf("records = %+v", recs)
	}
}

// qrOf returns the PNG bytes of the page's QR code.
func qrOf(t *testing.T, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	m := qrRe.FindStringSubmatch(html.UnescapeString(rec.Body.String()))
	if m == nil {
		t.Fatal("no data: QR image")
	}
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestPrintQRCodeCarriesIDAndCode compares the QR image with the encoding
// of the expected address (the encoder is deterministic): the holder's or
// issuer's print carries the id and the code; a print through a case,
// whose reader may not have the code, the id alone.
func TestPrintQRCodeCarriesIDAndCode(t *testing.T) {
	e := newEnv()
	rec, _ := e.get(t, "/print/"+licID)
	want, err := qrcode.Encode(verifyURL(licID, testCode), qrcode.Medium, 256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(qrOf(t, rec), want) {
		t.Error("the QR code does not encode the verification address with id and code")
	}
	e.licences.err = apperr.Forbiddenf("staff read licences only through a case")
	rec, _ = e.get(t, "/print/"+licID+"?case="+caseID)
	want, _ = qrcode.Encode(verifyURL(licID, ""), qrcode.Medium, 256)
	if !bytes.Equal(qrOf(t, rec), want) {
		t.Error("the QR code of a print through a case does not encode the address with the id alone")
	}
	if body := rec.Body.String(); strings.Contains(body, testCode) || strings.Contains(body, "核验码 <span") {
		t.Error("a print through a case shows the verification code")
	}
}

func TestPrintQRCodeIsSquarePNG(t *testing.T) {
	rec, _ := newEnv().get(t, "/print/"+licID)
	raw := qrOf(t, rec)
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx() < 100 {
		t.Errorf("QR bounds %v, want square", b)
	}
}

func TestPrintEscapesData(t *testing.T) {
	rec, _ := newEnv().get(t, "/print/"+licID)
	body := rec.Body.String()
	if strings.Contains(body, "<script>") {
		t.Error("a data value was not escaped")
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the escaped value is missing")
	}
}

func TestPrintThroughCaseLeavesHiddenOut(t *testing.T) {
	e := newEnv()
	e.licences.err = apperr.Forbiddenf("staff read licences only through a case")
	rec, trail := e.get(t, "/print/"+licID+"?case="+caseID)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if strings.Contains(body, "SECRET-ID-4711") || strings.Contains(body, "身份证号码") {
		t.Error("a hidden field is printed")
	}
	if !strings.Contains(body, holderNm) || !strings.Contains(body, "经营范围") {
		t.Error("visible fields are missing")
	}
	got := fields(trail)
	if slices.Contains(got, "data.idNumber") {
		t.Errorf("hidden field recorded as read: %v", got)
	}
	if !slices.Contains(got, "data.scope") || !slices.Contains(got, "print") {
		t.Errorf("audit fields %v", got)
	}
	if recs := trail.Records(time.Now()); len(recs) != 1 || recs[0].CaseID != caseID {
		t.Errorf("records = %+v", recs)
	}
}

func TestPrintThroughCaseOtherLicenceForbidden(t *testing.T) {
	e := newEnv()
	rec, trail := e.get(t, "/print/"+otherID+"?case="+caseID)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d", rec.Code)
	}
	recs := trail.Records(time.Now())
	if len(recs) != 1 || recs[0].Decision != audit.Deny || recs[0].CertificateID != otherID {
		t.Errorf("records = %+v, want one denial", recs)
	}
}

// TestPrintBogusIDRefusedBeforeTheLog: text that is not a licence id is
// INVALID_INPUT and reaches no record, with or without a case.
func TestPrintBogusIDRefusedBeforeTheLog(t *testing.T) {
	for _, path := range []string{"/print/READ-BY-SUPERVISOR", "/print/READ-BY-SUPERVISOR?case=" + caseID} {
		rec, trail := newEnv().get(t, path)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		if recs := trail.Records(time.Now()); len(recs) != 0 {
			t.Errorf("%s: records %+v", path, recs)
		}
	}
}

func TestPrintForbidden(t *testing.T) {
	e := newEnv()
	e.licences.err = apperr.Forbiddenf("not yours to read")
	rec, trail := e.get(t, "/print/"+licID)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d", rec.Code)
	}
	checkHeaders(t, rec)
	body := rec.Body.String()
	for _, leak := range []string{holderNm, holderCd, "SECRET-ID-4711", "MEUCIQDsig", "data:image/png"} {
		if strings.Contains(body, leak) {
			t.Errorf("403 page leaks %q", leak)
		}
	}
	if !strings.Contains(body, "FORBIDDEN") {
		t.Error("403 page lacks the code")
	}
	if len(fields(trail)) != 0 {
		t.Error("reads recorded for a refused print")
	}
}

func TestPrintErrorStatuses(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{apperr.New(apperr.Unauthenticated, "authentication required"), http.StatusUnauthorized},
		{apperr.NotFoundf("licence not found"), http.StatusNotFound},
		{apperr.Invalid("bad id"), http.StatusBadRequest},
		{errors.New("db exploded: password=hunter2"), http.StatusInternalServerError},
	} {
		e := newEnv()
		e.licences.err = tc.err
		rec, _ := e.get(t, "/print/"+licID)
		if rec.Code != tc.want {
			t.Errorf("%v: status %d, want %d", tc.err, rec.Code, tc.want)
		}
		if strings.Contains(rec.Body.String(), "hunter2") {
			t.Error("internal error detail leaked")
		}
	}
}

func TestPrintCommitFails(t *testing.T) {
	e := newEnv()
	e.commitErr = errors.New("audit store down")
	rec, _ := e.get(t, "/print/"+licID)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "audit log unavailable; nothing printed") {
		t.Errorf("body lacks the message: %s", body)
	}
	for _, leak := range []string{holderNm, holderCd, "SECRET-ID-4711", "MEUCIQDsig", "data:image/png", "audit store down"} {
		if strings.Contains(body, leak) {
			t.Errorf("503 page leaks %q", leak)
		}
	}
}

func TestPrintNotCitableBanner(t *testing.T) {
	e := newEnv()
	lc := licence()
	lc.State = certificate.Revoked
	e.licences.certs[licID] = lc
	rec, _ := e.get(t, "/print/"+licID)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "不可引用 / NOT CITABLE") {
		t.Error("no NOT CITABLE banner for a revoked licence")
	}
}

func TestPrintOnlyGet(t *testing.T) {
	e := newEnv()
	req := httptest.NewRequest(http.MethodPost, "/print/"+licID, nil)
	rec := httptest.NewRecorder()
	printing.Handler(e.deps).ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST status %d", rec.Code)
	}
}
