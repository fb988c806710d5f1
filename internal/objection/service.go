package objection

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/cases"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/text"
)

// Licences reads and corrects licences (*certificate.Service implements
// it). Get authorizes the caller's read; Change authorizes
// certificate.change (the issuer, with strong authentication).
type Licences interface {
	Get(ctx context.Context, id string) (certificate.View, error)
	Change(ctx context.Context, id string, data map[string]any, reason string) (certificate.Certificate, error)
}

// Cases reads cases and the licences staff see through them
// (*cases.Service implements it). Get authorizes the caller's read.
type Cases interface {
	Get(ctx context.Context, id string) (cases.Case, error)
	Certificates(ctx context.Context, c *cases.Case) ([]certificate.View, error)
}

// Authorizer is the part of the authorization engine the service uses
// (*authz.Engine implements it): actions objection.file, objection.list,
// objection.mine and objection.resolve (see policy/objections.rego).
type Authorizer interface {
	Authorize(ctx context.Context, action string, resource map[string]any) error
}

// Limits of an objection.
const (
	MinFields, MaxFields           = 1, 20
	MinDescription, MaxDescription = 5, 2000 // characters
	MaxNote                        = 400     // characters; the Change reason holds it
	DefaultDueDays                 = 5       // working days
)

// fieldRE is a field path: a template field name ("name"), or a dotted
// path such as "holder.name".
var fieldRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}(\.[A-Za-z][A-Za-z0-9_]{0,63}){0,3}$`)

// Service files, lists and resolves objections.
type Service struct {
	repo     Repository
	licences Licences
	cases    Cases
	policy   Authorizer
	cal      *certificate.Calendar
	dueDays  int
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewService returns an objection service. dueDays is how many working
// days (by cal) the issuer has to resolve an objection; below 1 it is
// DefaultDueDays.
func NewService(repo Repository, licences Licences, cs Cases, policy Authorizer, cal *certificate.Calendar, dueDays int) *Service {
	if dueDays < 1 {
		dueDays = DefaultDueDays
	}
	return &Service{repo: repo, licences: licences, cases: cs, policy: policy, cal: cal, dueDays: dueDays, Now: time.Now}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// ref names an objection in the audit log.
func ref(o *Objection) audit.Ref {
	return audit.Ref{CertificateID: o.CertificateID, HolderCode: o.HolderCode, IssuerCode: o.IssuerCode, CaseID: o.CaseID,
		Target: "objection " + o.ID}
}

// validate checks and normalizes an objection's fields and description.
func validate(fields []string, description string) ([]string, string, error) {
	if len(fields) < MinFields || len(fields) > MaxFields {
		return nil, "", apperr.Invalid("name %d to %d fields", MinFields, MaxFields)
	}
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if !fieldRE.MatchString(f) {
			return nil, "", apperr.Invalid("%q is not a field name (letters, digits and _, dotted like holder.name)", f)
		}
		if !contains(out, f) {
			out = append(out, f)
		}
	}
	description, err := text.Check("the description", description, MinDescription, MaxDescription)
	if err != nil {
		return nil, "", err
	}
	return out, description, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// File files an objection to fields of a licence. Holders file on their
// own licence with caseID ""; staff pass the open case of their unit
// through which they see the licence.
func (s *Service) File(ctx context.Context, certificateID string, fields []string, description string, caseID string) (Objection, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Objection{}, err
	}
	fields, description, err = validate(fields, description)
	if err != nil {
		return Objection{}, err
	}
	if _, err := certificate.ParseID(certificateID); err != nil {
		return Objection{}, err
	}
	o := Objection{ID: newID(), CertificateID: certificateID, FiledBy: p.Subject, FiledByOrg: p.Org,
		Fields: fields, Description: description, State: Open, Rev: 1}
	var lc certificate.View
	if caseID == "" {
		// Get authorizes the read: the holder's own licence (or the
		// issuer's, which the policy then refuses to file on).
		if lc, err = s.licences.Get(ctx, certificateID); err != nil {
			return Objection{}, err
		}
		o.FiledRole, o.IssuerCode, o.HolderCode = RoleHolder, lc.IssuerCode, lc.Holder.Code
		res := map[string]any{"role": RoleHolder, "holder": lc.Holder.Code, "issuer": lc.IssuerCode}
		if err := audit.Refused(ctx, "objection.file", ref(&o), s.policy.Authorize(ctx, "objection.file", res)); err != nil {
			return Objection{}, err
		}
	} else {
		c, err := s.cases.Get(ctx, caseID)
		if err != nil {
			return Objection{}, err
		}
		o.FiledRole, o.CaseID, o.HolderCode = RoleStaff, c.ID, c.Holder.Code
		res := map[string]any{"role": RoleStaff, "case": map[string]any{"id": c.ID, "unit": c.UnitCode, "open": c.Open()}}
		if err := audit.Refused(ctx, "objection.file", ref(&o), s.policy.Authorize(ctx, "objection.file", res)); err != nil {
			return Objection{}, err
		}
		shown, err := s.cases.Certificates(ctx, &c)
		if err != nil {
			return Objection{}, err
		}
		found := false
		for _, x := range shown {
			if x.ID == certificateID {
				lc, found = x, true
				break
			}
		}
		if !found {
			return Objection{}, audit.Refused(ctx, "objection.file", ref(&o),
				apperr.Forbiddenf("licence %s is not shown through this case", certificateID))
		}
		o.IssuerCode, o.HolderCode = lc.IssuerCode, lc.Holder.Code
	}
	if !lc.Current {
		return Objection{}, apperr.Conflictf("licence %s was superseded by %s; object to the current version", lc.ID, lc.Successor)
	}
	o.FiledAt = s.now()
	o.DueAt = s.cal.AfterWorkingDays(o.FiledAt, s.dueDays).UTC()
	if err := s.repo.CreateObjection(ctx, o); err != nil {
		return Objection{}, err
	}
	audit.Wrote(ctx, "objection.file", ref(&o), fmt.Sprintf("%s: %s", o.FiledRole, strings.Join(o.Fields, ",")))
	return o, nil
}

func checkState(state State) error {
	if state != "" && !state.Valid() {
		return apperr.Invalid("unknown objection state %q", state)
	}
	return nil
}

// List lists the objections to the caller's unit's licences in state (""
// for all), newest first; for issuers.
func (s *Service) List(ctx context.Context, state State) ([]Objection, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkState(state); err != nil {
		return nil, err
	}
	if err := s.policy.Authorize(ctx, "objection.list", map[string]any{"issuer": p.Org}); err != nil {
		return nil, audit.Refused(ctx, "objection.list", audit.Ref{IssuerCode: p.Org, Target: "objections"}, err)
	}
	if p.Org == "" {
		return nil, apperr.Forbiddenf("objection.list is not allowed: the caller has no unit")
	}
	return s.repo.ListObjections(ctx, ObjectionQuery{IssuerCode: p.Org, State: state})
}

// Overdue lists the caller's unit's OPEN objections past their deadline,
// newest first; for issuers.
func (s *Service) Overdue(ctx context.Context) ([]Objection, error) {
	list, err := s.List(ctx, Open)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := list[:0]
	for _, o := range list {
		if o.Overdue(now) {
			out = append(out, o)
		}
	}
	return out, nil
}

// Mine lists the caller's own objections — those to licences they hold —
// newest first; for holders.
func (s *Service) Mine(ctx context.Context) ([]Objection, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.policy.Authorize(ctx, "objection.mine", map[string]any{"holder": p.Holder}); err != nil {
		return nil, audit.Refused(ctx, "objection.mine", audit.Ref{HolderCode: p.Holder, Target: "objections"}, err)
	}
	if p.Holder == "" {
		return nil, apperr.Forbiddenf("objection.mine is not allowed: the caller is no holder")
	}
	return s.repo.ListObjections(ctx, ObjectionQuery{HolderCode: p.Holder})
}

// Resolve resolves an OPEN objection to a licence of the caller's unit.
// CORRECTED needs correctedData: the licence service's Change issues the
// corrected version (with its own authorization: certificate.change needs
// strong authentication) with the reason "objection <id>: <note>", and
// its id is stored as CorrectedID. REJECTED needs a note.
//
// There is no transaction across the two: Change runs first, then the
// objection is updated on its revision. If another resolution wins that
// race, the corrected version exists but this call returns CONFLICT (naming
// it) and the objection keeps the winner's outcome. A Change that fails
// (e.g. the licence was superseded or is no longer VALID) leaves the
// objection OPEN.
func (s *Service) Resolve(ctx context.Context, id string, outcome State, note string, correctedData map[string]any) (Objection, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Objection{}, err
	}
	minNote := 0
	if outcome == Rejected {
		minNote = 1 // a rejection says why
	}
	if note, err = text.Check("the note", note, minNote, MaxNote); err != nil {
		return Objection{}, err
	}
	switch {
	case outcome != Corrected && outcome != Rejected:
		return Objection{}, apperr.Invalid("the outcome must be CORRECTED or REJECTED")
	case outcome == Corrected && len(correctedData) == 0:
		return Objection{}, apperr.Invalid("a correction needs correctedData")
	case outcome == Rejected && len(correctedData) > 0:
		return Objection{}, apperr.Invalid("a rejection takes no correctedData")
	}
	if id == "" || len(id) > 64 {
		return Objection{}, apperr.NotFoundf("objection %s not found", id)
	}
	o, err := s.repo.GetObjection(ctx, id)
	if err != nil {
		return Objection{}, err
	}
	if err := s.policy.Authorize(ctx, "objection.resolve", map[string]any{"issuer": o.IssuerCode, "state": string(o.State)}); err != nil {
		return Objection{}, audit.Refused(ctx, "objection.resolve", ref(&o), err)
	}
	if o.State != Open {
		return Objection{}, apperr.Conflictf("objection %s is %s already", o.ID, o.State)
	}
	prev := o.Rev
	if outcome == Corrected {
		reason := "objection " + o.ID
		if note != "" {
			reason += ": " + note
		}
		next, err := s.licences.Change(ctx, o.CertificateID, correctedData, reason)
		if err != nil {
			return Objection{}, err
		}
		o.CorrectedID = next.ID
	}
	at := s.now()
	o.State, o.Resolution, o.ResolvedAt, o.ResolvedBy = outcome, note, &at, p.Subject
	if err := s.repo.UpdateObjection(ctx, o, prev); err != nil {
		if apperr.CodeIs(err, apperr.Conflict) {
			if o.CorrectedID != "" {
				return Objection{}, apperr.Conflictf("objection %s was resolved meanwhile; the corrected version %s was issued all the same", o.ID, o.CorrectedID)
			}
			return Objection{}, apperr.Conflictf("objection %s was resolved meanwhile", o.ID)
		}
		return Objection{}, err
	}
	o.Rev = prev + 1
	detail := string(outcome)
	if o.CorrectedID != "" {
		detail += " as " + o.CorrectedID
	}
	audit.Wrote(ctx, "objection.resolve", ref(&o), detail)
	return o, nil
}

// Stats counts an issuing unit's objections that are OPEN, and of them
// those overdue at now, for the supervision report. It does not authorize:
// the caller (the report) has authorized its own request.
func (s *Service) Stats(ctx context.Context, issuer string, now time.Time) (open, overdue int, err error) {
	if issuer == "" {
		return 0, 0, apperr.Invalid("name an issuing unit")
	}
	list, err := s.repo.ListObjections(ctx, ObjectionQuery{IssuerCode: issuer, State: Open})
	if err != nil {
		return 0, 0, err
	}
	for _, o := range list {
		open++
		if o.Overdue(now) {
			overdue++
		}
	}
	return open, overdue, nil
}
