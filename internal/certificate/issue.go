package certificate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/catalogue"
	"certd/internal/identity"
	"certd/internal/registry"
	"certd/internal/seal"
)

// MaxBatch is the most licences one issueCertificates call may carry.
const MaxBatch = 1000

// IssueInput asks for one new licence.
type IssueInput struct {
	TypeCode       string
	Holder         Holder
	Data           map[string]any
	ValidFrom      *time.Time
	ValidUntil     *time.Time
	IdempotencyKey string
	// Mode and CompletedAt feed the timeliness record (第七条); the
	// defaults are ONLINE and now.
	Mode        Mode
	CompletedAt *time.Time
}

// BatchItem is the outcome of one input of a batch.
type BatchItem struct {
	Index       int
	Certificate *Certificate
	Duplicate   bool // an earlier licence with the same idempotency key
	Err         error
}

// BatchResult is the outcome of a batch, item by item.
type BatchResult struct {
	Created, Duplicates, Failed int
	Items                       []BatchItem
}

// Issue generates, seals and publishes one licence of the caller's unit.
// Re-sending an idempotency key returns the licence first issued with it.
func (s *Service) Issue(ctx context.Context, in IssueInput) (Certificate, error) {
	res, err := s.IssueBatch(ctx, []IssueInput{in})
	if err != nil {
		return Certificate{}, err
	}
	if it := res.Items[0]; it.Err != nil {
		return Certificate{}, it.Err
	}
	return *res.Items[0].Certificate, nil
}

// IssueBatch issues many licences of the caller's unit; each input
// succeeds or fails on its own, and every stored licence is sealed.
func (s *Service) IssueBatch(ctx context.Context, ins []IssueInput) (BatchResult, error) {
	p, err := identity.Require(ctx)
	if err != nil {
		return BatchResult{}, err
	}
	if len(ins) == 0 || len(ins) > MaxBatch {
		return BatchResult{}, apperr.Invalid("a batch holds 1 to %d licences", MaxBatch)
	}
	if err := s.authz.Authorize(ctx, "certificate.issue", map[string]any{"issuer": p.Org, "count": len(ins)}); err != nil {
		return BatchResult{}, err
	}
	// Declaring STOCK takes a licence out of the 第七条 deadline: for the
	// stock import only, as the policy decides.
	if slices.ContainsFunc(ins, func(in IssueInput) bool { return in.Mode == Stock }) {
		if err := s.authz.Authorize(ctx, "certificate.import", map[string]any{"issuer": p.Org, "count": len(ins)}); err != nil {
			return BatchResult{}, err
		}
	}
	unit, err := s.cat.SealingUnit(ctx, p.Org)
	if apperr.CodeIs(err, apperr.NotFound) {
		return BatchResult{}, apperr.Forbiddenf("the caller's unit %q is not registered", p.Org)
	} else if err != nil {
		return BatchResult{}, err
	}
	signer, err := s.keys.Signer(ctx, unit.Code, unit.SealPublicKey)
	if err != nil {
		return BatchResult{}, err
	}
	now := s.stamp()
	res := BatchResult{Items: make([]BatchItem, len(ins))}
	b := &batch{svc: s, unit: unit, by: p.Subject, now: now, size: len(ins), types: map[string]catalogue.CertificateType{}}
	// Types first, so that preparing can run on every core with the
	// type cache read-only.
	typeErr := map[string]error{}
	for _, in := range ins {
		if _, seen := typeErr[in.TypeCode]; !seen {
			_, typeErr[in.TypeCode] = b.typ(ctx, in.TypeCode)
		}
	}
	// Keys already used, in one look-up rather than one per input.
	var keys []string
	for _, in := range ins {
		if in.IdempotencyKey != "" {
			keys = append(keys, in.IdempotencyKey)
		}
	}
	if len(keys) > 0 {
		if b.stored, err = s.repo.StoredKeys(ctx, unit.Code, keys); err != nil {
			return BatchResult{}, err
		}
	}
	hs := make([]registry.Holder, len(ins))
	for i, in := range ins {
		hs[i] = registry.Holder{Code: in.Holder.Code, Name: in.Holder.Name, Kind: string(in.Holder.Kind)}
	}
	if b.holderErrs, err = s.holders.CheckAll(ctx, hs); err != nil {
		return BatchResult{}, err
	}
	certs := make([]Certificate, len(ins))
	parallel(len(ins), func(i int) {
		res.Items[i].Index = i
		if err := typeErr[ins[i].TypeCode]; err != nil {
			res.Items[i].Err = err
			return
		}
		c, dup, err := b.prepare(ctx, ins[i], b.holderErrs[i])
		switch {
		case err != nil:
			res.Items[i].Err = err
		case dup != nil:
			res.Items[i].Certificate, res.Items[i].Duplicate = dup, true
		default:
			certs[i] = c
		}
	})
	var todo []int // indexes of inputs to store
	for i, it := range res.Items {
		if it.Err == nil && it.Certificate == nil {
			todo = append(todo, i)
		}
	}
	if len(todo) > 0 {
		if err := b.number(ctx, certs, todo); err != nil {
			return BatchResult{}, err
		}
		if err := sealAll(signer, certs, todo, unit.Name, b.types); err != nil {
			return BatchResult{}, err
		}
		batchCerts := make([]Certificate, len(todo))
		for j, i := range todo {
			batchCerts[j] = certs[i]
		}
		stored, err := s.repo.Insert(ctx, batchCerts)
		if err != nil {
			return BatchResult{}, fmt.Errorf("store licences: %w", err)
		}
		for j, i := range todo {
			if e := stored[j].Existing; e != nil {
				res.Items[i].Certificate, res.Items[i].Duplicate = e, true
			} else {
				c := certs[i]
				res.Items[i].Certificate = &c
			}
		}
	}
	// A replay returns a licence stored earlier, which is a read of it:
	// replays count against the per-request budget like any read. Past
	// it, a replay still says duplicate (a retried import needs no more
	// to go on) but carries no licence.
	for i := range res.Items {
		it := &res.Items[i]
		switch {
		case it.Err != nil:
			res.Failed++
		case it.Duplicate:
			res.Duplicates++
			// The licence may have been stored by a request whose
			// audit record was lost with the process (the licence and
			// the log are separate writes); the retry that finds it
			// records the issuance, so no stored licence goes unlogged.
			audit.Wrote(ctx, "certificate.issue", auditRef(it.Certificate), "replay: idempotency key already issued")
			if authz.Spend(ctx, 1) != nil {
				it.Certificate = nil
			}
		default:
			res.Created++
			audit.Wrote(ctx, "certificate.issue", auditRef(it.Certificate), string(it.Certificate.Timeliness.Mode))
		}
	}
	return res, nil
}

// batch carries what the inputs of one batch share.
type batch struct {
	svc    *Service
	unit   catalogue.Unit
	by     string
	now    time.Time
	size   int
	types  map[string]catalogue.CertificateType
	stored map[string]string // idempotency key → id of the stored licence

	holderErrs []error
}

func (b *batch) typ(ctx context.Context, code string) (catalogue.CertificateType, error) {
	if t, ok := b.types[code]; ok {
		return t, nil
	}
	t, err := b.svc.cat.LookupType(ctx, code)
	if apperr.CodeIs(err, apperr.NotFound) {
		return t, apperr.Invalid("certificate type %q is not in the catalogue", code)
	}
	if err != nil {
		return t, err
	}
	b.types[code] = t
	return t, nil
}

// prepare validates one input and builds its licence without id and seal;
// it returns the stored licence instead when the idempotency key is known.
func (b *batch) prepare(ctx context.Context, in IssueInput, holderErr error) (Certificate, *Certificate, error) {
	s := b.svc
	if in.IdempotencyKey != "" {
		if len(in.IdempotencyKey) > 200 || !utf8.ValidString(in.IdempotencyKey) {
			return Certificate{}, nil, apperr.Invalid("idempotencyKey is at most 200 bytes of text")
		}
		if id, ok := b.stored[in.IdempotencyKey]; ok {
			c, err := s.repo.Get(ctx, id)
			if err != nil {
				return Certificate{}, nil, err
			}
			return Certificate{}, &c, nil
		}
	}
	t, err := b.typ(ctx, in.TypeCode)
	if err != nil {
		return Certificate{}, nil, err
	}
	if t.IssuerCode != b.unit.Code {
		return Certificate{}, nil, apperr.Forbiddenf("certificate type %s is issued by %s, not by the caller's unit", t.Code, t.IssuerCode)
	}
	h := in.Holder
	h.Name = strings.TrimSpace(h.Name)
	if holderErr != nil {
		return Certificate{}, nil, holderErr
	}
	data, err := ValidateData(t, in.Data)
	if err != nil {
		return Certificate{}, nil, err
	}
	today := s.Today()
	from := today
	if in.ValidFrom != nil {
		from = *in.ValidFrom
	}
	until := in.ValidUntil
	if until == nil && t.ValidityMonths != nil {
		u := from.AddDate(0, *t.ValidityMonths, -1)
		until = &u
	}
	if until != nil && until.Before(from) {
		return Certificate{}, nil, apperr.Invalid("validUntil %s is before validFrom %s", until.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	if until != nil && until.Before(today) {
		return Certificate{}, nil, apperr.Invalid("validUntil %s has passed: an expired licence cannot be issued", until.Format(time.DateOnly))
	}
	mode := in.Mode
	if mode == "" {
		mode = Online
	}
	if mode != Online && mode != Offline && mode != Stock {
		return Certificate{}, nil, apperr.Invalid("mode must be ONLINE, OFFLINE or STOCK")
	}
	completed, err := completion(in.CompletedAt, b.now)
	if err != nil {
		return Certificate{}, nil, err
	}
	tl := Timeliness{Mode: mode, CompletedAt: completed, BatchSize: b.size, Deadline: s.cal.Deadline(mode, completed, b.size)}
	tl.Late = tl.Deadline != nil && b.now.After(*tl.Deadline)
	return Certificate{
		TypeCode: t.Code, IssuerCode: b.unit.Code, Version: 1, TypeVersion: t.Version,
		Holder: h, State: Valid, Current: true, Data: data, ValidFrom: from, ValidUntil: until, IssuedAt: b.now,
		History:    []StateChange{{At: b.now, Action: "ISSUE", By: b.by}},
		Timeliness: tl, IdempotencyKey: in.IdempotencyKey, IssuedBy: b.by, Rev: 1,
	}, nil, nil
}

// ClockSkew is how far ahead of the server's clock a businessCompletedAt
// may be and still be taken (as now), for callers whose clocks run a
// little fast.
const ClockSkew = 2 * time.Minute

// earliestCompletion bounds businessCompletedAt from below.
var earliestCompletion = time.Date(1949, 10, 1, 0, 0, 0, 0, time.UTC)

// completion is when the business was completed, which sets the deadline
// (第七条): now (the server's clock) unless the caller says earlier. A time
// after now is refused, as it would move the deadline out of reach (within
// ClockSkew it is taken as now), and so is one before 1949-10-01.
func completion(given *time.Time, now time.Time) (time.Time, error) {
	if given == nil {
		return now, nil
	}
	at := given.UTC().Truncate(time.Millisecond)
	switch {
	case at.After(now.Add(ClockSkew)):
		return time.Time{}, apperr.Invalid("businessCompletedAt %s is in the future: a licence is generated when or after its business is completed",
			at.Format(time.RFC3339))
	case at.After(now):
		return now, nil
	case at.Before(earliestCompletion):
		return time.Time{}, apperr.Invalid("businessCompletedAt %s is before %s", at.Format(time.RFC3339), earliestCompletion.Format(time.DateOnly))
	}
	return at, nil
}

// number reserves serials and gives each licence its identifier.
func (b *batch) number(ctx context.Context, certs []Certificate, todo []int) error {
	year := b.now.In(b.svc.cal.Loc).Year()
	first, err := b.svc.repo.NextSerials(ctx, b.unit.Code, year, len(todo))
	if err != nil {
		return err
	}
	for j, i := range todo {
		c := &certs[i]
		c.Serial = FormatSerial(year, first+int64(j))
		id := ID{TypeCode: c.TypeCode, IssuerCode: c.IssuerCode, Serial: c.Serial, Version: 1}
		c.ID, c.Lineage = id.String(), id.Lineage()
	}
	return nil
}

// sealAll renders and seals the licences at todo on every core.
func sealAll(signer *seal.Signer, certs []Certificate, todo []int, issuerName string, types map[string]catalogue.CertificateType) error {
	errs := make([]error, len(todo))
	parallel(len(todo), func(j int) {
		c := &certs[todo[j]]
		errs[j] = SealDocument(signer, c, types[c.TypeCode].Name, issuerName)
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parallel calls f(0..n-1) on every core and waits for all.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// sealOne renders c's canonical document and seals it.
func SealDocument(signer *seal.Signer, c *Certificate, typeName, issuerName string) error {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return err
	}
	c.Nonce = hex.EncodeToString(nonce[:])
	doc, err := Canonical(c, typeName, issuerName)
	if err != nil {
		return fmt.Errorf("render licence %s: %w", c.ID, err)
	}
	sl, err := signer.Sign([]byte(doc))
	if err != nil {
		return fmt.Errorf("seal licence %s: %w", c.ID, err)
	}
	c.Document = doc
	c.Seal = Seal{Algorithm: sl.Algorithm, Signature: sl.Signature, KeyID: sl.KeyID, SealedAt: sl.SealedAt.UTC().Truncate(time.Millisecond)}
	return nil
}
