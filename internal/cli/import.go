package cli

import (
	"context"
	"errors"
	"fmt"

	"certd/internal/importer"
)

type importCmd struct {
	Server      string `required:"" env:"CERTD_SERVER" help:"certd base URL, e.g. http://127.0.0.1:8080."`
	Token       string `required:"" env:"CERTD_TOKEN" help:"Bearer token of an issuer of the type (amr cert or bio); the env var keeps it out of ps."`
	Type        string `required:"" name:"type" help:"Certificate type code of every row."`
	BatchSize   int    `default:"500" help:"Rows per issueCertificates call (1-1000)."`
	Concurrency int    `default:"4" help:"Requests in flight."`
	File        string `arg:"" type:"existingfile" help:"JSON Lines or CSV file of licences."`
}

// Exit codes of certd import beyond the common ones.
const (
	ExitRejects     = 3   // done, but some rows were rejected
	ExitAuth        = 4   // the token was refused or may not issue this type
	ExitServer      = 5   // the server kept failing; rerun to resume
	ExitInterrupted = 130 // interrupted; rerun to resume
)

func (c *importCmd) Run(ctx context.Context, env Env) error {
	sum, err := importer.Run(ctx, importer.Options{
		Server: c.Server, Token: c.Token, TypeCode: c.Type, File: c.File,
		BatchSize: c.BatchSize, Concurrency: c.Concurrency, Progress: env.Stderr,
	})
	switch {
	case err == nil && sum.Rejected > 0:
		return exitError{code: ExitRejects, err: fmt.Errorf("%d rows rejected; reasons in %s", sum.Rejected, sum.RejectsFile)}
	case err == nil:
		return nil
	case errors.Is(err, importer.ErrInput):
		return exitError{code: ExitConfig, err: err}
	case errors.Is(err, importer.ErrAuth):
		return exitError{code: ExitAuth, err: err}
	case errors.Is(err, importer.ErrServer):
		return exitError{code: ExitServer, err: err}
	case errors.Is(err, context.Canceled):
		return exitError{code: ExitInterrupted, err: err}
	}
	return err
}

// exitError carries a command's exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
