package audit

import (
	"context"
	"slices"
	"sync"
	"time"

	"certd/internal/apperr"
)

// Ref names what a record is about.
type Ref struct {
	CertificateID string
	HolderCode    string
	IssuerCode    string
	CaseID        string
	MatterCode    string
	Basis         string // why the caller may do it: BasisCase, BasisHolder...
	Target        string // for writes without a licence: a unit, type, matter, policy version...
}

// ActionRead is the action of a licence read.
const ActionRead = "certificate.read"

// A Read is what one response carried of a licence (or, for another
// Action, what a case told about its holder), decided from the response
// as it left: the fields it carried and whether it reached the client.
type Read struct {
	Action string // ActionRead, or e.g. "case.missingTypes"
	Ref    Ref
	// Fields are the paths the response carried (holder.name,
	// data.address…; names, never values). The trail takes the slice
	// over: the caller must not use it again.
	Fields []string
	Reason string
	// Delivered is false when an error kept the data from the client
	// (gqlgen nulled it): the record then says NOT_DELIVERED.
	Delivered bool
}

// Trail collects the audit records of one request: what its response
// carried of each licence, denials and writes. The response gate stores
// them, and only then lets the response out. All methods are safe on a
// nil *Trail (requests outside the API: seeding, tests) and for
// concurrent use.
type Trail struct {
	mu        sync.Mutex
	base      Record
	operation string
	reads     map[readKey]int // index in order
	order     []readAcc       // reads in the order first shown
	other     []Record
	version   func() int
}

// readKey is what a read record is about: a licence (or a case's holder),
// read through a case or not.
type readKey struct{ action, certificateID, caseID string }

// readAcc gathers the reads of one key: the fields delivered, or while
// none was, the fields that were not.
type readAcc struct {
	rec       Record
	delivered bool
}

// NewTrail starts the trail of a request: base carries who (Subject, Org,
// Roles), RequestID and Client; version reports the policy version.
func NewTrail(base Record, version func() int) *Trail {
	return &Trail{base: base, version: version}
}

type trailKey struct{}

// WithTrail attaches a trail to a request's context.
func WithTrail(ctx context.Context, t *Trail) context.Context {
	return context.WithValue(ctx, trailKey{}, t)
}

// TrailFrom returns the request's trail, or nil.
func TrailFrom(ctx context.Context) *Trail {
	t, _ := ctx.Value(trailKey{}).(*Trail)
	return t
}

// SetOperation names the request's operation, e.g. "query case".
func (t *Trail) SetOperation(op string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.operation = op
	t.mu.Unlock()
}

// SetIdentity fills who made the request once it is known.
func (t *Trail) SetIdentity(subject, org string, roles []string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.base.Subject, t.base.Org, t.base.Roles = subject, org, roles
	t.mu.Unlock()
}

// Show records what the response carried of a licence (see Read). Reads
// of one licence through one case are one record: the fields of every
// read delivered, or NOT_DELIVERED with their fields when none was.
func (t *Trail) Show(r Read) {
	if t == nil || r.Ref.CertificateID == "" && r.Ref.CaseID == "" {
		return
	}
	if r.Action == "" {
		r.Action = ActionRead
	}
	key := readKey{r.Action, r.Ref.CertificateID, r.Ref.CaseID}
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.reads[key]
	if !ok {
		if t.reads == nil {
			t.reads = map[readKey]int{}
		}
		i = len(t.order)
		t.reads[key] = i
		t.order = append(t.order, readAcc{rec: *t.record(KindAccess, r.Action, r.Ref, NotDelivered, r.Reason)})
	}
	acc := &t.order[i]
	switch {
	case r.Delivered && !acc.delivered:
		acc.delivered, acc.rec.Decision, acc.rec.Fields = true, Allow, nil
	case !r.Delivered && acc.delivered:
		return
	}
	if acc.rec.Fields == nil {
		acc.rec.Fields = r.Fields
	} else {
		acc.rec.Fields = append(acc.rec.Fields, r.Fields...)
	}
}

// Deny records a refused read.
func (t *Trail) Deny(action string, ref Ref, reason string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.other = append(t.other, *t.record(KindAccess, action, ref, Deny, reason))
}

// Write records a change.
func (t *Trail) Write(action string, ref Ref, detail string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.other = append(t.other, *t.record(KindWrite, action, ref, Allow, detail))
}

// record makes a record from the base; t.mu is held.
func (t *Trail) record(kind, action string, ref Ref, decision, reason string) *Record {
	r := t.base
	r.Kind, r.Action, r.Decision, r.Reason = kind, action, decision, reason
	r.CertificateID, r.HolderCode, r.IssuerCode, r.CaseID, r.MatterCode = ref.CertificateID, ref.HolderCode, ref.IssuerCode, ref.CaseID, ref.MatterCode
	r.Basis = ref.Basis
	if ref.Target != "" && r.CertificateID == "" {
		r.Reason = joinReason(ref.Target, reason)
	}
	return &r
}

func joinReason(target, reason string) string {
	if reason == "" {
		return target
	}
	return target + ": " + reason
}

// AnonymousSubject is the subject of records of requests without a valid
// token.
const AnonymousSubject = "anonymous"

// Records returns every record collected, stamped with at, the operation
// and the policy version; read records list their fields sorted, once. Every
// value is checked (clean). The records of a request without a valid
// token are one record at most, counting the others; records of one
// request alike in everything are one record counting them.
func (t *Trail) Records(at time.Time) []Record {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	v := 0
	if t.version != nil {
		v = t.version()
	}
	out := make([]Record, 0, len(t.order)+len(t.other))
	for i := range t.order {
		acc := &t.order[i]
		slices.Sort(acc.rec.Fields)
		acc.rec.Fields = slices.Compact(acc.rec.Fields)
		out = append(out, acc.rec)
	}
	out = appendMerged(out, t.other)
	for i := range out {
		out[i].At, out[i].Operation, out[i].PolicyVersion = at, t.operation, v
		if out[i].Roles == nil {
			out[i].Roles = []string{}
		}
		if out[i].Fields == nil {
			out[i].Fields = []string{}
		}
		clean(&out[i])
	}
	if t.base.Subject == AnonymousSubject && len(out) > 1 {
		first := out[0]
		first.Count = 0
		for i := range out {
			first.Count += max(out[i].Count, 1)
		}
		out = append(out[:0], first)
	}
	return out
}

// appendMerged appends recs to out, each record alike in everything to
// one appended before counted in that one instead (aliases repeating one
// write or refusal in a request).
func appendMerged(out, recs []Record) []Record {
	start := len(out)
	for i := range recs {
		j := slices.IndexFunc(out[start:], func(o Record) bool { return alike(&o, &recs[i]) })
		if j < 0 {
			out = append(out, recs[i])
			continue
		}
		o := &out[start+j]
		o.Count = max(o.Count, 1) + max(recs[i].Count, 1)
	}
	return out
}

// alike reports whether two records of one request say the same.
func alike(a, b *Record) bool {
	return a.Kind == b.Kind && a.Action == b.Action && a.Decision == b.Decision && a.Reason == b.Reason &&
		a.CertificateID == b.CertificateID && a.HolderCode == b.HolderCode && a.IssuerCode == b.IssuerCode &&
		a.CaseID == b.CaseID && a.MatterCode == b.MatterCode && a.Basis == b.Basis && slices.Equal(a.Fields, b.Fields)
}

// Refused records a refused read when err is a denial (FORBIDDEN or
// UNAUTHENTICATED), and returns err either way.
func Refused(ctx context.Context, action string, ref Ref, err error) error {
	if err == nil {
		return nil
	}
	if code, msg, _ := apperr.CodeOf(err); code == apperr.Forbidden || code == apperr.Unauthenticated {
		TrailFrom(ctx).Deny(action, ref, msg)
	}
	return err
}

// Wrote records a change in the request's trail.
func Wrote(ctx context.Context, action string, ref Ref, detail string) {
	TrailFrom(ctx).Write(action, ref, detail)
}
