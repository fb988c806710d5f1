package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"certd/cmd/certd-bench/internal/seed"
	"certd/internal/app"
	"certd/internal/certificate"
	"certd/internal/cli"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
)

// TestSeedThenServe seeds a small store with `certd-bench seed`, serves
// it with certd as `certd serve --data-dir` would, and checks from the
// outside that what the seed's last line names is there: the licence
// verifies and is citable, the case shows it to the unit's staff, its
// holder and issuer see it, every state has sealed licences, the holder's
// access log holds the seeded records, and `certd audit verify` passes.
func TestSeedThenServe(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { seedThenServe(t, "", 600, 3000) })
	t.Run("mongo", func(t *testing.T) {
		if testing.Short() {
			t.Skip("FerretDB in -short mode")
		}
		seedThenServe(t, ferrettest.Start(t), 250, 600) // FerretDB is slow
	})
}

func seedThenServe(t *testing.T, mongoURI string, licences, records int) {
	dir := t.TempDir()
	args := []string{"seed", "--data-dir", dir, "--licences", strconv.Itoa(licences), "--audit-records", strconv.Itoa(records)}
	if mongoURI != "" {
		args = append(args, "--mongo-uri", mongoURI)
	}
	var out, errs bytes.Buffer
	if code := run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errs}); code != cli.ExitOK {
		t.Fatalf("seed: exit %d\n%s", code, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res seed.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("the last line is not the JSON result: %v\n%s", err, out.String())
	}
	t.Logf("%+v", res)
	if res.Licences != licences || res.AuditRecords != records || res.Holders < licences/3 || res.Cases < 1 {
		t.Fatalf("seeded %+v, want %d licences over at least %d holders, %d records, a case", res, licences, licences/3, records)
	}
	for name, v := range map[string]string{"licenceId": res.LicenceID, "holderCode": res.HolderCode, "issuerCode": res.IssuerCode,
		"matterCode": res.MatterCode, "caseId": res.CaseID, "caseUnit": res.CaseUnit} {
		if v == "" {
			t.Errorf("the result names no %s", name)
		}
	}

	s := testkit.Start(t, testkit.WithConfig(func(c *app.Config) { c.DataDir, c.MongoURI = dir, mongoURI }))
	day := 24 * time.Hour
	staff := s.Token("seed-test-staff", res.CaseUnit, identity.RoleStaff)
	issuer := s.TokenFor(identity.TokenRequest{Subject: "seed-test-issuer", Org: res.IssuerCode, Roles: []string{identity.RoleIssuer}, AMR: []string{"pwd"}, TTL: day})
	holder := s.TokenFor(identity.TokenRequest{Subject: "seed-test-holder", Roles: []string{identity.RoleHolder}, Holder: res.HolderCode, AMR: []string{"pwd"}, TTL: day})

	type verification struct {
		Found, Citable, SealValid bool
		State                     string
	}
	// Readers verify by id alone (an issuer its unit's licences); the
	// public with the licence's verification code.
	verifyAs := func(token, id string, code *string) verification {
		var v struct{ VerifyCertificate verification }
		s.Do(token, `query($id: ID!, $code: String) { verifyCertificate(id: $id, code: $code) { found citable sealValid state } }`,
			map[string]any{"id": id, "code": code}).Decode(t, &v)
		return v.VerifyCertificate
	}
	verify := func(c certificate.Certificate) verification {
		return verifyAs(s.TokenFor(identity.TokenRequest{Subject: "seed-test-verifier", Org: c.IssuerCode,
			Roles: []string{identity.RoleIssuer}, AMR: []string{"pwd"}, TTL: day}), c.ID, nil)
	}
	var mine struct {
		Certificate struct{ VerificationCode string }
	}
	s.Do(holder, `query($id: ID!) { certificate(id: $id) { verificationCode } }`, map[string]any{"id": res.LicenceID}).Decode(t, &mine)
	code := mine.Certificate.VerificationCode
	for who, v := range map[string]verification{"its holder": verifyAs(holder, res.LicenceID, nil), "the public": verifyAs("", res.LicenceID, &code)} {
		if !v.Found || !v.Citable || !v.SealValid || v.State != "VALID" {
			t.Errorf("%s verifies %s (code %q): %+v", who, res.LicenceID, code, v)
		}
	}

	ids := func(certs []struct{ ID string }) []string {
		var out []string
		for _, c := range certs {
			out = append(out, c.ID)
		}
		return out
	}
	var c struct {
		Case struct{ Certificates []struct{ ID string } }
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id } } }`, map[string]any{"id": res.CaseID}).Decode(t, &c)
	if got := ids(c.Case.Certificates); len(got) < 2 || !slices.Contains(got, res.LicenceID) {
		t.Errorf("case %s shows %v, want the business licence and %s", res.CaseID, got, res.LicenceID)
	}
	var me struct {
		Me struct {
			Certificates []struct{ ID string }
			AccessLog    struct {
				Edges []struct {
					Node struct{ CertificateID string }
				}
			}
		}
	}
	s.Do(holder, `{ me { certificates { id } accessLog(first: 20) { edges { node { certificateId } } } } }`, nil).Decode(t, &me)
	if got := ids(me.Me.Certificates); len(got) < 3 || !slices.Contains(got, res.LicenceID) {
		t.Errorf("holder %s reads %v, want at least its three licences with %s", res.HolderCode, got, res.LicenceID)
	}
	if len(me.Me.AccessLog.Edges) == 0 {
		t.Errorf("holder %s sees no access records", res.HolderCode)
	}
	var iss struct {
		Certificates struct{ TotalCount int }
	}
	s.Do(issuer, `query($h: ID!) { certificates(filter: {holderCode: $h}) { totalCount } }`, map[string]any{"h": res.HolderCode}).Decode(t, &iss)
	if iss.Certificates.TotalCount < 2 {
		t.Errorf("issuer %s lists %d licences of %s, want its business and food licences", res.IssuerCode, iss.Certificates.TotalCount, res.HolderCode)
	}

	// Every state, each with a licence whose seal verifies.
	ctx := context.Background()
	for _, st := range []certificate.State{certificate.Valid, certificate.Superseded, certificate.Expired, certificate.Suspended,
		certificate.Pledged, certificate.Lost, certificate.Revoked, certificate.Cancelled, certificate.Abolished} {
		found, err := s.App.Store.List(ctx, certificate.Filter{State: st}, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) == 0 {
			t.Errorf("no %s licence seeded", st)
			continue
		}
		if v := verify(found[0]); !v.Found || !v.SealValid || v.State != string(st) || v.Citable != (st == certificate.Valid) {
			t.Errorf("%s licence %s: %+v", st, found[0].ID, v)
		}
	}
	if e, err := s.App.Store.RegistryEntry(ctx, res.HolderCode); err != nil || e.Kind != string(certificate.Organization) {
		t.Errorf("registry entry of %s: %+v, %v", res.HolderCode, e, err)
	}

	verifyArgs := []string{"audit", "verify", "--data-dir", dir}
	if mongoURI != "" {
		verifyArgs = append(verifyArgs, "--mongo-uri", mongoURI)
	}
	var vout bytes.Buffer
	if code := cli.Run(ctx, verifyArgs, cli.Env{Stdout: &vout, Stderr: io.Discard}); code != cli.ExitOK || !strings.Contains(vout.String(), "OK") {
		t.Errorf("certd audit verify: exit %d\n%s", code, vout.String())
	}
}
