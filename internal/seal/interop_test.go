package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// The interoperability tests run the OpenSSL 3 command line tool against
// our keys and seals, in both directions. They skip, saying why, where
// openssl is missing, is not 3.x or has no SM2.

// requireOpenSSLWithSM2 returns a runner for openssl in dir, or skips.
func requireOpenSSLWithSM2(t *testing.T, dir string) func(args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("interop: openssl is not on PATH")
	}
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	version, err := run("version")
	if err != nil {
		t.Skipf("interop: openssl version failed: %v: %s", err, version)
	}
	if !strings.HasPrefix(version, "OpenSSL 3.") {
		t.Skipf("interop: need OpenSSL 3.x, have %q", strings.TrimSpace(version))
	}
	if out, err := run("genpkey", "-algorithm", "SM2", "-out", "probe.pem"); err != nil {
		t.Skipf("interop: %s has no SM2 (genpkey -algorithm SM2: %v: %s)", strings.TrimSpace(version), err, out)
	}
	t.Logf("interop with %s", strings.TrimSpace(version))
	return run
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInteropOpenSSLVerifiesOurSeal(t *testing.T) {
	dir := t.TempDir()
	openssl := requireOpenSSLWithSM2(t, dir)
	f := sharedFixture(t)
	sig, err := base64.StdEncoding.DecodeString(f.seal.Signature)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Clone(testDoc)
	altered[0] ^= 0x01
	writeFiles(t, dir, map[string][]byte{
		"pub.pem": []byte(f.kp.PublicKeyPEM),
		"doc":     testDoc,
		"altered": altered,
		"sig.der": sig,
	})

	out, err := openssl("dgst", "-sm3", "-verify", "pub.pem", "-signature", "sig.der",
		"-sigopt", "distid:"+DistinguishingID, "doc")
	if err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("openssl dgst -verify: %v: %s", err, out)
	}
	out, err = openssl("pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "doc",
		"-sigfile", "sig.der", "-digest", "sm3", "-pkeyopt", "distid:"+DistinguishingID)
	if err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl pkeyutl -verify: %v: %s", err, out)
	}

	// Controls: OpenSSL does reject an altered document, and another ID.
	out, err = openssl("dgst", "-sm3", "-verify", "pub.pem", "-signature", "sig.der",
		"-sigopt", "distid:"+DistinguishingID, "altered")
	if err == nil || strings.Contains(out, "Verified OK") {
		t.Fatalf("openssl verified an altered document: %s", out)
	}
	out, err = openssl("dgst", "-sm3", "-verify", "pub.pem", "-signature", "sig.der",
		"-sigopt", "distid:ALICE123@YAHOO.COM", "doc")
	if err == nil || strings.Contains(out, "Verified OK") {
		t.Fatalf("openssl verified under another distinguishing ID: %s", out)
	}

	// OpenSSL computes the same key id: SM3 of the DER SPKI.
	out, err = openssl("pkey", "-pubin", "-in", "pub.pem", "-outform", "DER", "-out", "pub.der")
	if err != nil {
		t.Fatalf("openssl pkey: %v: %s", err, out)
	}
	out, err = openssl("dgst", "-sm3", "-r", "pub.der")
	if err != nil {
		t.Fatalf("openssl dgst -sm3: %v: %s", err, out)
	}
	if !strings.HasPrefix(out, f.kp.KeyID) {
		t.Fatalf("openssl SM3 of the SPKI %q does not start with key id %s", out, f.kp.KeyID)
	}
}

func TestInteropWeVerifyOpenSSLSignature(t *testing.T) {
	dir := t.TempDir()
	openssl := requireOpenSSLWithSM2(t, dir)
	f := sharedFixture(t)

	// Our key, exported as PKCS #8 PEM, signed with by OpenSSL.
	priv, err := f.master.DecryptPrivateKey(f.kp.EncryptedPrivateKey, f.kp.UnitCode)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{
		"key.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"doc":     testDoc,
	})
	for name, args := range map[string][]string{
		"dgst": {"dgst", "-sm3", "-sign", "key.pem", "-sigopt", "distid:" + DistinguishingID, "-out", "sig-dgst.der", "doc"},
		"pkeyutl": {"pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "doc", "-digest", "sm3",
			"-pkeyopt", "distid:" + DistinguishingID, "-out", "sig-pkeyutl.der"},
	} {
		out, err := openssl(args...)
		if err != nil {
			t.Fatalf("openssl %s -sign: %v: %s", name, err, out)
		}
		sig, err := os.ReadFile(filepath.Join(dir, "sig-"+name+".der"))
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(f.kp.PublicKeyPEM, testDoc, base64.StdEncoding.EncodeToString(sig)); err != nil {
			t.Fatalf("our Verify rejects openssl %s signature: %v", name, err)
		}
		if err := Verify(f.kp.PublicKeyPEM, append(bytes.Clone(testDoc), '!'), base64.StdEncoding.EncodeToString(sig)); err == nil {
			t.Fatalf("openssl %s signature verified for another document", name)
		}
	}

	// A key OpenSSL generated: we parse its public key and verify its seal.
	out, err := openssl("pkey", "-in", "probe.pem", "-pubout", "-out", "probe-pub.pem")
	if err != nil {
		t.Fatalf("openssl pkey -pubout: %v: %s", err, out)
	}
	out, err = openssl("dgst", "-sm3", "-sign", "probe.pem", "-sigopt", "distid:"+DistinguishingID, "-out", "probe-sig.der", "doc")
	if err != nil {
		t.Fatalf("openssl dgst -sign: %v: %s", err, out)
	}
	pubText, err := os.ReadFile(filepath.Join(dir, "probe-pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, "probe-sig.der"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := KeyID(string(pubText)); err != nil {
		t.Fatalf("KeyID of an OpenSSL SM2 key: %v", err)
	}
	if err := Verify(string(pubText), testDoc, base64.StdEncoding.EncodeToString(sig)); err != nil {
		t.Fatalf("our Verify rejects a seal of an OpenSSL-generated key: %v", err)
	}
}
