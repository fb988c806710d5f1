package audit

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"certd/internal/apperr"
	"certd/internal/codes"
)

// Scoper tells which part of the access log the caller may read; the
// policy decides (data.certd.authz.audit_scope).
type Scoper interface {
	AuditScope(ctx context.Context, action string) (map[string]any, error)
}

// AccessLog reads the log for issuers, supervisors, the digital office
// and holders. Reading it is itself recorded.
type AccessLog struct {
	repo   Repository
	scope  Scoper
	verify *verifier // nil until EnableStatus
}

// NewAccessLog returns the reading side of the log.
func NewAccessLog(repo Repository, scope Scoper) *AccessLog {
	return &AccessLog{repo: repo, scope: scope}
}

// Filter narrows a reading of the log.
type Filter struct {
	CertificateID string
	HolderCode    string
	Org           string
	From, To      *time.Time
}

// ActionCaseOpen is the action of the record of a case opened.
const ActionCaseOpen = "case.open"

// Page sizes.
const (
	DefaultPage = 20
	MaxPage     = 100
)

// Page is one page of records, newest first.
type Page struct {
	Records []Record
	Cursors []string
	HasNext bool
}

// Records lists the records the caller's scope allows, filtered. Filter
// values must be what they name (they go into the record of the read):
// otherwise INVALID_INPUT.
func (l *AccessLog) Records(ctx context.Context, f Filter, first *int, after string) (Page, error) {
	if err := f.check(); err != nil {
		return Page{}, err
	}
	scope, err := l.scope.AuditScope(ctx, "audit.read")
	if err != nil {
		return Page{}, Refused(ctx, "audit.read", Ref{Target: "access log"}, err)
	}
	q := Query{CertificateID: f.CertificateID, HolderCode: f.HolderCode, Org: f.Org}
	if f.From != nil {
		q.From = *f.From
	}
	if f.To != nil {
		q.To = *f.To
	}
	return l.page(ctx, "audit.read", scope, q, first, after, describe(f))
}

// Mine lists who read the caller's licences (holders), when and for which
// matter.
func (l *AccessLog) Mine(ctx context.Context, first *int, after string) (Page, error) {
	scope, err := l.scope.AuditScope(ctx, "me.accessLog")
	if err != nil {
		return Page{}, Refused(ctx, "me.accessLog", Ref{Target: "access log"}, err)
	}
	// Every read of their licences, every refusal, and every case opened
	// about them (第十二条: the holder sees who looked them up).
	return l.page(ctx, "me.accessLog", scope, Query{KindAccessOnly: true, AlsoActions: []string{ActionCaseOpen}}, first, after, "own licences")
}

func (l *AccessLog) page(ctx context.Context, action string, scope map[string]any, q Query, first *int, after, what string) (Page, error) {
	switch {
	case scope["all"] == true:
	case scope["issuer"] != nil:
		q.ScopeIssuer, _ = scope["issuer"].(string)
	case scope["holder"] != nil:
		q.ScopeHolder, _ = scope["holder"].(string)
	default:
		return Page{}, apperr.Forbiddenf("the access log is not open to the caller")
	}
	if q.ScopeIssuer == "" && q.ScopeHolder == "" && scope["all"] != true {
		return Page{}, apperr.Forbiddenf("the access log is not open to the caller")
	}
	q.Limit = DefaultPage
	if first != nil {
		if *first < 0 {
			return Page{}, apperr.Invalid("first must not be negative")
		}
		q.Limit = min(*first, MaxPage)
	}
	if after != "" {
		c, err := DecodeCursor(after)
		if err != nil {
			return Page{}, err
		}
		q.After = &c
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return Page{}, apperr.Invalid("to must be after from")
	}
	want := q.Limit
	q.Limit++
	recs, err := l.repo.QueryAudit(ctx, q)
	if err != nil {
		return Page{}, err
	}
	p := Page{HasNext: len(recs) > want}
	if p.HasNext {
		recs = recs[:want]
	}
	p.Records = recs
	for i := range recs {
		p.Cursors = append(p.Cursors, EncodeCursor(Cursor{At: recs[i].At, Chain: recs[i].Chain, Seq: recs[i].Seq}))
	}
	Wrote(ctx, action, Ref{Target: "access log"}, what)
	return p, nil
}

// check refuses filter values that are not what they name.
func (f *Filter) check() error {
	switch {
	case f.CertificateID != "" && !codes.ValidLicenceID(f.CertificateID):
		return apperr.Invalid("certificateId is not a licence identifier (GB/T 36904)")
	case f.HolderCode != "" && !validHolder(f.HolderCode):
		return apperr.Invalid("holderCode is neither a resident ID number nor a credit code")
	case f.Org != "" && !codes.ValidCreditCode(f.Org):
		return apperr.Invalid("org is not a unified social credit code")
	}
	return nil
}

func describe(f Filter) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("certificateId", f.CertificateID)
	add("holderCode", f.HolderCode)
	add("org", f.Org)
	if f.From != nil {
		add("from", f.From.UTC().Format(time.RFC3339))
	}
	if f.To != nil {
		add("to", f.To.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "all in scope"
	}
	return strings.Join(parts, " ")
}

// EncodeCursor makes an opaque cursor.
func EncodeCursor(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixMilli(), 10) + "|" + c.Chain + "|" + strconv.FormatInt(c.Seq, 10)))
}

// DecodeCursor reads a cursor made by EncodeCursor; anything else is
// INVALID_INPUT.
func DecodeCursor(s string) (Cursor, error) {
	bad := apperr.Invalid("cursor %q is not one this server handed out", s)
	if len(s) > 200 {
		return Cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 || len(parts[1]) != 32 {
		return Cursor{}, bad
	}
	ms, err1 := strconv.ParseInt(parts[0], 10, 64)
	seq, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || ms < 0 || seq < 1 {
		return Cursor{}, bad
	}
	for _, c := range parts[1] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Cursor{}, bad
		}
	}
	c := Cursor{At: time.UnixMilli(ms).UTC(), Chain: parts[1], Seq: seq}
	if EncodeCursor(c) != s {
		return Cursor{}, bad // e.g. a leading zero: only the form handed out
	}
	return c, nil
}
