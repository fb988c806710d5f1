package main

import (
	"context"
	"encoding/json"
	"time"

	"certd/cmd/certd-bench/internal/loadgen"
	"certd/internal/cli"
)

type loadCmd struct {
	Server      string         `required:"" env:"CERTD_SERVER" help:"Base URL of the server on this machine, e.g. http://127.0.0.1:8080; only loopback addresses are accepted."`
	StaffToken  string         `required:"" env:"CERTD_STAFF_TOKEN" help:"Bearer token of staff of a unit handling matter 350100-SP-0002 (case reads)."`
	HolderToken string         `required:"" env:"CERTD_HOLDER_TOKEN" help:"Bearer token of holder 91350100MA0000001P (holder reads)."`
	IssuerToken string         `required:"" env:"CERTD_ISSUER_TOKEN" help:"Bearer token of an issuer of the food licence, amr cert (issuance)."`
	Concurrency int            `default:"32" help:"Requests in flight."`
	Duration    time.Duration  `default:"10s" help:"How long to drive load (at most 10m)."`
	Mix         map[string]int `mapsep:"," placeholder:"OP=WEIGHT,..." help:"Operations and their weights, of case.read, holder.read, verify and issue; default case.read=60,holder.read=20,verify=15,issue=5."`
	JSON        bool           `name:"json" help:"Print the report as one JSON object."`
}

// Run drives the mix at the server and prints the report.
func (c *loadCmd) Run(ctx context.Context, e cli.Env) error {
	if c.Concurrency <= 0 {
		return configError("--concurrency must be positive, not %d", c.Concurrency)
	}
	if c.Duration <= 0 || c.Duration > loadgen.MaxDuration {
		return configError("--duration must be in (0, %s], not %s", loadgen.MaxDuration, c.Duration)
	}
	if err := loadgen.CheckLoopback(c.Server); err != nil {
		return cli.ExitCode(cli.ExitConfig, err)
	}
	if err := loadgen.CheckMix(c.Mix); err != nil {
		return cli.ExitCode(cli.ExitConfig, err)
	}
	rep, err := loadgen.Run(ctx, loadgen.Options{
		Server: c.Server, StaffToken: c.StaffToken, HolderToken: c.HolderToken, IssuerToken: c.IssuerToken,
		Concurrency: c.Concurrency, Duration: c.Duration, Mix: c.Mix,
	})
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(e.Stdout).Encode(rep)
	}
	rep.Print(e.Stdout)
	return nil
}
