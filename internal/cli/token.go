package cli

import (
	"fmt"
	"time"

	"certd/internal/identity"
)

type tokenCmd struct {
	DataDir string        `default:"./data" env:"CERTD_DATA_DIR" type:"path" help:"Data directory holding the signing key."`
	Sub     string        `required:"" help:"Subject (user id)."`
	Name    string        `help:"Display name."`
	Org     string        `help:"The user's unit (unified social credit code)."`
	Role    []string      `required:"" help:"Role (repeatable): issuer, staff, holder, analyst, digital_office, policy_admin, supervisor, service_hall, importer."`
	Holder  string        `help:"Holder code (ID number or credit code) for the holder role."`
	AMR     []string      `name:"amr" help:"Authentication method (repeatable), e.g. pwd, cert, bio."`
	TTL     time.Duration `default:"1h" help:"Lifetime of the token."`
}

// Run prints the token alone on stdout.
func (c *tokenCmd) Run(env Env) error {
	key, err := identity.LoadOrCreateSigningKey(c.DataDir)
	if err != nil {
		return err
	}
	tok, err := identity.Issue(key, identity.TokenRequest{
		Subject: c.Sub, Name: c.Name, Org: c.Org, Roles: c.Role, Holder: c.Holder, AMR: c.AMR, TTL: c.TTL,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, tok)
	return err
}
