package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"certd/internal/audit"
	"certd/internal/store/storetest"
)

// goldenRecord pins the canonical encoding of version 1: changing it
// would make every hash stored before version 2 unverifiable.
var goldenRecord = audit.Record{V: 1,
	Chain: "0123456789abcdef0123456789abcdef", Seq: 7,
	PrevHash: "1111111111111111111111111111111111111111111111111111111111111111",
	At:       time.Date(2026, 3, 1, 16, 4, 5, 678912000, time.FixedZone("CST", 8*3600)),
	Kind:     audit.KindAccess, Subject: "u<1>", Org: "org", Roles: []string{"staff", "issuer"}, Operation: "query case",
	Action: "certificate.read", CaseID: "c1", MatterCode: "m1", HolderCode: "h1", CertificateID: "cert-1",
	IssuerCode: "i1", Fields: []string{"holder.name", "data.地址"}, Decision: audit.Allow, Reason: "",
	PolicyVersion: 3, RequestID: "r1", Client: "10.0.0.1:1",
}

const goldenCanonical = `{"type":"record","v":1,"chain":"0123456789abcdef0123456789abcdef","seq":7,` +
	`"prevHash":"1111111111111111111111111111111111111111111111111111111111111111","at":"2026-03-01T08:04:05.678Z",` +
	`"kind":"access","subject":"u\u003c1\u003e","org":"org","roles":["staff","issuer"],"operation":"query case",` +
	`"action":"certificate.read","caseId":"c1","matterCode":"m1","holderCode":"h1","certificateId":"cert-1",` +
	`"issuerCode":"i1","fields":["holder.name","data.地址"],"decision":"ALLOW","reason":"","policyVersion":3,` +
	`"requestId":"r1","client":"10.0.0.1:1"}`

func TestCanonicalRecord(t *testing.T) {
	r := goldenRecord
	if got := string(audit.CanonicalRecord(&r)); got != goldenCanonical {
		t.Fatalf("canonical bytes changed:\n got %s\nwant %s", got, goldenCanonical)
	}
	if h := audit.RecordHash(&r); h != goldenHash {
		t.Fatalf("hash %s, want %s", h, goldenHash)
	}
	r.Roles, r.Fields = nil, []string{}
	if !bytes.Contains(audit.CanonicalRecord(&r), []byte(`"roles":[]`)) || !bytes.Contains(audit.CanonicalRecord(&r), []byte(`"fields":[]`)) {
		t.Fatalf("nil lists must encode as []: %s", audit.CanonicalRecord(&r))
	}
	if g := audit.GenesisHash("abc"); g != "d0fe9a521ffd4209fe074be5b94dfbd3876d120082c1d4b7534c390c9c6dc459" { // hex(SHA-256("certd-audit-chain:abc"))
		t.Fatal(g)
	}
}

const goldenHash = "96f2fa5b93fc9f18e693254d214e0756ac6915b3bacb541bab6cd04235d1e1c1"

// goldenV2 pins version 2: version 1 plus the basis and the count, which
// every version 2 record writes, empty or not.
const goldenV2 = `{"type":"record","v":2,"chain":"0123456789abcdef0123456789abcdef","seq":7,` +
	`"prevHash":"1111111111111111111111111111111111111111111111111111111111111111","at":"2026-03-01T08:04:05.678Z",` +
	`"kind":"access","subject":"u\u003c1\u003e","org":"org","roles":["staff","issuer"],"operation":"query case",` +
	`"action":"certificate.read","caseId":"c1","matterCode":"m1","holderCode":"h1","certificateId":"cert-1",` +
	`"issuerCode":"i1","fields":["holder.name","data.地址"],"decision":"ALLOW","reason":"","policyVersion":3,` +
	`"requestId":"r1","client":"10.0.0.1:1","basis":"case","count":0}`

func TestCanonicalRecordV2(t *testing.T) {
	r := goldenRecord
	r.V, r.Basis = 2, audit.BasisCase
	if got := string(audit.CanonicalRecord(&r)); got != goldenV2 {
		t.Fatalf("canonical bytes changed:\n got %s\nwant %s", got, goldenV2)
	}
	if h := audit.RecordHash(&r); h != goldenV2Hash {
		t.Fatalf("hash %s, want %s", h, goldenV2Hash)
	}
	// A record not sealed yet (V 0) is hashed in the current form.
	r.V = 0
	if audit.RecordHash(&r) != goldenV2Hash {
		t.Fatal("an unsealed record is not hashed as version 2")
	}
	// The same content in the other form is another hash: a version 2
	// record rewritten as version 1 (dropping its basis) does not verify.
	r.V, r.Basis = 1, ""
	if audit.RecordHash(&r) != goldenHash {
		t.Fatal("version 1 changed")
	}
	r.Count = 5
	if audit.RecordHash(&r) != goldenHash {
		t.Fatal("version 1 covers the count")
	}
}

const goldenV2Hash = "67fa1a57ccfcdf6f4baa6b1b49215b31407502d7de6b2e09a1c83f00017455ec" // SHA-256 of PrevHash and goldenV2, computed outside Go

func TestCheckpointSignature(t *testing.T) {
	key := newKey(t)
	cp := audit.Checkpoint{Chain: "c", Seq: 4, Hash: "h", At: time.Now()}
	audit.SignCheckpoint(key, &cp)
	if len(cp.KeyID) != 16 || cp.KeyID != audit.KeyID(key.Public().(ed25519.PublicKey)) {
		t.Fatalf("key id %q", cp.KeyID)
	}
	if err := audit.VerifyCheckpoint(&cp, pub(key)); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(c *audit.Checkpoint){
		"seq":   func(c *audit.Checkpoint) { c.Seq++ },
		"hash":  func(c *audit.Checkpoint) { c.Hash = "x" },
		"final": func(c *audit.Checkpoint) { c.Final = true },
		"at":    func(c *audit.Checkpoint) { c.At = c.At.Add(time.Second) },
	} {
		c := cp
		change(&c)
		if audit.VerifyCheckpoint(&c, pub(key)) == nil {
			t.Errorf("a checkpoint with another %s verifies", name)
		}
	}
	if audit.VerifyCheckpoint(&cp, pub(newKey(t))) == nil {
		t.Error("verifies with an untrusted key")
	}
}

// TestLoadOrCreateKey: concurrent first starts agree on one key, kept
// with mode 0600, and later loads return it.
func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	keys := make([]ed25519.PrivateKey, 16)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := audit.LoadOrCreateKey(dir)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !k.Equal(keys[0]) {
			t.Fatal("concurrent first starts made different keys")
		}
	}
	fi, err := os.Stat(filepath.Join(dir, audit.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(filepath.Join(dir, audit.KeyFile)))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	again, err := audit.LoadOrCreateKey(dir)
	if err != nil || !again.Equal(keys[0]) {
		t.Fatal("reload returned another key", err)
	}
	pubKey, err := audit.LoadPublicKey(dir)
	if err != nil || !pubKey.Equal(keys[0].Public()) {
		t.Fatal(err)
	}
	p, err := audit.MarshalPublicKey(pubKey)
	if err != nil {
		t.Fatal(err)
	}
	back, err := audit.ParsePublicKey(p)
	if err != nil || !back.Equal(pubKey) {
		t.Fatal(err)
	}
	if _, err := audit.LoadPublicKey(t.TempDir()); err == nil {
		t.Fatal("LoadPublicKey must not create a key")
	}
}

// TestExportRoundTrip: an export verifies offline; the same export with
// one record changed does not.
func TestExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	key := newKey(t)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := base
	w := newWriter(t, s, key, audit.WriterOptions{CheckpointEvery: 10, Now: func() time.Time { return clock }})
	for i := range 40 {
		r := sample(i)
		r.At = base.Add(time.Duration(i) * time.Hour)
		if err := w.Append(ctx, []audit.Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closedChain(t, s, key, 3) // records of today: not in the range

	var buf bytes.Buffer
	sum, err := audit.Export(ctx, s, &buf, audit.ExportOptions{From: base.Add(5 * time.Hour), To: base.Add(15 * time.Hour), PublicKeys: pub(key)})
	if err != nil {
		t.Fatal(err)
	}
	// Records 6..15 are in range; the chain goes from 1 to the checkpoint at 20.
	if sum.Chains != 1 || sum.Records != 20 || sum.Checkpoints != 2 {
		t.Fatalf("summary %+v", sum)
	}
	repo, h, err := audit.ReadExport(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := h.Keys()
	if err != nil || len(keys) != 1 || !keys[0].Equal(key.Public()) || h.From != "2026-03-01T05:00:00.000Z" {
		t.Fatalf("header %+v, %v", h, err)
	}
	rep := mustVerify(t, repo, pub(key))
	if rep.Records != 20 || rep.UnsignedTail != 0 {
		t.Fatalf("report %+v", rep)
	}

	lines := strings.Split(buf.String(), "\n")
	lines[7] = strings.Replace(lines[7], `"subject":"staff-`, `"subject":"other-`, 1)
	repo, _, err = audit.ReadExport(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	rep = verify(t, repo, pub(key))
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != audit.ProblemEdited || rep.Problems[0].Seq != 7 {
		t.Fatalf("tampered export: %v", rep.Problems)
	}
}

func TestMemoryRepositoryConformance(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) audit.Repository { return audit.NewMemoryRepository() })
}
