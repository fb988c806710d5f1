// Package printing renders a licence as a printable HTML page for paper
// archives (第十六条: 如确有纸质存档需求的，证照签发、应用单位可打印电子证照
// 作为纸质存档材料): the licence's fields with their template labels, its
// seal and a QR code pointing to its public verification.
//
// A print is a read: it is authorized by the licence service (holders
// their own, issuers their unit's) or, for staff, through an open case
// (?case=<caseID>, hidden fields left out), and every field printed is
// recorded in the request's audit trail. Nothing is written to the client
// before Deps.Commit has stored the trail.
package printing

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
)

// Licences reads one licence version for the caller, authorizing the read
// (certificate.Service).
type Licences interface {
	Get(ctx context.Context, id string) (certificate.View, error)
}

// Cases reads a case of the caller's unit and the licences the caller may
// read through it, as the caller may see them (cases.Service).
type Cases interface {
	Get(ctx context.Context, id string) (cases.Case, error)
	Certificates(ctx context.Context, c *cases.Case) ([]certificate.View, error)
}

// Types looks certificate types up in the catalogue.
type Types interface {
	LookupType(ctx context.Context, code string) (catalogue.CertificateType, error)
}

// Units looks units up in the catalogue.
type Units interface {
	LookupUnit(ctx context.Context, code string) (catalogue.Unit, error)
}

// Deps is what the print handler needs from the app.
type Deps struct {
	Licences Licences
	Cases    Cases
	Types    Types
	Units    Units
	// VerifyURL returns the absolute URL of the public verification of
	// licence id with its verification code (none when code is empty),
	// e.g. https://host/verify?id=...&code=...; the QR code encodes it. It
	// is built from the configured public address, never from the
	// request.
	VerifyURL func(id, code string) string
	// Code returns the verification code of the licence for the caller,
	// or nil when the caller may not have it (licence.VerificationCode);
	// nil Code prints none.
	Code func(ctx context.Context, v *certificate.View) *string
	// Commit stores the request's audit records; only when it returns nil
	// is the page (or an error page) sent.
	Commit func(ctx context.Context) error
	// Today is the current date as the licence service counts it
	// (midnight UTC of the city's date); it decides the NOT CITABLE
	// banner. Nil means today's UTC date.
	Today func() time.Time
	// Now is the clock of the "printed at" line; nil means time.Now.
	Now func() time.Time
	// Loc is the time zone timestamps are printed in; nil means time.Local.
	Loc *time.Location
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
}

// Pattern is the route the handler serves. Mount the handler on a path
// that reaches it unchanged (no StripPrefix), e.g. mux.Handle(Pattern, h)
// or mux.Handle("/print/", h).
const Pattern = "GET /print/{id}"

// AuditUnavailableMessage is the body message when the audit records
// cannot be stored.
const AuditUnavailableMessage = "audit log unavailable; nothing printed"

// Handler serves GET /print/{id}[?case=<caseID>] as a printable HTML page.
func Handler(d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Pattern, &handler{d: d})
	return mux
}

type handler struct{ d Deps }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	trail := audit.TrailFrom(ctx)
	trail.SetOperation("print certificate")

	id := r.PathValue("id")
	p, ref, err := h.load(ctx, r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var body bytes.Buffer
	if err := pageTmpl.Execute(&body, p); err != nil {
		h.fail(w, r, fmt.Errorf("render print page: %w", err))
		return
	}
	// The page is ready; record every field it shows, store the records
	// and only then let it out.
	trail.Show(audit.Read{Ref: ref, Fields: p.audited, Delivered: true})
	if !h.commit(w, r) {
		return
	}
	writeHeaders(w)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
}

// commit stores the trail; on failure it answers 503 without licence data
// and reports false.
func (h *handler) commit(w http.ResponseWriter, r *http.Request) bool {
	var err error
	if h.d.Commit == nil {
		err = errors.New("printing: no Commit configured")
	} else {
		err = h.d.Commit(r.Context())
	}
	if err != nil {
		h.logger().ErrorContext(r.Context(), "print: storing audit records failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, string(apperr.AuditUnavailable), AuditUnavailableMessage)
		return false
	}
	return true
}

// fail answers an error page for err, after storing the trail (which may
// hold the denial).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg, _ := apperr.CodeOf(err)
	status := http.StatusInternalServerError
	switch code {
	case apperr.Unauthenticated:
		status = http.StatusUnauthorized
	case apperr.Forbidden:
		status = http.StatusForbidden
	case apperr.NotFound:
		status = http.StatusNotFound
	case apperr.InvalidInput:
		status = http.StatusBadRequest
	case apperr.AuditUnavailable:
		status = http.StatusServiceUnavailable
		msg = AuditUnavailableMessage
	default:
		code, msg = apperr.Internal, "internal error"
		h.logger().ErrorContext(r.Context(), "print failed", "err", err)
	}
	if !h.commit(w, r) {
		return
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	writeError(w, status, string(code), msg)
}

func (h *handler) logger() *slog.Logger {
	if h.d.Logger != nil {
		return h.d.Logger
	}
	return slog.Default()
}

// load reads the licence as the caller may see it and builds the page.
func (h *handler) load(ctx context.Context, r *http.Request, id string) (*page, audit.Ref, error) {
	if _, err := certificate.ParseID(id); err != nil {
		return nil, audit.Ref{}, err
	}
	q := r.URL.Query()
	if len(q["case"]) > 1 {
		return nil, audit.Ref{}, apperr.Invalid("case must be given at most once")
	}
	var (
		lc  certificate.View
		err error
	)
	if caseID := q.Get("case"); caseID != "" {
		lc, err = h.throughCase(ctx, caseID, id)
	} else {
		if h.d.Licences == nil {
			return nil, audit.Ref{}, errors.New("printing: no Licences configured")
		}
		lc, err = h.d.Licences.Get(ctx, id)
	}
	if err != nil {
		return nil, audit.Ref{}, err
	}
	ref := lc.AuditRef()
	p, err := h.build(ctx, &lc)
	if err != nil {
		return nil, audit.Ref{}, err
	}
	return p, ref, nil
}

// throughCase returns licence id when it is among those the caller may
// read through the case, as the caller may see it.
func (h *handler) throughCase(ctx context.Context, caseID, id string) (certificate.View, error) {
	if h.d.Cases == nil {
		return certificate.View{}, errors.New("printing: no Cases configured")
	}
	c, err := h.d.Cases.Get(ctx, caseID)
	if err != nil {
		return certificate.View{}, err
	}
	certs, err := h.d.Cases.Certificates(ctx, &c)
	if err != nil {
		return certificate.View{}, err
	}
	i := slices.IndexFunc(certs, func(v certificate.View) bool { return v.ID == id })
	if i < 0 {
		return certificate.View{}, audit.Refused(ctx, "case.print",
			audit.Ref{CertificateID: id, CaseID: c.ID, HolderCode: c.Holder.Code, MatterCode: c.MatterCode},
			apperr.Forbiddenf("licence %s is not one this case may cite", id))
	}
	return certs[i], nil
}

// page is what the template shows.
type page struct {
	ID, Version, TypeCode, TypeName, IssuerCode, IssuerName string
	State, StateLabel                                       string
	NotCitable                                              bool
	Reasons                                                 []string
	HolderName, HolderCode, HolderKind                      string
	ValidFrom, ValidUntil, IssuedAt                         string
	Fields                                                  []field
	HiddenCount                                             int
	CaseID                                                  string
	SealAlgorithm, SealKeyID, SealedAt, Signature           string
	QR                                                      template.URL
	VerifyURL, Code                                         string
	PrintedAt                                               string

	audited []string
}

type field struct {
	Name, Label, Value string
	Missing            bool
}

var stateLabels = map[certificate.State]string{
	certificate.Valid:      "有效",
	certificate.Suspended:  "暂停",
	certificate.Pledged:    "质押",
	certificate.Lost:       "挂失",
	certificate.Revoked:    "撤销",
	certificate.Cancelled:  "注销",
	certificate.Abolished:  "废止",
	certificate.Expired:    "过期",
	certificate.Superseded: "已被新版本替代",
}

// build assembles the page of lc and the audit fields it shows.
func (h *handler) build(ctx context.Context, lc *certificate.View) (*page, error) {
	loc := h.d.Loc
	if loc == nil {
		loc = time.Local
	}
	now := time.Now
	if h.d.Now != nil {
		now = h.d.Now
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if h.d.Today != nil {
		today = h.d.Today()
	}

	typ := catalogue.CertificateType{Code: lc.TypeCode, Name: lc.TypeCode}
	if h.d.Types != nil {
		t, err := h.d.Types.LookupType(ctx, lc.TypeCode)
		switch {
		case err == nil:
			typ = t
		case !apperr.CodeIs(err, apperr.NotFound):
			return nil, err
		}
	}
	issuerName := lc.IssuerCode
	if h.d.Units != nil {
		u, err := h.d.Units.LookupUnit(ctx, lc.IssuerCode)
		switch {
		case err == nil:
			issuerName = u.Name
		case !apperr.CodeIs(err, apperr.NotFound):
			return nil, err
		}
	}
	if h.d.VerifyURL == nil {
		return nil, errors.New("printing: no VerifyURL configured")
	}
	code := ""
	if h.d.Code != nil {
		if c := h.d.Code(ctx, lc); c != nil {
			code = *c
		}
	}
	verify := h.d.VerifyURL(lc.ID, code)
	png, err := qrcode.Encode(verify, qrcode.Medium, 256)
	if err != nil {
		return nil, fmt.Errorf("printing: QR code: %w", err)
	}

	ok, why := lc.Citability(today)
	p := &page{
		ID: lc.ID, Version: strconv.Itoa(lc.Version),
		TypeCode: lc.TypeCode, TypeName: typ.Name,
		IssuerCode: lc.IssuerCode, IssuerName: issuerName,
		State: string(lc.State), StateLabel: stateLabels[lc.State],
		NotCitable: !ok, Reasons: why,
		HolderName: lc.Holder.Name, HolderCode: lc.Holder.Code, HolderKind: holderKind(lc.Holder.Kind),
		ValidFrom:     lc.ValidFrom.UTC().Format(time.DateOnly),
		ValidUntil:    "长期有效 / no expiry",
		IssuedAt:      stamp(lc.IssuedAt, loc),
		CaseID:        lc.CaseID,
		SealAlgorithm: lc.Seal.Algorithm, SealKeyID: lc.Seal.KeyID,
		SealedAt: stamp(lc.Seal.SealedAt, loc), Signature: lc.Seal.Signature,
		QR:        template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		VerifyURL: verify, Code: code,
		PrintedAt: stamp(now(), loc),
		audited: []string{"print", "holder.name", "holder.code", "state", "validFrom", "validUntil",
			"issuedAt", "seal", "seal.signature"},
	}
	if lc.ValidUntil != nil {
		p.ValidUntil = lc.ValidUntil.UTC().Format(time.DateOnly)
	}
	if code != "" {
		p.audited = append(p.audited, "verificationCode")
	}

	hidden := func(name string) bool { return slices.Contains(lc.Hidden, name) }
	shown := map[string]bool{}
	for _, f := range typ.Fields {
		if hidden(f.Name) {
			p.HiddenCount++
			continue
		}
		shown[f.Name] = true
		v, present := lc.Data[f.Name]
		label := f.Label
		if label == "" {
			label = f.Name
		}
		p.Fields = append(p.Fields, field{Name: f.Name, Label: label, Value: str(v, loc), Missing: !present || v == nil})
		if present {
			p.audited = append(p.audited, "data."+f.Name)
		}
	}
	// Data outside the template (an older template version): shown under
	// its own name, after the template's fields.
	var extra []string
	for k := range lc.Data {
		if !shown[k] && !hidden(k) {
			if _, inTemplate := typ.Field(k); !inTemplate {
				extra = append(extra, k)
			}
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		v := lc.Data[k]
		p.Fields = append(p.Fields, field{Name: k, Label: k, Value: str(v, loc), Missing: v == nil})
		p.audited = append(p.audited, "data."+k)
	}
	return p, nil
}

func holderKind(k certificate.HolderKind) string {
	switch k {
	case certificate.Person:
		return "自然人 / person"
	case certificate.Organization:
		return "法人或其他组织 / organization"
	}
	return string(k)
}

func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04:05 -07:00")
}

// str prints a data value as a string.
func str(v any, loc *time.Location) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "是 / yes"
		}
		return "否 / no"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
		return fmt.Sprint(x)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 && x.Location() == time.UTC {
			return x.Format(time.DateOnly)
		}
		return stamp(x, loc)
	case fmt.Stringer:
		return x.String()
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// ContentSecurityPolicy is sent with every response: nothing but inline
// styles and data: images (the QR code).
const ContentSecurityPolicy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func writeHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	if err := errorTmpl.Execute(&b, struct {
		Status     int
		StatusText string
		Code       string
		Message    string
	}{status, http.StatusText(status), code, msg}); err != nil {
		b.Reset()
		b.WriteString("<!DOCTYPE html><title>error</title><p>error</p>")
	}
	writeHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
