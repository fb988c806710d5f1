package bulk

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/text"
)

// Authorizer is the part of the authorization engine the service uses
// (*authz.Engine implements it). Every decision of this package is the
// policy's: actions bulk.submit, bulk.approve, bulk.reject, bulk.run,
// bulk.list and bulk.read (see policy/bulk.rego).
type Authorizer interface {
	Authorize(ctx context.Context, action string, resource map[string]any) error
}

// KProvider gives the smallest group size a run may report, read from
// the active policy (data.certd.authz.bulk_k, default DefaultK).
// *authz.Engine implements it.
type KProvider interface {
	BulkK() int
}

// DefaultK is the suppression threshold when the policy sets none (or
// sets one below 1).
const DefaultK = 5

// Limits of a request.
const (
	MinPurpose, MaxPurpose = 10, 1000 // characters
	MaxDimensions          = 3
	MaxValidDays           = 90
	MaxRunsLimit           = 100
	MaxCodeLen             = 64
	MaxFilterValues        = 200 // per list
)

// runRetries is how often a run re-reads its request after losing a race
// to another run of it.
const runRetries = 8

// Service submits, decides, lists and runs bulk analyses.
type Service struct {
	repo   Repository
	policy Authorizer
	k      KProvider
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewService returns a bulk analysis service.
func NewService(repo Repository, policy Authorizer, k KProvider) *Service {
	return &Service{repo: repo, policy: policy, k: k, Now: time.Now}
}

// SubmitInput is an application for a bulk analysis.
type SubmitInput struct {
	Purpose   string
	GroupBy   []Dimension
	Filter    Filter
	ValidDays int
	MaxRuns   int
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// ref names a request in the audit log.
func ref(id string) audit.Ref { return audit.Ref{Target: "bulk analysis " + id} }

// resource describes a request to the policy.
func resource(r *Request, now time.Time) map[string]any {
	return map[string]any{
		"id": r.ID, "state": string(r.State), "requested_by": r.RequestedBy, "requester_org": r.RequesterOrg,
		"runs_left": r.RunsLeft, "max_runs": r.MaxRuns, "valid_days": r.ValidDays,
		"expired": r.ValidUntil != nil && !now.Before(*r.ValidUntil),
	}
}

// Submit validates and stores an application (PENDING).
func (s *Service) Submit(ctx context.Context, in SubmitInput) (Request, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Request{}, err
	}
	r, err := validate(in)
	if err != nil {
		return Request{}, err
	}
	r.ID, r.State, r.RequestedBy, r.RequesterOrg, r.CreatedAt, r.Rev = newID(), Pending, p.Subject, p.Org, s.now(), 1
	if err := audit.Refused(ctx, "bulk.submit", ref(r.ID), s.policy.Authorize(ctx, "bulk.submit", resource(&r, r.CreatedAt))); err != nil {
		return Request{}, err
	}
	if err := s.repo.CreateBulkRequest(ctx, r); err != nil {
		return Request{}, err
	}
	audit.Wrote(ctx, "bulk.submit", ref(r.ID), fmt.Sprintf("group by %s; %d days, %d runs", dims(r.GroupBy), r.ValidDays, r.MaxRuns))
	return r, nil
}

func dims(ds []Dimension) string {
	ss := make([]string, len(ds))
	for i, d := range ds {
		ss[i] = string(d)
	}
	return strings.Join(ss, ",")
}

var certStates = []certificate.State{certificate.Valid, certificate.Suspended, certificate.Pledged, certificate.Lost,
	certificate.Revoked, certificate.Cancelled, certificate.Abolished, certificate.Expired, certificate.Superseded}

// validate checks an application and returns it as a request.
func validate(in SubmitInput) (Request, error) {
	purpose, err := text.Check("the purpose", in.Purpose, MinPurpose, MaxPurpose)
	if err != nil {
		return Request{}, err
	}
	if len(in.GroupBy) < 1 || len(in.GroupBy) > MaxDimensions {
		return Request{}, apperr.Invalid("groupBy must name 1 to %d dimensions", MaxDimensions)
	}
	for i, d := range in.GroupBy {
		if !d.Valid() {
			return Request{}, apperr.Invalid("groupBy: unknown dimension %q", d)
		}
		if slices.Contains(in.GroupBy[:i], d) {
			return Request{}, apperr.Invalid("groupBy names %s twice", d)
		}
	}
	if in.ValidDays < 1 || in.ValidDays > MaxValidDays {
		return Request{}, apperr.Invalid("validDays must be 1 to %d", MaxValidDays)
	}
	if in.MaxRuns < 1 || in.MaxRuns > MaxRunsLimit {
		return Request{}, apperr.Invalid("maxRuns must be 1 to %d", MaxRunsLimit)
	}
	f := in.Filter
	if f.Types, err = codes("types", f.Types); err != nil {
		return Request{}, err
	}
	if f.Issuers, err = codes("issuers", f.Issuers); err != nil {
		return Request{}, err
	}
	if f.States, err = codes("states", f.States); err != nil {
		return Request{}, err
	}
	for _, st := range f.States {
		if !slices.Contains(certStates, certificate.State(st)) {
			return Request{}, apperr.Invalid("filter.states: unknown licence state %q", st)
		}
	}
	for _, d := range []*time.Time{f.IssuedFrom, f.IssuedTo} {
		if d != nil && (d.Year() < 1949 || d.Year() > 2200) {
			return Request{}, apperr.Invalid("filter dates must be between 1949 and 2200")
		}
	}
	if f.IssuedFrom != nil {
		t := dateOnly(*f.IssuedFrom)
		f.IssuedFrom = &t
	}
	if f.IssuedTo != nil {
		t := dateOnly(*f.IssuedTo)
		f.IssuedTo = &t
	}
	if f.IssuedFrom != nil && f.IssuedTo != nil && f.IssuedTo.Before(*f.IssuedFrom) {
		return Request{}, apperr.Invalid("filter.issuedTo is before filter.issuedFrom")
	}
	return Request{Purpose: purpose, GroupBy: slices.Clone(in.GroupBy), Filter: f,
		ValidDays: in.ValidDays, MaxRuns: in.MaxRuns, RunsLeft: in.MaxRuns}, nil
}

func dateOnly(d time.Time) time.Time {
	d = d.UTC()
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

// codes checks a filter list: non-empty strings of at most MaxCodeLen
// characters, deduplicated.
func codes(name string, xs []string) ([]string, error) {
	if len(xs) > MaxFilterValues {
		return nil, apperr.Invalid("filter.%s: at most %d values", name, MaxFilterValues)
	}
	var out []string
	for _, x := range xs {
		if x == "" || len(x) > MaxCodeLen || !utf8.ValidString(x) {
			return nil, apperr.Invalid("filter.%s: values must be 1 to %d characters", name, MaxCodeLen)
		}
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out, nil
}

// load reads a request and, if it is APPROVED past its validity, stores
// it as EXPIRED.
func (s *Service) load(ctx context.Context, id string) (Request, error) {
	if id == "" || len(id) > 64 {
		return Request{}, apperr.NotFoundf("bulk analysis %s not found", id)
	}
	for range runRetries {
		r, err := s.repo.GetBulkRequest(ctx, id)
		if err != nil || r.State != Approved || r.ValidUntil == nil || s.now().Before(*r.ValidUntil) {
			return r, err
		}
		r.State = Expired
		err = s.repo.UpdateBulkRequest(ctx, r, r.Rev)
		if err == nil {
			r.Rev++
			return r, nil
		}
		if !apperr.CodeIs(err, apperr.Conflict) {
			return r, err
		}
	}
	return Request{}, apperr.Conflictf("bulk analysis %s is being changed; try again", id)
}

// Get returns a request the caller may see: their own, or any for the
// digital office.
func (s *Service) Get(ctx context.Context, id string) (Request, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if err := s.policy.Authorize(ctx, "bulk.read", resource(&r, s.now())); err != nil {
		return Request{}, audit.Refused(ctx, "bulk.read", ref(r.ID), err)
	}
	return r, nil
}

// List lists requests in state ("" for all), newest first: every request
// for the digital office (policy scope "all"), the caller's own for
// analysts (scope "own").
func (s *Service) List(ctx context.Context, state State) ([]Request, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return nil, err
	}
	if state != "" && !state.Valid() {
		return nil, apperr.Invalid("unknown bulk analysis state %q", state)
	}
	own := false
	if s.policy.Authorize(ctx, "bulk.list", map[string]any{"scope": "all"}) != nil {
		if err := s.policy.Authorize(ctx, "bulk.list", map[string]any{"scope": "own", "requested_by": p.Subject}); err != nil {
			return nil, audit.Refused(ctx, "bulk.list", audit.Ref{Target: "bulk analyses"}, err)
		}
		own = true
	}
	// Expiry is computed at read time: a listing for APPROVED must not
	// show requests whose validity has passed, and EXPIRED must show them.
	q := state
	if state == Expired {
		q = ""
	}
	rs, err := s.repo.ListBulkRequests(ctx, q)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := rs[:0]
	for _, r := range rs {
		if own && r.RequestedBy != p.Subject {
			continue
		}
		if r.State == Approved && r.ValidUntil != nil && !now.Before(*r.ValidUntil) {
			if fresh, err := s.load(ctx, r.ID); err == nil {
				r = fresh
			} else {
				r.State = Expired
			}
		}
		if state != "" && r.State != state {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// Approve approves a PENDING request: it may run MaxRuns times until
// ValidDays days from now.
func (s *Service) Approve(ctx context.Context, id, comment string) (Request, error) {
	return s.decide(ctx, id, "bulk.approve", Approved, comment)
}

// Reject rejects a PENDING request with a reason.
func (s *Service) Reject(ctx context.Context, id, reason string) (Request, error) {
	if _, err := text.Required("a rejection's reason", reason, MaxPurpose); err != nil {
		return Request{}, err
	}
	return s.decide(ctx, id, "bulk.reject", Rejected, reason)
}

func (s *Service) decide(ctx context.Context, id, action string, to State, comment string) (Request, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return Request{}, err
	}
	if comment, err = text.Check("the comment", comment, 0, MaxPurpose); err != nil {
		return Request{}, err
	}
	r, err := s.load(ctx, id)
	if err != nil {
		return Request{}, err
	}
	now := s.now()
	if err := s.policy.Authorize(ctx, action, resource(&r, now)); err != nil {
		return Request{}, audit.Refused(ctx, action, ref(r.ID), err)
	}
	if r.State != Pending {
		return Request{}, apperr.Conflictf("bulk analysis %s is %s, not PENDING", r.ID, r.State)
	}
	prev := r.Rev
	r.State, r.DecidedBy, r.Comment, r.DecidedAt = to, p.Subject, comment, &now
	if to == Approved {
		until := now.AddDate(0, 0, r.ValidDays)
		r.ValidUntil = &until
	}
	if err := s.repo.UpdateBulkRequest(ctx, r, prev); err != nil {
		if apperr.CodeIs(err, apperr.Conflict) {
			return Request{}, apperr.Conflictf("bulk analysis %s was decided meanwhile", r.ID)
		}
		return Request{}, err
	}
	r.Rev = prev + 1
	audit.Wrote(ctx, action, ref(r.ID), string(to))
	return r, nil
}

// Run runs an APPROVED request of the caller's: it uses up one run
// (atomically, before any data is counted, so concurrent runs never
// exceed MaxRuns) and returns the counts of groups of at least k
// licences. A request that is not approved, expired or exhausted is
// FORBIDDEN — the policy refuses it.
func (s *Service) Run(ctx context.Context, id string) (Result, error) {
	if _, err := identity.Require(ctx); err != nil {
		return Result{}, err
	}
	var r Request
	for attempt := 0; ; attempt++ {
		var err error
		if r, err = s.load(ctx, id); err != nil {
			return Result{}, err
		}
		now := s.now()
		if err := s.policy.Authorize(ctx, "bulk.run", resource(&r, now)); err != nil {
			return Result{}, audit.Refused(ctx, "bulk.run", ref(r.ID), err)
		}
		// The policy decides; this only keeps a lax policy from spending
		// runs that do not exist.
		if r.State != Approved || r.RunsLeft < 1 || r.ValidUntil == nil || !now.Before(*r.ValidUntil) {
			return Result{}, audit.Refused(ctx, "bulk.run", ref(r.ID),
				apperr.Forbiddenf("bulk analysis %s cannot run: it is %s with %d runs left", r.ID, r.State, r.RunsLeft))
		}
		prev := r.Rev
		r.RunsLeft--
		if r.RunsLeft == 0 {
			r.State = Exhausted
		}
		err = s.repo.UpdateBulkRequest(ctx, r, prev)
		if err == nil {
			r.Rev = prev + 1
			break
		}
		if !apperr.CodeIs(err, apperr.Conflict) {
			return Result{}, err
		}
		if attempt >= runRetries {
			return Result{}, apperr.Conflictf("bulk analysis %s is being run concurrently; try again", r.ID)
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	rows, err := s.repo.Aggregate(ctx, r.GroupBy, r.Filter)
	if err != nil {
		return Result{}, err
	}
	k := DefaultK
	if s.k != nil {
		if v := s.k.BulkK(); v >= 1 {
			k = v
		}
	}
	res := Result{RequestID: r.ID, K: k, Rows: []Row{}}
	for _, row := range rows {
		if row.Count < k {
			res.SuppressedGroups++
			continue
		}
		res.Rows = append(res.Rows, row)
	}
	slices.SortFunc(res.Rows, func(a, b Row) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(keyString(r.GroupBy, a), keyString(r.GroupBy, b))
	})
	audit.Wrote(ctx, "bulk.run", ref(r.ID), fmt.Sprintf("%d groups, %d suppressed", len(res.Rows), res.SuppressedGroups))
	return res, nil
}

func keyString(ds []Dimension, r Row) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprint(&b, r.Key[string(d)], "\x00")
	}
	return b.String()
}
