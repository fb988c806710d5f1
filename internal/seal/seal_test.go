package seal

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	f := sharedFixture(t)
	before := time.Now().UTC()
	s, err := f.signer.Sign(testDoc)
	if err != nil {
		t.Fatal(err)
	}
	if s.Algorithm != "SM2-SM3" || s.KeyID != f.kp.KeyID {
		t.Fatalf("seal %+v", s)
	}
	if s.SealedAt.Before(before.Add(-time.Second)) || s.SealedAt.Location() != time.UTC {
		t.Fatalf("sealed at %v", s.SealedAt)
	}
	if err := Verify(f.kp.PublicKeyPEM, testDoc, s.Signature); err != nil {
		t.Fatal(err)
	}
	if f.signer.KeyID() != f.kp.KeyID || f.signer.UnitCode() != f.kp.UnitCode {
		t.Fatal("signer accessors")
	}
	// Randomised: two seals over the same document differ and both verify.
	s2, err := f.signer.Sign(testDoc)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Signature == s.Signature {
		t.Fatal("two signatures are identical")
	}
	if err := Verify(f.kp.PublicKeyPEM, testDoc, s2.Signature); err != nil {
		t.Fatal(err)
	}
}

// Our seals are gmsm's standard SM2 signatures with the default ID: they
// verify with sm2.VerifyASN1WithSM2 and a nil (default) ID, not with another
// ID, and sm2.SignASN1 with DefaultSM2SignerOpts makes seals we verify.
func TestMatchesGMSMStandardPath(t *testing.T) {
	f := sharedFixture(t)
	pub, err := ParsePublicKeyPEM(f.kp.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(f.seal.Signature)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, testDoc, der) {
		t.Fatal("gmsm's standard verification rejects our seal")
	}
	if !sm2.VerifyASN1WithSM2(pub, []byte("1234567812345678"), testDoc, der) {
		t.Fatal("gmsm's standard verification with the explicit ID rejects our seal")
	}
	if sm2.VerifyASN1WithSM2(pub, []byte("ALICE123@YAHOO.COM"), testDoc, der) {
		t.Fatal("our seal verifies under another distinguishing ID")
	}
	priv, err := f.master.DecryptPrivateKey(f.kp.EncryptedPrivateKey, f.kp.UnitCode)
	if err != nil {
		t.Fatal(err)
	}
	std, err := sm2.SignASN1(rand.Reader, priv, testDoc, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(f.kp.PublicKeyPEM, testDoc, base64.StdEncoding.EncodeToString(std)); err != nil {
		t.Fatalf("gmsm's standard signature does not verify: %v", err)
	}
}

func TestVerifyRejectsChangedDocument(t *testing.T) {
	f := sharedFixture(t)
	for i := range testDoc {
		doc := bytes.Clone(testDoc)
		doc[i] ^= 0x20
		err := Verify(f.kp.PublicKeyPEM, doc, f.seal.Signature)
		wantInvalid(t, "changed document", err)
		if !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("changed byte %d: %v", i, err)
		}
	}
	for name, doc := range map[string][]byte{
		"appended":  append(bytes.Clone(testDoc), ' '),
		"truncated": testDoc[:len(testDoc)-1],
	} {
		if err := Verify(f.kp.PublicKeyPEM, doc, f.seal.Signature); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s document: %v", name, err)
		}
	}
	if !strings.Contains(Verify(f.kp.PublicKeyPEM, []byte("other"), f.seal.Signature).Error(), "does not match") {
		t.Error("mismatch error does not say so")
	}
}

func TestVerifyRejectsAnotherKey(t *testing.T) {
	f := sharedFixture(t)
	other := newTestKeyPair(t, f.master, f.kp.UnitCode)
	err := Verify(other.PublicKeyPEM, testDoc, f.seal.Signature)
	if !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("verified with another unit key: %v", err)
	}
	s, err := newTestSigner(t, f.master, other).Sign(testDoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(f.kp.PublicKeyPEM, testDoc, s.Signature); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("another key's signature verified: %v", err)
	}
}

func TestVerifyRejectsTamperedSignature(t *testing.T) {
	f := sharedFixture(t)
	der, err := base64.StdEncoding.DecodeString(f.seal.Signature)
	if err != nil {
		t.Fatal(err)
	}
	for i := range der {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(der)
			bad[i] ^= bit
			err := Verify(f.kp.PublicKeyPEM, testDoc, base64.StdEncoding.EncodeToString(bad))
			wantInvalid(t, "tampered signature", err)
		}
	}
	// Swapped r and s.
	r, s := splitSignature(t, der)
	swapped := encodeRS(s, r)
	if err := Verify(f.kp.PublicKeyPEM, testDoc, base64.StdEncoding.EncodeToString(swapped)); err == nil {
		t.Fatal("swapped r and s verified")
	}
}

func TestVerifyGarbageInputs(t *testing.T) {
	f := sharedFixture(t)
	der, err := base64.StdEncoding.DecodeString(f.seal.Signature)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki := pemBlock(t, f.kp.PublicKeyPEM)
	offCurve := bytes.Clone(spki)
	offCurve[len(offCurve)-1] ^= 0x01
	r, s := splitSignature(t, der)
	n := sm2.P256().Params().N.Bytes()

	b64 := base64.StdEncoding.EncodeToString
	good := f.kp.PublicKeyPEM
	cases := []struct {
		name, pub, sig, want string
		doc                  []byte
	}{
		{"empty key", "", f.seal.Signature, "empty", testDoc},
		{"key not PEM", "hello", f.seal.Signature, "not PEM", testDoc},
		{"RSA key", pubPEM(t, &rsaKey.PublicKey), f.seal.Signature, "want SM2", testDoc},
		{"P-256 key", pubPEM(t, &p256.PublicKey), f.seal.Signature, "P-256", testDoc},
		{"private key block", strings.Replace(good, "PUBLIC KEY", "PRIVATE KEY", 2), f.seal.Signature, "PRIVATE KEY", testDoc},
		{"truncated key DER", encodePublicKeyPEM(spki[:len(spki)-5]), f.seal.Signature, "SubjectPublicKeyInfo", testDoc},
		{"key DER with trailing byte", encodePublicKeyPEM(append(bytes.Clone(spki), 0)), f.seal.Signature, "SubjectPublicKeyInfo", testDoc},
		{"point off curve", encodePublicKeyPEM(offCurve), f.seal.Signature, "", testDoc},
		{"two PEM blocks", good + good, f.seal.Signature, "after its PEM block", testDoc},
		{"huge key", strings.Repeat("A", 1<<20), f.seal.Signature, "too long", testDoc},
		{"empty signature", good, "", "empty", testDoc},
		{"non-base64 signature", good, "%%%not base64%%%", "base64", testDoc},
		{"base64url signature", good, strings.NewReplacer("+", "-", "/", "_").Replace(b64(append([]byte{0xfb, 0xff}, der...))), "base64", testDoc},
		{"truncated DER", good, b64(der[:len(der)-1]), "DER", testDoc},
		{"DER header only", good, b64(der[:2]), "DER", testDoc},
		{"DER with trailing byte", good, b64(append(bytes.Clone(der), 0)), "after its DER", testDoc},
		{"not a signature", good, b64([]byte("hello world")), "DER", testDoc},
		{"r zero", good, b64(encodeRS([]byte{0}, s)), "out of range", testDoc},
		{"s = n", good, b64(encodeRS(r, n)), "out of range", testDoc},
		{"huge signature", good, strings.Repeat("A", 1<<16), "too long", testDoc},
		{"empty document", good, f.seal.Signature, "empty", nil},
	}
	for _, c := range cases {
		err := Verify(c.pub, c.doc, c.sig)
		wantInvalid(t, c.name, err)
		if errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s: reported as a mismatch, not as malformed: %v", c.name, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
	}
	// The key errors come from ParsePublicKeyPEM and KeyID too.
	for _, c := range cases[:10] {
		if _, err := ParsePublicKeyPEM(c.pub); err == nil {
			t.Errorf("ParsePublicKeyPEM accepted %s", c.name)
		}
		if _, err := KeyID(c.pub); err == nil {
			t.Errorf("KeyID accepted %s", c.name)
		}
	}
}

func TestSignRejectsEmptyDocument(t *testing.T) {
	_, err := sharedFixture(t).signer.Sign(nil)
	wantInvalid(t, "empty document", err)
}

func TestKeyID(t *testing.T) {
	f := sharedFixture(t)
	id, err := KeyID(f.kp.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
		t.Fatalf("key id %q is not 16 lowercase hex characters", id)
	}
	if id != f.kp.KeyID {
		t.Fatalf("KeyID %s, key pair says %s", id, f.kp.KeyID)
	}
	sum := sm3.Sum(pemBlock(t, f.kp.PublicKeyPEM))
	if want := hex.EncodeToString(sum[:])[:16]; id != want {
		t.Fatalf("KeyID %s, SM3 of the DER SPKI starts %s", id, want)
	}
	for range 3 {
		again, err := KeyID(f.kp.PublicKeyPEM)
		if err != nil || again != id {
			t.Fatalf("KeyID not stable: %s, %v", again, err)
		}
	}
	// Stable across the cache: a parse from scratch gives the same id.
	k, err := parsePublicKey(f.kp.PublicKeyPEM)
	if err != nil || k.id != id {
		t.Fatalf("uncached key id %v, %v", k, err)
	}
	other := newTestKeyPair(t, f.master, "U9")
	if other.KeyID == id {
		t.Fatal("two keys share a key id")
	}
}

func TestPublicKeyEncoding(t *testing.T) {
	f := sharedFixture(t)
	block, rest := pem.Decode([]byte(f.kp.PublicKeyPEM))
	if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
		t.Fatalf("public key PEM %q", f.kp.PublicKeyPEM)
	}
	// AlgorithmIdentifier { id-ecPublicKey, sm2p256v1 (1.2.156.10197.1.301) }.
	wantAlg, _ := hex.DecodeString("301306072a8648ce3d020106082a811ccf5501822d")
	if !bytes.Contains(block.Bytes, wantAlg) {
		t.Fatalf("SPKI %x lacks the SM2 algorithm identifier", block.Bytes)
	}
	pub, err := ParsePublicKeyPEM(f.kp.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.IsSM2PublicKey(pub) {
		t.Fatal("parsed key is not SM2")
	}
	// The caller's copy is its own.
	pub2, err := ParsePublicKeyPEM(f.kp.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if pub == pub2 {
		t.Fatal("ParsePublicKeyPEM hands out a shared key")
	}
}

func TestPublicKeyCacheIsBounded(t *testing.T) {
	f := sharedFixture(t)
	for i := range maxCachedKeys + 20 {
		// Distinct PEM texts of one key: trailing blank lines vary.
		text := f.kp.PublicKeyPEM + strings.Repeat("\n", i+1)
		if err := Verify(text, testDoc, f.seal.Signature); err != nil {
			t.Fatal(err)
		}
	}
	keyCache.Lock()
	n := len(keyCache.m)
	keyCache.Unlock()
	if n > maxCachedKeys {
		t.Fatalf("cache holds %d keys, bound is %d", n, maxCachedKeys)
	}
}

func TestSignConcurrently(t *testing.T) {
	f := sharedFixture(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				doc := []byte(strings.Repeat("x", w+1) + string(rune('a'+i)))
				s, err := f.signer.Sign(doc)
				if err == nil {
					err = Verify(f.kp.PublicKeyPEM, doc, s.Signature)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func pubPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return encodePublicKeyPEM(der)
}

func pemBlock(t testing.TB, text string) []byte {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}

// splitSignature returns the big-endian r and s of a DER signature.
func splitSignature(t *testing.T, der []byte) (r, s []byte) {
	t.Helper()
	if _, err := decodeSignature(base64.StdEncoding.EncodeToString(der)); err != nil {
		t.Fatal(err)
	}
	var sig struct{ R, S []byte }
	rest := der[2:]
	for _, out := range []*[]byte{&sig.R, &sig.S} {
		l := int(rest[1])
		*out = rest[2 : 2+l]
		rest = rest[2+l:]
	}
	return sig.R, sig.S
}

// encodeRS DER-encodes r and s as given (no minimality fix-ups beyond a
// sign byte), for crafting edge cases.
func encodeRS(r, s []byte) []byte {
	integer := func(v []byte) []byte {
		if len(v) > 0 && v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		return append([]byte{0x02, byte(len(v))}, v...)
	}
	body := append(integer(r), integer(s)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}
