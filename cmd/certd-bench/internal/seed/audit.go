package seed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"certd/internal/audit"
	"certd/internal/cases"
	"certd/internal/certificate"
	"certd/internal/demo"
	"certd/internal/identity"
)

// caseRef is a seeded case, for the audit records of reads through it.
type caseRef struct {
	id, holder string
}

// maxCases bounds the cases made: each is its own durable write.
const maxCases = 1000

// cases opens the sample holder's case and one more for every twentieth
// organisation seeded (at most maxCases in all), at the service centre
// for caseMatter, and returns the sample case's id.
func (s *seeder) cases(ctx context.Context) (sampleID string, n int, err error) {
	orgs := (s.holders + 1) / 2
	want := min(maxCases, 1+orgs/20)
	for i := range want {
		h := holderOf(2 * i * 20) // organisations 0, 20, 40, ...
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		c := cases.Case{ID: hex.EncodeToString(raw[:]), CaseNo: fmt.Sprintf("SEED-%d-%06d", s.now.Unix(), i),
			UnitCode: demo.ServiceCentre, MatterCode: caseMatter,
			Holder:   certificate.Holder{Code: h.code, Name: h.name, Kind: h.kind},
			OpenedBy: "seed-clerk-" + strconv.Itoa(i%50), OpenedAt: s.now.Add(-time.Duration(i%30) * day).Truncate(time.Millisecond)}
		if err := s.app.Store.CreateCase(ctx, c); err != nil {
			return "", i, fmt.Errorf("seed: case: %w", err)
		}
		if i == 0 {
			sampleID = c.ID
		}
		s.caseRefs = append(s.caseRefs, caseRef{id: c.ID, holder: h.code})
	}
	return sampleID, want, nil
}

// appendSize is the records of one Append: one group commit each.
const appendSize = 4096

// hotShare is the percentage of access records about the sample
// licence, so that its access log has many pages at any size.
const hotShare = 5

// audit appends o.AuditRecords records through the instance's audit
// writer, which links them into its hash chain and signs checkpoints:
// case reads of the sampled licences (a share of them about the sample
// licence, some denied), and a few issuance records. Their times spread
// evenly over the year before now, in chain order.
func (s *seeder) audit(ctx context.Context) error {
	total := s.o.AuditRecords
	if total == 0 {
		return nil
	}
	if len(s.refs) == 0 {
		return fmt.Errorf("seed: audit records need licences to be about; seed some")
	}
	prog := &progress{w: s.o.Progress, what: "audit records", total: total}
	start := s.now.Add(-365 * day)
	step := 365 * day / time.Duration(total)
	// Two appenders: the writer stores one batch while it links the next.
	var mu sync.Mutex
	next, done := 0, 0
	var firstErr error
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			recs := make([]audit.Record, 0, appendSize)
			for {
				mu.Lock()
				from := next
				if from >= total || firstErr != nil {
					mu.Unlock()
					return
				}
				to := min(from+appendSize, total)
				next = to
				mu.Unlock()
				recs = recs[:0]
				for j := from; j < to; j++ {
					recs = append(recs, s.record(j, start.Add(time.Duration(j)*step)))
				}
				err := s.app.Audit.Append(ctx, recs)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("seed: audit: %w", err)
				}
				done += to - from
				s.appended = done
				prog.report(done, false)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	prog.report(s.appended, true)
	return nil
}

// record is the j-th audit record, at at.
func (s *seeder) record(j int, at time.Time) audit.Record {
	r := mix(uint64(j) ^ 0xa0d17)
	ref := s.refs[r%uint64(len(s.refs))]
	if int(r>>32%100) < hotShare {
		ref = s.sample
	}
	cs := s.caseRefs[r%uint64(len(s.caseRefs))]
	rec := audit.Record{
		At: at, Kind: audit.KindAccess, Subject: "seed-clerk-" + strconv.Itoa(int(r%50)), Org: demo.ServiceCentre,
		Roles: []string{identity.RoleStaff}, Operation: "query case", Action: "certificate.read",
		CaseID: cs.id, MatterCode: caseMatter, HolderCode: ref.holder, CertificateID: ref.id, IssuerCode: ref.issuer,
		Fields: s.types[ref.typeCode].shown, Decision: audit.Allow, PolicyVersion: 1,
		RequestID: strconv.FormatUint(r, 36), Client: "10.20." + strconv.Itoa(int(r>>8%256)) + "." + strconv.Itoa(int(r>>16%256)),
	}
	switch r >> 40 % 100 {
	case 0, 1: // a read refused: the licence is not one the case may show
		rec.Decision, rec.Fields, rec.Reason = audit.Deny, nil, "the licence is not one the case's matter needs"
	case 2, 3, 4: // the issuer's write
		rec.Kind, rec.Action, rec.Operation, rec.Org = audit.KindWrite, "certificate.issue", "mutation issueCertificate", ref.issuer
		rec.Roles, rec.CaseID, rec.MatterCode, rec.Fields = []string{identity.RoleIssuer}, "", "", nil
		rec.Reason = string(certificate.Online)
	}
	return rec
}
