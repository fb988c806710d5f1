package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/keyfile"
	"certd/internal/store/ferrettest"
	"certd/internal/store/mongo"
)

// TestTwoInstancesShareOneMongoStore runs two `certd serve` processes as
// stateless replicas of one MongoDB-compatible store (FerretDB, SQLite
// handler, on loopback), deployed as in production: --production, each its
// own --data-dir, one external token key (--jwt-public-key) and one
// --master-key (CERTD_MASTER_KEY). A licence issued on either is read and
// its seal verified on the other, which also seals with the unit key the
// other created; a policy published on one is enforced by the other within
// 5 seconds; a token of a key not shared is refused by both; and after both
// stop, `certd audit verify` checks the chains each instance signed with
// its own audit key.
func TestTwoInstancesShareOneMongoStore(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	uri, stopFerret, err := ferrettest.StartServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopFerret)

	// The identity provider: `certd token` signs with its directory's key;
	// the instances trust only its public half, as they would an external
	// IdP's, with the embedded issuer and audience `certd token` uses.
	idp, rogue := t.TempDir(), t.TempDir()
	issuerTok := token(t, idp, "--sub", "i1", "--org", demo.MarketRegistry, "--role", "issuer", "--amr", "cert")
	adminTok := token(t, idp, "--sub", "pa", "--org", demo.DigitalOffice, "--role", "policy_admin")
	secondTok := token(t, idp, "--sub", "pb", "--org", demo.DigitalOffice, "--role", "policy_admin")
	holderTok := token(t, idp, "--sub", "h1", "--role", "holder", "--holder", "350102198001010011", "--amr", "pwd")
	rogueTok := token(t, rogue, "--sub", "i1", "--org", demo.MarketRegistry, "--role", "issuer", "--amr", "cert")
	idpKey, err := keyfile.ReadEd25519(filepath.Join(idp, filepath.FromSlash(identity.SigningKeyFile)))
	if err != nil {
		t.Fatal(err)
	}
	jwtPub := filepath.Join(t.TempDir(), "idp-public.pem")
	writePublicPEM(t, jwtPub, idpKey.Public().(ed25519.PublicKey))

	// One master key for both, from the environment (not the command line).
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CERTD_MASTER_KEY", base64.StdEncoding.EncodeToString(master))

	shared := []string{"--production", "--mongo-uri", uri, "--public-url", "https://certd.city.example",
		"--jwt-public-key", jwtPub, "--jwt-issuer", identity.EmbeddedIssuer, "--jwt-audience", identity.EmbeddedAudience}
	dirA, dirB := t.TempDir(), t.TempDir()
	cmdA, urlA := serve(t, dirA, append(shared, "--demo")...)
	cmdB, urlB := serve(t, dirB, shared...) // the default --policy-poll, 1s
	for _, dir := range []string{dirA, dirB} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(identity.SigningKeyFile))); err == nil {
			t.Fatalf("%s: an instance with external token keys made a signing key of its own", dir)
		}
	}

	// A key not shared is refused by both.
	for name, url := range map[string]string{"A": urlA, "B": urlB} {
		out := gql(t, url, rogueTok, `{ certificateTypes { code } }`)
		if errs, _ := out["errors"].([]any); len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "UNAUTHENTICATED") || out["data"] != nil {
			t.Fatalf("instance %s accepted a token of a key it does not trust: %v", name, out)
		}
	}

	// Issued on A, read on B; issued on B (with the unit's seal key that A
	// created, which B decrypts with the shared master key), read on A.
	idA := issueFood(t, urlA, issuerTok, "350102198001010011", "示例个人甲")
	idB := issueFood(t, urlB, issuerTok, "350102198503150022", "示例个人乙")
	for _, c := range []struct{ id, url, on, from string }{{idA, urlB, "B", urlA}, {idB, urlA, "A", urlB}} {
		// The verification code read on the issuing instance verifies on
		// the other: both derive it from the shared master key.
		code := dig(post(t, c.from, issuerTok, map[string]any{
			"query":     `query($id: ID!) { certificate(id: $id) { verificationCode } }`,
			"variables": map[string]any{"id": c.id},
		}), "data", "certificate")["verificationCode"]
		if code == nil {
			t.Fatalf("the issuing unit reads no verification code of %s", c.id)
		}
		out := post(t, c.url, "", map[string]any{
			"query":     `query($id: ID!, $code: String) { verifyCertificate(id: $id, code: $code) { found citable sealValid state issuer { code } } }`,
			"variables": map[string]any{"id": c.id, "code": code},
		})
		v := dig(out, "data", "verifyCertificate")
		if v == nil || v["found"] != true || v["citable"] != true || v["sealValid"] != true || v["state"] != "VALID" {
			t.Fatalf("verify %s on %s: %v", c.id, c.on, out)
		}
		out = post(t, c.url, issuerTok, map[string]any{
			"query":     `query($id: ID!) { certificate(id: $id) { id sealedDocument data } }`,
			"variables": map[string]any{"id": c.id},
		})
		got := dig(out, "data", "certificate")
		doc, _ := got["sealedDocument"].(string)
		if data, _ := got["data"].(map[string]any); doc == "" || data["scope"] != "热食类食品制售" {
			t.Fatalf("the issuer reads %s on %s: %v", c.id, c.on, out)
		}
		out = post(t, c.url, "", map[string]any{
			"query":     `query($d: String!) { verifyDocument(document: $d) { sealValid citable } }`,
			"variables": map[string]any{"d": doc},
		})
		if v := dig(out, "data", "verifyDocument"); v == nil || v["sealValid"] != true || v["citable"] != true {
			t.Fatalf("the sealed document of %s on %s: %v", c.id, c.on, out)
		}
	}
	out := gql(t, urlB, holderTok, `{ me { certificates { id } } }`)
	mine, _ := dig(out, "data", "me")["certificates"].([]any)
	if !slices.ContainsFunc(mine, func(c any) bool { m, _ := c.(map[string]any); return m["id"] == idA }) {
		t.Fatalf("the holder does not see on B the licence issued on A: %v", out)
	}

	// A stricter policy proposed and approved on A: B enforces it within 5
	// seconds.
	// listed reports whether the issuer may list; any answer but data or
	// FORBIDDEN fails the test, so a broken instance cannot pass for one
	// that enforces the policy.
	listed := func(url string) bool {
		out := gql(t, url, issuerTok, `{ certificates { totalCount } }`)
		errs, _ := out["errors"].([]any)
		if len(errs) == 0 {
			return true
		}
		if code := dig(errs[0].(map[string]any), "extensions")["code"]; code != "FORBIDDEN" {
			t.Fatalf("listing on %s: %v", url, errs)
		}
		return false
	}
	if !listed(urlA) || !listed(urlB) {
		t.Fatal("issuers list their licences under the default policy")
	}
	publishAndApprove(t, urlA, adminTok, secondTok, noIssuerListing(t), "issuers list through the console only")
	start := time.Now()
	if listed(urlA) {
		t.Fatal("the publishing instance does not enforce its own policy")
	}
	for listed(urlB) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the second instance still lets issuers list after 5 seconds")
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	if took > 5*time.Second {
		t.Fatalf("the second instance took %s to enforce the published policy", took)
	}
	t.Logf("instance B enforced the policy published on A after %s (default --policy-poll 1s)", took.Round(time.Millisecond))

	// Both stop cleanly, closing their chains with a final checkpoint.
	for _, cmd := range []*exec.Cmd{cmdA, cmdB} {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for name, cmd := range map[string]*exec.Cmd{"A": cmdA, "B": cmdB} {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("instance %s after SIGTERM: %v", name, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("instance %s did not stop on SIGTERM", name)
		}
	}

	// Which chains each instance signed, and what they hold.
	keyA, keyB := auditPublicKey(t, dirA), auditPublicKey(t, dirB)
	chains := chainsByKey(t, uri)
	idOfA, idOfB := audit.KeyID(keyA), audit.KeyID(keyB)
	if idOfA == idOfB {
		t.Fatal("the two instances share one audit key; each must have its own")
	}
	for key, cs := range chains {
		if key != idOfA && key != idOfB {
			t.Fatalf("chains %v are signed by %s, neither instance's key", cs.chains, key)
		}
	}
	a, b := chains[idOfA], chains[idOfB]
	if a == nil || b == nil {
		t.Fatalf("both instances must have written audit records: A %v, B %v", a, b)
	}
	if !slices.Contains(a.issued, idA) || slices.Contains(a.issued, idB) || !slices.Contains(b.issued, idB) || slices.Contains(b.issued, idA) {
		t.Fatalf("each issuance is in the chain of the instance that made it: A issued %v, B issued %v", a.issued, b.issued)
	}

	// `certd audit verify` on the store: A's data directory gives A's key,
	// --trust-key B's. With one key only, it names the other's records.
	pubA, pubB := filepath.Join(t.TempDir(), "audit-a.pem"), filepath.Join(t.TempDir(), "audit-b.pem")
	exportAuditKey(t, dirA, pubA, keyA)
	exportAuditKey(t, dirB, pubB, keyB)
	rep, err := auditVerifyMongo(uri, dirA, pubB)
	if err != nil || !strings.Contains(rep, "audit log OK") || !strings.Contains(rep, idOfA) || !strings.Contains(rep, idOfB) {
		t.Fatalf("audit verify with both instances' keys: %v\n%s", err, rep)
	}
	if want := fmt.Sprintf("%d chains", len(a.chains)+len(b.chains)); !strings.Contains(rep, want) {
		t.Fatalf("audit verify must check %s:\n%s", want, rep)
	}
	for _, c := range []struct {
		trusted      string
		other, named *signedChains
		who          string
	}{{pubA, b, a, "B"}, {pubB, a, b, "A"}} {
		rep, err := auditVerifyMongo(uri, t.TempDir(), c.trusted)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("audit verify trusting one instance's key only: %v\n%s", err, rep)
		}
		for _, chain := range c.other.chains {
			if !strings.Contains(rep, "PROBLEM bad checkpoint record "+chain+".") {
				t.Fatalf("audit verify without %s's key does not name %s's chain %s:\n%s", c.who, c.who, chain, rep)
			}
		}
		for _, chain := range c.named.chains {
			if strings.Contains(rep, chain) {
				t.Fatalf("a chain of the trusted instance is named a problem:\n%s", rep)
			}
		}
	}
}

// issueFood issues a food licence of the demo market registry to a demo
// person and returns its id.
func issueFood(t *testing.T, url, tok, code, name string) string {
	t.Helper()
	out := post(t, url, tok, map[string]any{
		"query": `mutation($in: IssueInput!) { issueCertificate(input: $in) { id state seal { keyId } } }`,
		"variables": map[string]any{"in": map[string]any{
			"typeCode": demo.FoodLicence,
			"holder":   map[string]any{"code": code, "name": name, "kind": "PERSON"},
			"data":     map[string]any{"operatorName": name, "premises": "福州市鼓楼区示例路2号", "mainForm": "餐饮服务经营者", "scope": "热食类食品制售", "centralKitchen": false},
		}},
	})
	c := dig(out, "data", "issueCertificate")
	id, _ := c["id"].(string)
	if id == "" || c["state"] != "VALID" {
		t.Fatalf("issue at %s: %v", url, out)
	}
	return id
}

// dig returns the object at path in a decoded response, or nil.
func dig(v map[string]any, path ...string) map[string]any {
	for _, p := range path {
		v, _ = v[p].(map[string]any)
	}
	return v
}

// noIssuerListing is the default policy with certificate listing denied
// to issuers; the module's test of issuer listing goes too.
func noIssuerListing(t *testing.T) []map[string]any {
	t.Helper()
	mods, err := authz.DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	var in []map[string]any
	for _, m := range mods {
		if m.Path == "filters.rego" {
			m.Rego = strings.Replace(m.Rego, `input.action == "certificate.list"`, `input.action == "certificate.list.disabled"`, 1)
		}
		if m.Path == "filters_test.rego" {
			m.Rego = strings.Replace(m.Rego, "test_issuers_list_their_own if", "issuers_list_their_own if", 1)
		}
		in = append(in, map[string]any{"path": m.Path, "rego": m.Rego})
	}
	return in
}

// exportAuditKey writes an instance's audit public key to path with
// `certd audit key`, as an operator would, and checks it is the key.
func exportAuditKey(t *testing.T, dataDir, path string, want ed25519.PublicKey) {
	t.Helper()
	out, err := exec.Command(bin, "audit", "key", "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatalf("certd audit key: %v", err)
	}
	got, err := audit.ParsePublicKey(out)
	if err != nil || !got.Equal(want) {
		t.Fatalf("certd audit key printed %q (%v), not the instance's key", out, err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func auditPublicKey(t *testing.T, dataDir string) ed25519.PublicKey {
	t.Helper()
	pub, err := audit.LoadPublicKey(dataDir)
	if err != nil {
		t.Fatalf("the instance's audit key: %v", err)
	}
	return pub
}

// signedChains are the chains one audit key signed, and the licences
// whose issuance they record.
type signedChains struct {
	chains []string
	issued []string
}

// chainsByKey reads the audit log from the store: the chains by the key
// id that signed their checkpoints. Every chain must have been closed by
// a final checkpoint and be signed by one key.
func chainsByKey(t *testing.T, uri string) map[string]*signedChains {
	t.Helper()
	// No deadline: with one the driver sends maxTimeMS with distinct,
	// which FerretDB v1 refuses (certd audit verify has none either).
	ctx := context.Background()
	st, err := mongo.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close(ctx) }()
	chains, err := st.AuditChains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*signedChains{}
	for _, chain := range chains {
		cps, err := st.AuditCheckpoints(ctx, chain, 0)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		final := false
		for _, cp := range cps {
			if !slices.Contains(keys, cp.KeyID) {
				keys = append(keys, cp.KeyID)
			}
			final = final || cp.Final
		}
		if len(keys) != 1 || !final {
			t.Fatalf("chain %s: checkpoints by keys %v, final %v", chain, keys, final)
		}
		key := keys[0]
		sc := by[key]
		if sc == nil {
			sc = &signedChains{}
			by[key] = sc
		}
		sc.chains = append(sc.chains, chain)
		for after := int64(0); ; {
			recs, err := st.AuditChain(ctx, chain, after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.Action == "certificate.issue" {
					sc.issued = append(sc.issued, r.CertificateID)
				}
			}
			if len(recs) < 1000 {
				break
			}
			after = recs[len(recs)-1].Seq
		}
	}
	return by
}

// auditVerifyMongo runs `certd audit verify` on the MongoDB store, trusting
// dataDir's audit key (if any) and the PEM files given.
func auditVerifyMongo(uri, dataDir string, trustKeys ...string) (string, error) {
	args := []string{"audit", "verify", "--mongo-uri", uri, "--data-dir", dataDir}
	for _, k := range trustKeys {
		args = append(args, "--trust-key", k)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func writePublicPEM(t *testing.T, path string, pub ed25519.PublicKey) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
