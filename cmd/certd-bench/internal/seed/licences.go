package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"time"

	"certd/internal/app"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/demo"
	"certd/internal/registry"
)

// seeder is one run's state.
type seeder struct {
	o     Options
	app   *app.App
	now   time.Time // UTC
	today time.Time // the city's date, midnight UTC
	types map[string]*typeInfo

	stored, holders int
	sampleLicence   string
	// refs is a uniform sample of the stored current licences (reservoir
	// sampling), for audit records about them; sample is the sample
	// holder's licence, which gets a share of its own.
	refs   []licenceRef
	offers int
	rng    *rand.Rand
	sample licenceRef

	caseRefs []caseRef
	appended int
}

// licenceRef is what an audit record says about a licence.
type licenceRef struct {
	id, holder, issuer, typeCode string
}

// What a holder of each kind holds: organisations a business licence, a
// food licence and a builder's qualification; persons a food licence and
// a physician's licence. The sample holder is organisation 0, which has
// every type of caseMatter.
var (
	orgTypes    = []string{demo.BusinessLicence, demo.FoodLicence, demo.BuilderQualification}
	personTypes = []string{demo.FoodLicence, demo.PhysicianLicence}
)

// caseMatter is the matter of the cases seeded: 食品经营许可（延续）, which
// needs a business licence and a food licence.
const caseMatter = "350100-SP-0002"

// personArea is the district of the seeded people (仓山区), so their
// resident IDs never meet the made-up people of Gulou district that load
// generators issue to.
const personArea = "350104"

type holder struct {
	code, name string
	kind       certificate.HolderKind
	types      []string
}

// holderOf is the h-th holder: organisations at even h, persons at odd.
func holderOf(h int) holder {
	k := h / 2
	if h%2 == 0 {
		return holder{code: demo.CreditCode(k), name: fmt.Sprintf("福州示例%07d有限公司", k), kind: certificate.Organization, types: orgTypes}
	}
	return holder{code: demo.ResidentIDIn(personArea, k), name: fmt.Sprintf("居民%07d", k), kind: certificate.Person, types: personTypes}
}

// stateWheel spreads lineages over every state, by weight out of 100.
var stateWheel = []struct {
	state certificate.State
	share int
}{
	{certificate.Valid, 70}, {certificate.Superseded, 8}, {certificate.Expired, 6}, {certificate.Suspended, 3},
	{certificate.Pledged, 2}, {certificate.Lost, 2}, {certificate.Revoked, 3}, {certificate.Cancelled, 4},
	{certificate.Abolished, 2},
}

// stateActions is the action that put a licence in a state.
var stateActions = map[certificate.State]certificate.Action{
	certificate.Suspended: certificate.Suspend, certificate.Pledged: certificate.Pledge, certificate.Lost: certificate.ReportLost,
	certificate.Revoked: certificate.Revoke, certificate.Cancelled: certificate.Cancel, certificate.Abolished: certificate.Abolish,
}

func pickState(r uint64) certificate.State {
	n := int(r % 100)
	for _, w := range stateWheel {
		if n < w.share {
			return w.state
		}
		n -= w.share
	}
	return certificate.Valid
}

// mix is splitmix64: a well-spread 64-bit value of i, so that states,
// dates and choices look random but every run makes the same data.
func mix(i uint64) uint64 {
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

const day = 24 * time.Hour

// batchRows is how many licence versions are sealed and stored together.
const batchRows = 2000

// sampleSize bounds the licences kept for audit records.
const sampleSize = 100_000

// batchOf is one batch of licences and the holders they belong to.
type batchOf struct {
	rows    []certificate.Certificate
	holders []registry.Entry
}

// licences makes, seals and stores o.Licences versions, holder after
// holder: numbering and sealing of one batch run while the previous one
// is stored.
func (s *seeder) licences(ctx context.Context) error {
	s.rng = rand.New(rand.NewPCG(uint64(s.now.UnixNano()), 1))
	total := s.o.Licences
	prog := &progress{w: s.o.Progress, what: "licences", total: total}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *batchOf, 1)
	stored := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				err = s.storeBatch(ctx, b)
				if err == nil {
					s.stored += len(b.rows)
					prog.report(s.stored, false)
				} else {
					cancel()
				}
			}
		}
		stored <- err
	}()
	produced, lineage := 0, 0
	var err error
	for h := 0; produced < total && err == nil; {
		b := &batchOf{}
		for len(b.rows) < batchRows && produced < total {
			hd := holderOf(h)
			b.holders = append(b.holders, registry.Entry{Code: hd.code, Kind: string(hd.kind), Name: hd.name,
				Source: "seed", UpdatedAt: s.now.Truncate(time.Millisecond)})
			for _, tc := range hd.types {
				if produced == total {
					break
				}
				rows := s.lineage(uint64(lineage), h, hd, s.types[tc], total-produced)
				b.rows = append(b.rows, rows...)
				produced += len(rows)
				lineage++
			}
			h++
		}
		s.holders = h
		if err = s.number(ctx, b.rows); err == nil {
			err = s.seal(b.rows)
		}
		if err == nil {
			s.sampleRefs(b.rows)
			select {
			case batches <- b:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
	}
	close(batches)
	if serr := <-stored; serr != nil {
		return serr
	}
	if err != nil {
		return err
	}
	prog.report(s.stored, true)
	return nil
}

// storeBatch stores a batch's holders in the base registry and its
// licences.
func (s *seeder) storeBatch(ctx context.Context, b *batchOf) error {
	if err := s.app.Store.PutRegistryEntries(ctx, b.holders); err != nil {
		return fmt.Errorf("seed: registry: %w", err)
	}
	res, err := s.app.Store.Insert(ctx, b.rows)
	if err != nil {
		return fmt.Errorf("seed: store licences: %w", err)
	}
	for i, r := range res {
		if r.Existing != nil {
			return fmt.Errorf("seed: licence %s was not stored: it has the idempotency key of %s", b.rows[i].ID, r.Existing.ID)
		}
	}
	return nil
}

// lineage makes the versions of the n-th licence, of holder h (index
// hi) and type t: one version, or two when it was changed (the first
// SUPERSEDED) and room is left for both. The sample holder's licences
// are all VALID.
func (s *seeder) lineage(n uint64, hi int, h holder, t *typeInfo, room int) []certificate.Certificate {
	r := mix(n)
	state := pickState(r)
	if hi == 0 || (state == certificate.Superseded && room < 2) {
		state = certificate.Valid
	}
	months := 36 // for types without a validity of their own, an expired licence had this one
	if t.t.ValidityMonths != nil {
		months = *t.t.ValidityMonths
	}
	r2 := mix(r)
	var from time.Time
	switch state {
	case certificate.Expired:
		from = s.today.Add(-time.Duration(months*31+30+int(r2%(3*365))) * day)
	case certificate.Superseded:
		from = s.today.Add(-time.Duration(400+r2%(3*365)) * day)
	default:
		from = s.today.Add(-time.Duration(1+r2%(4*365)) * day)
	}
	c := certificate.Certificate{
		TypeCode: t.t.Code, IssuerCode: t.t.IssuerCode, Version: 1, TypeVersion: t.t.Version,
		Holder: certificate.Holder{Code: h.code, Name: h.name, Kind: h.kind}, State: certificate.Valid, Current: true,
		Data: data(t.t, h, n), ValidFrom: from, Rev: 1,
		IssuedAt: from.Add(time.Hour + time.Duration(r2%(8*3600))*time.Second),
		IssuedBy: "seed-clerk-" + strconv.Itoa(int(r%50)),
	}
	if t.t.ValidityMonths != nil || state == certificate.Expired {
		u := from.AddDate(0, months, -1)
		c.ValidUntil = &u
	}
	c.Timeliness = timeliness(c.IssuedAt)
	c.History = []certificate.StateChange{{At: c.IssuedAt, Action: "ISSUE", By: c.IssuedBy}}
	switch state {
	case certificate.Valid:
	case certificate.Expired:
		c.State = certificate.Expired
		c.History = append(c.History, certificate.StateChange{At: c.ValidUntil.Add(day + time.Minute), Action: "EXPIRE", By: "system",
			Reason: "validity ended on " + c.ValidUntil.Format(time.DateOnly)})
	case certificate.Superseded:
		next := c
		next.Version, next.Current = 2, true
		next.IssuedAt = c.IssuedAt.Add(time.Duration(30+r2%300) * day)
		next.Data = data(t.t, h, n+1<<40) // the changed data
		next.History = []certificate.StateChange{{At: next.IssuedAt, Action: "CHANGE", By: c.IssuedBy, Reason: "登记事项变更"}}
		next.Timeliness = timeliness(next.IssuedAt)
		c.State, c.Current = certificate.Superseded, false
		return []certificate.Certificate{c, next}
	default:
		c.State = state
		c.History = append(c.History, certificate.StateChange{At: c.IssuedAt.Add(time.Duration(1+r2%200) * day),
			Action: string(stateActions[state]), By: c.IssuedBy, Reason: "依法处理"})
	}
	return []certificate.Certificate{c}
}

// timeliness is an online generation, before the business completed.
func timeliness(issued time.Time) certificate.Timeliness {
	completed := issued.Add(time.Hour)
	return certificate.Timeliness{Mode: certificate.Online, CompletedAt: completed, BatchSize: 1, Deadline: &completed}
}

// data fills t's template for holder h: names from the holder, other
// text from the field's label and n, numbers, dates and flags from n.
func data(t catalogue.CertificateType, h holder, n uint64) map[string]any {
	d := make(map[string]any, len(t.Fields))
	r := mix(n ^ 0x5eed)
	for _, f := range t.Fields {
		switch f.Type {
		case catalogue.FieldString:
			switch f.Name {
			case "entityName", "operatorName", "enterpriseName", "name":
				d[f.Name] = h.name
			case "legalRepresentativeId":
				d[f.Name] = demo.ResidentIDIn(personArea, int(r%20_000_000))
			case "gender":
				d[f.Name] = []string{"男", "女"}[r%2]
			default:
				d[f.Name] = f.Label + strconv.FormatUint(n%1_000_000, 10)
			}
		case catalogue.FieldNumber:
			d[f.Name] = float64(1 + r%10_000)
		case catalogue.FieldDate:
			d[f.Name] = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(r%20_000)).Format(time.DateOnly)
		case catalogue.FieldBoolean:
			d[f.Name] = r%3 == 0
		}
	}
	if v, err := certificate.ValidateData(t, d); err == nil {
		return v
	}
	return d // Insert stores it as made; a template the seed cannot fill shows in verification
}

// number reserves serials for the batch, per issuer and year of issue as
// certd numbers them, and gives each version its identifier; the second
// version of a lineage follows its first in rows.
func (s *seeder) number(ctx context.Context, rows []certificate.Certificate) error {
	type key struct {
		issuer string
		year   int
	}
	need := map[key]int{}
	for i := range rows {
		if rows[i].Version == 1 {
			need[key{rows[i].IssuerCode, rows[i].IssuedAt.Year()}]++
		}
	}
	next := map[key]int64{}
	for k, n := range need {
		first, err := s.app.Store.NextSerials(ctx, k.issuer, k.year, n)
		if err != nil {
			return fmt.Errorf("seed: serials: %w", err)
		}
		next[k] = first
	}
	for i := range rows {
		c := &rows[i]
		if c.Version == 1 {
			k := key{c.IssuerCode, c.IssuedAt.Year()}
			c.Serial = certificate.FormatSerial(k.year, next[k])
			next[k]++
		} else {
			c.Serial = rows[i-1].Serial
		}
		id := certificate.ID{TypeCode: c.TypeCode, IssuerCode: c.IssuerCode, Serial: c.Serial, Version: c.Version}
		c.ID, c.Lineage = id.String(), id.Lineage()
		if c.Version == 2 {
			rows[i-1].Successor = c.ID
		}
	}
	return nil
}

// seal renders and seals every version with its issuer's key, on every
// core; a seal is dated when its version was issued.
func (s *seeder) seal(rows []certificate.Certificate) error {
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(rows) && errs[w] == nil; i += workers {
				c := &rows[i]
				t := s.types[c.TypeCode]
				errs[w] = certificate.SealDocument(t.signer, c, t.t.Name, t.issuerName)
				c.Seal.SealedAt = c.IssuedAt
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}

// sampleRefs offers the batch's current versions to the sample kept for
// audit records, and notes the sample holder's food licence.
func (s *seeder) sampleRefs(rows []certificate.Certificate) {
	sampleHolder := holderOf(0).code
	for i := range rows {
		c := &rows[i]
		if !c.Current {
			continue
		}
		ref := licenceRef{id: c.ID, holder: c.Holder.Code, issuer: c.IssuerCode, typeCode: c.TypeCode}
		if s.sampleLicence == "" && c.Holder.Code == sampleHolder && c.TypeCode == demo.FoodLicence {
			s.sampleLicence, s.sample = c.ID, ref
		}
		s.offers++
		if len(s.refs) < sampleSize {
			s.refs = append(s.refs, ref)
		} else if j := s.rng.IntN(s.offers); j < sampleSize {
			s.refs[j] = ref
		}
	}
}
