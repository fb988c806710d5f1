package cases

import (
	"context"
	"slices"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/registry"
	"certd/internal/text"
)

// Catalogue is what cases read of the catalogue, without authorization.
type Catalogue interface {
	LookupMatter(ctx context.Context, code string) (catalogue.Matter, error)
	LookupType(ctx context.Context, code string) (catalogue.CertificateType, error)
	LookupUnit(ctx context.Context, code string) (catalogue.Unit, error)
}

// Policy is the part of the authorization engine cases use.
type Policy interface {
	Authorize(ctx context.Context, action string, resource map[string]any) error
	Filter(ctx context.Context, action string, known map[string]any) (authz.FilterDecision, error)
	HiddenFields(ctx context.Context, action string, known map[string]any) ([]string, bool)
	// CaseLimits are the policy's numbers for case work.
	CaseLimits() authz.CaseLimits
}

// Licences lists licences under a filter and tells today's date.
type Licences interface {
	Find(ctx context.Context, f certificate.Filter, limit int) ([]certificate.Certificate, error)
	Today() time.Time
	AnnotatedCopy(ctx context.Context, v *certificate.View, a certificate.Annotation) (string, error)
	HasCitable(ctx context.Context, holderCode, typeCode string) (bool, error)
	Verify(ctx context.Context, id, code string) (certificate.Verification, error)
	Judge(ctx context.Context, v *certificate.View) certificate.Verification
}

// Service opens, reads and closes cases and reads licences through them.
type Service struct {
	repo     Repository
	cat      Catalogue
	policy   Policy
	licences Licences
	registry registry.Repository
	cal      *certificate.Calendar
	now      func() time.Time
}

// NewService returns a case service; cal counts the working days after
// which applications expire and cases close, now is the clock (nil:
// time.Now).
func NewService(repo Repository, cat Catalogue, policy Policy, licences Licences, reg registry.Repository,
	cal *certificate.Calendar, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, cat: cat, policy: policy, licences: licences, registry: reg, cal: cal, now: now}
}

// resource describes a case to the policy.
func resource(c *Case, m *catalogue.Matter) map[string]any {
	r := map[string]any{"id": c.ID, "unit": c.UnitCode, "holder": c.Holder.Code, "matter": c.MatterCode, "open": c.Open()}
	if m != nil {
		r["required_types"] = strs(m.RequiredTypes)
		r["disclosed"] = strs(m.DisclosedFields)
	}
	return r
}

func strs(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// Get returns a case of the caller's unit.
func (s *Service) Get(ctx context.Context, id string) (Case, error) {
	if len(id) != 32 {
		return Case{}, apperr.NotFoundf("case %s not found", id)
	}
	c, err := s.repo.GetCase(ctx, id)
	if err != nil {
		return Case{}, err
	}
	c = s.asOf(c, s.now())
	if err := s.policy.Authorize(ctx, "case.read", map[string]any{"case": resource(&c, nil)}); err != nil {
		return Case{}, audit.Refused(ctx, "case.read", caseRef(&c), err)
	}
	return c, nil
}

// Close closes a case of the caller's unit; its licences can no longer be
// read through it.
func (s *Service) Close(ctx context.Context, id string) (Case, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Case{}, err
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return Case{}, err
	}
	if err := s.policy.Authorize(ctx, "case.close", map[string]any{"case": resource(&c, nil)}); err != nil {
		return Case{}, err
	}
	if !c.Open() {
		return Case{}, apperr.Conflictf("case %s is closed already", c.CaseNo)
	}
	at := s.now().UTC().Truncate(time.Millisecond)
	if err := s.repo.CloseCase(ctx, c.ID, at, p.Subject); err != nil {
		return Case{}, err
	}
	audit.Wrote(ctx, "case.close", caseRef(&c), "")
	c.ClosedAt, c.ClosedBy = &at, p.Subject
	return c, nil
}

// Page limits of case listings.
const (
	DefaultPage = 20
	MaxPage     = 100
)

// List lists the caller's unit's cases, newest first.
func (s *Service) List(ctx context.Context, openOnly bool, first *int, after *Cursor) ([]Case, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.policy.Authorize(ctx, "case.list", map[string]any{"unit": p.Org}); err != nil {
		return nil, err
	}
	n := DefaultPage
	if first != nil {
		if *first < 0 {
			return nil, apperr.Invalid("first must not be negative")
		}
		n = min(*first, MaxPage)
	}
	now := s.now()
	cs, err := s.repo.ListCases(ctx, p.Org, openOnly, now, after, n)
	if err != nil {
		return nil, err
	}
	out := cs[:0]
	for _, c := range cs {
		if c = s.asOf(c, now); c.Open() || !openOnly {
			out = append(out, c)
		}
	}
	return out, nil
}

// asOf is c as it stands at now: past its deadline, a case is closed, at
// its deadline. Nothing is written when a case closes by itself; every
// read goes through here. A case stored before cases closed by themselves
// gets its deadline reckoned from when it was opened.
func (s *Service) asOf(c Case, now time.Time) Case {
	if c.ClosesAt == nil {
		d := s.cal.AfterWorkingDays(c.OpenedAt, s.policy.CaseLimits().CaseWorkingDays).UTC().Truncate(time.Millisecond)
		c.ClosesAt = &d
	}
	if c.ClosedAt == nil && !now.Before(*c.ClosesAt) {
		at := *c.ClosesAt
		c.ClosedAt = &at
	}
	return c
}

// Certificates returns the licences the policy lets the caller read
// through the case, as the caller may see them: citable licences of its
// holder of the types its matter requires, without the fields the policy
// hides.
func (s *Service) Certificates(ctx context.Context, c *Case) ([]certificate.View, error) {
	m, err := s.cat.LookupMatter(ctx, c.MatterCode)
	if err != nil {
		return nil, err
	}
	known := map[string]any{"case": resource(c, &m)}
	d, err := s.policy.Filter(ctx, "case.certificates", known)
	if err != nil {
		return nil, err
	}
	if d.None {
		return nil, audit.Refused(ctx, "case.certificates", caseRef(c),
			apperr.Forbiddenf("no licence data through this case: it is closed, of another unit, or not yours to read"))
	}
	cond, err := certificate.FromUCAST(d.Query)
	if err != nil && len(d.Query) > 0 {
		return nil, apperr.Wrap(err, apperr.Forbidden, "the policy's data filter cannot be applied")
	}
	// The policy's filter, and never more than the case's holder, the
	// matter's types and citable versions, whatever the policy says.
	f := certificate.Filter{HolderCode: c.Holder.Code, TypeCodes: nonNilStrings(m.RequiredTypes),
		State: certificate.Valid, CurrentOnly: true}
	if len(d.Query) > 0 {
		f.Policy = &cond
	}
	found, err := s.licences.Find(ctx, f, 0)
	if err != nil {
		return nil, audit.Refused(ctx, "case.certificates", caseRef(c), err)
	}
	today := s.licences.Today()
	out := make([]certificate.View, 0, len(found))
	// Per type: the fields the policy hides, and the template.
	type typeView struct {
		fields []string
		t      catalogue.CertificateType
	}
	hidden := map[string]typeView{}
	for i := range found {
		lc := &found[i]
		if !lc.Citable(today) {
			continue // past its validity today, before the sweeper marks it
		}
		v, ok := hidden[lc.TypeCode]
		if !ok {
			if v.fields, v.t, err = s.hiddenFields(ctx, known, lc.TypeCode); err != nil {
				return nil, err
			}
			hidden[lc.TypeCode] = v
		}
		out = append(out, certificate.ThroughCase(*lc, withUnknown(v.fields, lc, v.t), c.ID, c.MatterCode))
	}
	return out, nil
}

// hiddenFields asks the policy which fields of a type the caller may not
// see in this case; when the policy cannot answer, every field is hidden.
func (s *Service) hiddenFields(ctx context.Context, known map[string]any, typeCode string) ([]string, catalogue.CertificateType, error) {
	t, err := s.cat.LookupType(ctx, typeCode)
	if err != nil {
		return nil, t, err
	}
	var sensitive []any
	all := make([]string, 0, len(t.Fields))
	for _, f := range t.Fields {
		all = append(all, f.Name)
		if f.Sensitive {
			sensitive = append(sensitive, f.Name)
		}
	}
	in := map[string]any{"type": map[string]any{"code": t.Code, "sensitive": nonNilAny(sensitive)}}
	for k, v := range known {
		in[k] = v
	}
	h, hideAll := s.policy.HiddenFields(ctx, "case.certificates", in)
	if hideAll {
		return append(all, certificate.RecordPaths...), t, nil
	}
	return h, t, nil
}

// withUnknown adds to hidden every data key of c the current template
// does not have (a field since renamed or removed): what the policy has
// not judged is not shown. hidden itself is left as it was.
func withUnknown(hidden []string, c *certificate.Certificate, t catalogue.CertificateType) []string {
	for k := range c.Data {
		if _, ok := t.Field(k); !ok && !slices.Contains(hidden, k) {
			hidden = append(slices.Clip(hidden), k)
		}
	}
	return hidden
}

func nonNilAny(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

// MissingTypes lists the types the case's matter requires for which the
// holder has nothing citable: the applicant may bring paper (第十五条).
// It tells as much about the licences the holder has: those are
// returned too, for the audit record of what the answer showed.
func (s *Service) MissingTypes(ctx context.Context, c *Case) (missing []string, held []certificate.View, err error) {
	held, err = s.Certificates(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.cat.LookupMatter(ctx, c.MatterCode)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range m.RequiredTypes {
		if !slices.ContainsFunc(held, func(v certificate.View) bool { return v.TypeCode == t }) {
			missing = append(missing, t)
		}
	}
	return missing, held, nil
}

// Verify verifies by identifier alone, for staff, a licence that case
// caseID (an open case of their unit) shows; any other identifier is
// answered as the public is, without its code.
func (s *Service) Verify(ctx context.Context, caseID, id string) (certificate.Verification, error) {
	c, err := s.Get(ctx, caseID)
	if err != nil {
		return certificate.Verification{}, err
	}
	certs, err := s.Certificates(ctx, &c)
	if err != nil {
		return certificate.Verification{}, err
	}
	for i := range certs {
		if certs[i].ID == id {
			return s.licences.Judge(ctx, &certs[i]), nil
		}
	}
	return s.licences.Verify(ctx, id, "")
}

// AnnotatedCopyTTL is how long an annotated copy may be used.
const AnnotatedCopyTTL = 7 * 24 * time.Hour

// AnnotatedCopy returns a sealed copy of one of the case's licences,
// stamped with the case, the caller's unit, the matter and an expiry
// (加注件), holding only the fields the caller may see, and the view it
// was made of: the caller records the read of the fields the copy
// carries (certificate.View.AnnotatedFields).
func (s *Service) AnnotatedCopy(ctx context.Context, c *Case, certificateID string) (string, certificate.View, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return "", certificate.View{}, err
	}
	if _, err := certificate.ParseID(certificateID); err != nil {
		return "", certificate.View{}, err
	}
	certs, err := s.Certificates(ctx, c)
	if err != nil {
		return "", certificate.View{}, err
	}
	i := slices.IndexFunc(certs, func(v certificate.View) bool { return v.ID == certificateID })
	if i < 0 {
		return "", certificate.View{}, audit.Refused(ctx, "case.annotatedCopy", audit.Ref{CertificateID: certificateID, CaseID: c.ID, HolderCode: c.Holder.Code},
			apperr.Forbiddenf("licence %s is not one this case may cite", certificateID))
	}
	v := &certs[i]
	m, err := s.cat.LookupMatter(ctx, c.MatterCode)
	if err != nil {
		return "", certificate.View{}, err
	}
	u, err := s.cat.LookupUnit(ctx, c.UnitCode)
	if err != nil {
		return "", certificate.View{}, err
	}
	doc, err := s.licences.AnnotatedCopy(ctx, v, certificate.Annotation{
		CaseID: c.ID, CaseNo: c.CaseNo, Unit: u.Code, UnitName: u.Name, Matter: m.Code, MatterName: m.Name,
		By: p.Subject, ExpiresAt: s.now().Add(AnnotatedCopyTTL),
	})
	if err != nil {
		return "", certificate.View{}, err
	}
	return doc, *v, nil
}

// RecordPaper records that the applicant of an open case brought paper for
// a type the matter requires (第十五条), noting whether a citable e-licence
// of that type existed at that moment (第二十条(一): paper requested despite
// availability).
func (s *Service) RecordPaper(ctx context.Context, caseID, typeCode, reason string) (Case, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Case{}, err
	}
	c, err := s.Get(ctx, caseID)
	if err != nil {
		return Case{}, err
	}
	if err := s.policy.Authorize(ctx, "case.paper", map[string]any{"case": resource(&c, nil)}); err != nil {
		return Case{}, audit.Refused(ctx, "case.paper", caseRef(&c), err)
	}
	if !c.Open() {
		return Case{}, apperr.Conflictf("case %s is closed", c.CaseNo)
	}
	if reason, err = text.Required("the reason", reason, 500); err != nil {
		return Case{}, err
	}
	m, err := s.cat.LookupMatter(ctx, c.MatterCode)
	if err != nil {
		return Case{}, err
	}
	if !slices.Contains(m.RequiredTypes, typeCode) {
		return Case{}, apperr.Invalid("matter %s does not require certificate type %q", m.Code, typeCode)
	}
	despite, err := s.licences.HasCitable(ctx, c.Holder.Code, typeCode)
	if err != nil {
		return Case{}, err
	}
	ps := PaperSubmission{CaseID: c.ID, UnitCode: c.UnitCode, HolderCode: c.Holder.Code, TypeCode: typeCode,
		Reason: reason, At: s.now().UTC().Truncate(time.Millisecond), By: p.Subject, DespiteAvailable: despite}
	if err := s.repo.AddPaperSubmission(ctx, ps); err != nil {
		return Case{}, err
	}
	detail := typeCode // the reason is the clerk's text: it stays with the paper submission
	if despite {
		detail += " (a citable e-licence existed)"
	}
	audit.Wrote(ctx, "case.paper", caseRef(&c), detail)
	return c, nil
}

// PaperSubmissions lists the paper brought in a case the caller may read.
func (s *Service) PaperSubmissions(ctx context.Context, c *Case) ([]PaperSubmission, error) {
	return s.repo.PaperSubmissions(ctx, c.ID)
}

func nonNilStrings(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
