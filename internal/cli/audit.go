package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"certd/internal/app"
	"certd/internal/audit"
	"certd/internal/termprogress"
)

// auditCmd is `certd audit`: check the audit log (第十八条) and export it
// for an auditor.
type auditCmd struct {
	Verify auditVerifyCmd `cmd:"" help:"Check the audit log: every hash chain, seq and signed checkpoint. Exits 1 on any problem."`
	Export auditExportCmd `cmd:"" help:"Write the audit records of a time range, as whole chains with their checkpoints, to a JSONL file."`
	Key    auditKeyCmd    `cmd:"" help:"Print the public half of this instance's audit signing key (PEM), for other instances' --audit-trust-key and for audit verify --trust-key."`
}

type auditKeyCmd struct {
	DataDir string `default:"./data" env:"CERTD_DATA_DIR" type:"path" help:"Data directory holding keys/audit-signing-key.pem."`
}

func (c *auditKeyCmd) Run(_ context.Context, env Env) error {
	pub, err := audit.LoadPublicKey(c.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s has no audit key yet: it is made when certd serve first starts", app.ErrConfig, c.DataDir)
	}
	if err != nil {
		return err
	}
	pemBytes, err := audit.MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(pemBytes)
	return err
}

// Referenced here so that linters see the command before root mounts it.

// auditStoreFlags choose the store, as for `certd serve`.
type auditStoreFlags struct {
	DataDir  string   `default:"./data" env:"CERTD_DATA_DIR" type:"path" help:"Data directory: the embedded store and the audit key."`
	MongoURI string   `env:"CERTD_MONGO_URI" help:"Read the log from MongoDB at this URI instead of the embedded store (--data-dir still holds the audit key)."`
	TrustKey []string `name:"trust-key" type:"existingfile" help:"PEM file of a further audit public key (repeatable), e.g. another instance's."`
}

type auditVerifyCmd struct {
	auditStoreFlags
	File            string `name:"file" type:"existingfile" help:"Verify this export (from certd audit export) offline instead of a store."`
	TrustExportKeys bool   `name:"trust-export-keys" help:"With --file, also trust the public keys listed in the export itself; this shows only that the file is consistent."`
}

type auditExportCmd struct {
	auditStoreFlags
	From     string `required:"" help:"Start of the range: an RFC 3339 time, or YYYY-MM-DD for the start of that day."`
	To       string `required:"" help:"End of the range, exclusive: an RFC 3339 time, or YYYY-MM-DD for the end of that day."`
	TimeZone string `name:"timezone" default:"Asia/Shanghai" env:"CERTD_TIMEZONE" help:"Time zone of dates given as YYYY-MM-DD."`
	File     string `arg:"" type:"path" help:"JSONL file to write (mode 0600; an existing file is refused), or - for standard output."`
}

// openAuditLog opens the store the flags name as an audit log.
func (f *auditStoreFlags) openAuditLog(ctx context.Context) (audit.Repository, func() error, error) {
	st, closeStore, err := app.OpenStore(ctx, f.DataDir, f.MongoURI, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, nil, err
	}
	var v any = st
	repo, ok := v.(audit.Repository)
	if !ok {
		closeStore()
		return nil, nil, fmt.Errorf("the %T store does not hold an audit log", st)
	}
	return repo, closeStore, nil
}

// keys returns the data directory's audit public key, if there is one,
// and the --trust-key keys, each with where it came from.
func (f *auditStoreFlags) keys() ([]ed25519.PublicKey, []string, error) {
	var keys []ed25519.PublicKey
	var from []string
	pub, err := audit.LoadPublicKey(f.DataDir)
	switch {
	case err == nil:
		keys, from = append(keys, pub), append(from, filepath.Join(f.DataDir, audit.KeyFile))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, nil, err
	}
	for _, path := range f.TrustKey {
		k, err := audit.ReadPublicKeyFile(path)
		var unreadable *fs.PathError
		switch {
		case errors.As(err, &unreadable):
			return nil, nil, err
		case err != nil:
			return nil, nil, fmt.Errorf("%w: --trust-key %s: %v", app.ErrConfig, path, err)
		}
		keys, from = append(keys, k), append(from, path)
	}
	return keys, from, nil
}

func (c *auditVerifyCmd) Run(ctx context.Context, env Env) error {
	trusted, from, err := c.keys()
	if err != nil {
		return err
	}
	var repo audit.Repository
	if c.File != "" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		mem, h, err := audit.ReadExport(f)
		f.Close()
		if err != nil {
			return err
		}
		repo = mem
		fmt.Fprintf(env.Stdout, "export of %s to %s, made %s\n", h.From, h.To, h.ExportedAt)
		listed, err := h.Keys()
		if err != nil {
			return err
		}
		for _, k := range listed {
			fmt.Fprintf(env.Stdout, "key listed in the export: %s\n", audit.KeyID(k))
			if c.TrustExportKeys {
				trusted, from = append(trusted, k), append(from, "the export's header")
			}
		}
	} else {
		log, closeStore, err := c.openAuditLog(ctx)
		if err != nil {
			return err
		}
		defer closeStore()
		repo = log
	}
	if len(trusted) == 0 {
		return fmt.Errorf("%w: no trusted audit key: %s has none; give --trust-key", app.ErrConfig, filepath.Join(c.DataDir, audit.KeyFile))
	}
	for i, k := range trusted {
		fmt.Fprintf(env.Stdout, "trusted key %s (%s)\n", audit.KeyID(k), from[i])
	}
	// The bar counts records out of the chains' heads; on standard error,
	// so that standard output stays the report.
	total, err := auditHeads(ctx, repo)
	if err != nil {
		return err
	}
	bar := termprogress.New(env.Stderr, total, "verifying the audit log", "records")
	rep, _, err := audit.VerifyFrom(ctx, repo, trusted, nil, bar.Add)
	bar.Done(err == nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d chains, %d records, %d checkpoints; unsigned tail: %d records (newest of running writers, not yet signed)\n",
		rep.Chains, rep.Records, rep.Checkpoints, rep.UnsignedTail)
	for _, p := range rep.Problems {
		fmt.Fprintf(env.Stdout, "PROBLEM %s record %s: %s\n", p.Kind, p.RecordID, p.Detail)
	}
	if n := len(rep.Problems); n > 0 {
		return fmt.Errorf("audit log verification failed: %d of %d chains have problems", n, rep.Chains)
	}
	fmt.Fprintln(env.Stdout, "audit log OK")
	return nil
}

// auditHeads adds up the chains' highest seqs: how many records a whole
// verification reads, one short read per chain.
func auditHeads(ctx context.Context, repo audit.Repository) (int64, error) {
	chains, err := repo.AuditChains(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: list chains: %w", err)
	}
	var total int64
	for _, chain := range chains {
		head, err := repo.AuditHead(ctx, chain)
		if err != nil {
			return 0, fmt.Errorf("audit: head of chain %s: %w", chain, err)
		}
		total += head
	}
	return total, nil
}

func (c *auditExportCmd) Run(ctx context.Context, env Env) (err error) {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return fmt.Errorf("%w: --timezone: %v", app.ErrConfig, err)
	}
	from, err := parseAuditTime(c.From, loc, false)
	if err != nil {
		return fmt.Errorf("%w: --from: %v", app.ErrConfig, err)
	}
	to, err := parseAuditTime(c.To, loc, true)
	if err != nil {
		return fmt.Errorf("%w: --to: %v", app.ErrConfig, err)
	}
	if !from.Before(to) {
		return fmt.Errorf("%w: --from must be before --to", app.ErrConfig)
	}
	keys, _, err := c.keys()
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		fmt.Fprintln(env.Stderr, "certd: warning: no audit public key to list in the export's header")
	}
	repo, closeStore, err := c.openAuditLog(ctx)
	if err != nil {
		return err
	}
	defer closeStore()

	out := io.Writer(env.Stdout)
	if c.File != "-" {
		// Audit records are personal data: the file is the operator's alone.
		f, err := os.OpenFile(c.File, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(c.File) // no half-written export
			}
		}()
		out = f
		defer func() {
			if err == nil {
				err = f.Sync()
			}
		}()
	}
	sum, err := audit.Export(ctx, repo, out, audit.ExportOptions{From: from, To: to, PublicKeys: keys})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exported %d chains, %d records, %d checkpoints (%s to %s) to %s\n",
		sum.Chains, sum.Records, sum.Checkpoints, from.Format(time.RFC3339), to.Format(time.RFC3339), c.File)
	return nil
}

// parseAuditTime reads an RFC 3339 time or a date in loc: the start of
// the day, or with endOfDay the start of the next.
func parseAuditTime(s string, loc *time.Location, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor YYYY-MM-DD", s)
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}
