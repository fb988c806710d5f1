package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"certd/cmd/certd-bench/internal/seed"
	"certd/internal/cli"
)

// seedCmd fills a data directory (or a MongoDB database) with made-up
// licences and audit records for scale benchmarks.
type seedCmd struct {
	DataDir      string `default:"./data" env:"CERTD_DATA_DIR" type:"path" help:"Data directory to seed: its keys, and the SQLite store unless --mongo-uri."`
	MongoURI     string `env:"CERTD_MONGO_URI" help:"Seed MongoDB at this URI instead of the embedded store (--data-dir still holds the keys)."`
	MasterKey    string `name:"master-key" env:"CERTD_MASTER_KEY" help:"Master key of the seal keys; default: the key file in --data-dir."`
	Licences     int    `required:"" help:"Licence versions to add (at least 3)."`
	AuditRecords int    `name:"audit-records" default:"0" help:"Audit records to add."`
}

// Run seeds and prints, as its last line, a JSON object naming what
// benchmarks can ask for: a licence, its holder and issuer, a matter, an
// open case and its unit, and the rates observed.
func (c *seedCmd) Run(ctx context.Context, e cli.Env) error {
	if c.Licences < 3 || c.Licences > seed.MaxLicences {
		return configError("--licences must be in [3, %d], not %d", seed.MaxLicences, c.Licences)
	}
	if c.AuditRecords < 0 || c.AuditRecords > seed.MaxAuditRecords {
		return configError("--audit-records must be in [0, %d], not %d", seed.MaxAuditRecords, c.AuditRecords)
	}
	res, err := seed.Run(ctx, seed.Options{DataDir: c.DataDir, MongoURI: c.MongoURI, MasterKey: c.MasterKey,
		Licences: c.Licences, AuditRecords: c.AuditRecords, Progress: e.Stderr,
		Logger: slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, string(out))
	return nil
}
