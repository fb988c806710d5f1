// Package seed fills a certd store with a city's worth of made-up data
// for scale benchmarks: licences of the demo catalogue (the units, types
// and matters of `certd serve --demo`) spread over many holders and every
// state, sealed with the issuing units' own keys; the holders in the base
// registry; cases; and audit records linked into hash chains and signed by
// the instance's audit writer, so that `certd audit verify` passes and
// `certd serve` serves the result. It writes through the store's
// repositories in large batches, never through the API.
package seed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"certd/internal/app"
	"certd/internal/catalogue"
	"certd/internal/demo"
	"certd/internal/seal"
)

// Options say where to seed and how much.
type Options struct {
	DataDir   string // the data directory: keys, and the SQLite store unless MongoURI
	MongoURI  string
	MasterKey string // the seal keys' master key; default: the data directory's key file

	Licences     int // licence versions to add
	AuditRecords int // audit records to add

	// Progress, when set, receives a line every few seconds.
	Progress io.Writer
	Logger   *slog.Logger
	// Now is the clock (default time.Now): licences are issued over the
	// years before it, audit records over the year before it.
	Now func() time.Time
}

// Result is what Run made, with what benchmarks need to ask for it.
type Result struct {
	// LicenceID is a citable licence of HolderCode issued by IssuerCode.
	LicenceID string `json:"licenceId"`
	// HolderCode holds a citable licence of every type MatterCode
	// requires, and of every type its kind can hold.
	HolderCode string `json:"holderCode"`
	IssuerCode string `json:"issuerCode"`
	MatterCode string `json:"matterCode"`
	// CaseID is an open case of HolderCode for MatterCode, handled by
	// CaseUnit, whose staff may read it.
	CaseID   string `json:"caseId"`
	CaseUnit string `json:"caseUnit"`

	Licences     int `json:"licences"` // versions stored
	Holders      int `json:"holders"`
	Cases        int `json:"cases"`
	AuditRecords int `json:"auditRecords"`
	// Rates observed, per second of each phase.
	LicencesPerSecond     float64 `json:"licencesPerSecond"`
	AuditRecordsPerSecond float64 `json:"auditRecordsPerSecond"`
}

// Limits of one run.
const (
	MaxLicences     = 25_000_000
	MaxAuditRecords = 1_000_000_000
)

// Run opens the store of o as certd does (seeding the demo catalogue when
// it is empty) and adds o.Licences licence versions and o.AuditRecords
// audit records to it. Running it again adds more.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Licences < 0 || o.Licences > MaxLicences || o.AuditRecords < 0 || o.AuditRecords > MaxAuditRecords {
		return Result{}, fmt.Errorf("seed: licences must be in [0, %d] and audit records in [0, %d]", MaxLicences, MaxAuditRecords)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	a, err := app.New(ctx, app.Config{DataDir: o.DataDir, MongoURI: o.MongoURI, MasterKey: o.MasterKey,
		Demo: true, SweepInterval: -1, Logger: o.Logger})
	if err != nil {
		return Result{}, err
	}
	defer a.Close()

	s := &seeder{o: o, app: a, now: o.Now().UTC(), today: a.Licences.Today(), types: map[string]*typeInfo{}}
	if err := s.loadCatalogue(ctx); err != nil {
		return Result{}, err
	}
	res := Result{IssuerCode: demo.MarketRegistry, MatterCode: caseMatter, CaseUnit: demo.ServiceCentre}

	start := time.Now()
	if err := s.licences(ctx); err != nil {
		return Result{}, err
	}
	res.Licences, res.Holders = s.stored, s.holders
	res.LicencesPerSecond = rate(s.stored, time.Since(start))
	res.LicenceID, res.HolderCode = s.sampleLicence, holderOf(0).code

	if res.CaseID, res.Cases, err = s.cases(ctx); err != nil {
		return Result{}, err
	}

	start = time.Now()
	if err := s.audit(ctx); err != nil {
		return Result{}, err
	}
	res.AuditRecords = s.appended
	res.AuditRecordsPerSecond = rate(s.appended, time.Since(start))
	return res, nil
}

func rate(n int, d time.Duration) float64 {
	if n == 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// typeInfo is a certificate type of the demo catalogue with what sealing
// its licences needs.
type typeInfo struct {
	t          catalogue.CertificateType
	issuerName string
	signer     *seal.Signer
	// shown are the field paths a case read typically records: the
	// licence's own fields and the template's but the sensitive ones.
	shown []string
}

// loadCatalogue reads the demo types and their issuers' seal keys.
func (s *seeder) loadCatalogue(ctx context.Context) error {
	for _, code := range []string{demo.BusinessLicence, demo.FoodLicence, demo.PhysicianLicence, demo.BuilderQualification} {
		t, err := s.app.Catalogue.LookupType(ctx, code)
		if err != nil {
			return fmt.Errorf("seed: the store lacks the demo catalogue's type %s (seed an empty store, or one seeded with --demo): %w", code, err)
		}
		unit, err := s.app.Catalogue.SealingUnit(ctx, t.IssuerCode)
		if err != nil {
			return err
		}
		signer, err := s.app.Keyring.Signer(ctx, unit.Code, unit.SealPublicKey)
		if err != nil {
			return err
		}
		ti := &typeInfo{t: t, issuerName: unit.Name, signer: signer,
			shown: []string{"holder.code", "holder.name", "id", "state", "validUntil"}}
		for _, f := range t.Fields {
			if !f.Sensitive {
				ti.shown = append(ti.shown, "data."+f.Name)
			}
		}
		slices.Sort(ti.shown)
		s.types[code] = ti
	}
	return nil
}

// progress prints a line at most every few seconds.
type progress struct {
	w     io.Writer
	what  string
	total int
	start time.Time
	last  time.Time
}

func (p *progress) report(done int, force bool) {
	now := time.Now()
	if p.start.IsZero() {
		p.start, p.last = now, now
	}
	if !force && now.Sub(p.last) < 5*time.Second {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "%s: %d of %d (%.0f/s)\n", p.what, done, p.total, rate(done, now.Sub(p.start)))
}
