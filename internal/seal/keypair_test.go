package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

func TestEncryptedPrivateKeyRoundTrip(t *testing.T) {
	m := newTestMasterKey(t)
	kp := newTestKeyPair(t, m, "U1")
	if kp.UnitCode != "U1" || !kp.CreatedAt.Equal(testNow) {
		t.Fatalf("key pair %+v", kp)
	}
	if kp.EncryptedPrivateKey[0] != blobVersion {
		t.Fatalf("blob version %d", kp.EncryptedPrivateKey[0])
	}
	priv, err := m.DecryptPrivateKey(kp.EncryptedPrivateKey, "U1")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(kp.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&priv.PublicKey) {
		t.Fatal("decrypted private key does not match the public key")
	}

	// Encrypting the same key twice uses fresh nonces.
	b1, err := m.EncryptPrivateKey(priv, "U1")
	if err != nil {
		t.Fatal(err)
	}
	b2, err := m.EncryptPrivateKey(priv, "U1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(b1[1:1+nonceSize], b2[1:1+nonceSize]) || bytes.Equal(b1, b2) {
		t.Fatal("two encryptions share a nonce")
	}
	again, err := m.DecryptPrivateKey(b2, "U1")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equal(priv) {
		t.Fatal("re-encrypted key differs")
	}
}

func TestDecryptPrivateKeyFailures(t *testing.T) {
	m := newTestMasterKey(t)
	kp := newTestKeyPair(t, m, "U1")

	check := func(name string, m *MasterKey, blob []byte, unit string) {
		t.Helper()
		priv, err := m.DecryptPrivateKey(blob, unit)
		if err == nil || priv != nil {
			t.Errorf("%s: decrypted", name)
			return
		}
		if !errors.Is(err, ErrKeyDecrypt) {
			t.Errorf("%s: error %q is not ErrKeyDecrypt", name, err)
		}
		if !strings.HasPrefix(err.Error(), "seal key cannot be decrypted (wrong master key?)") {
			t.Errorf("%s: error %q", name, err)
		}
	}

	check("another master key", newTestMasterKey(t), kp.EncryptedPrivateKey, "U1")
	check("another unit", m, kp.EncryptedPrivateKey, "U2")
	check("empty unit", m, kp.EncryptedPrivateKey, "")
	for i := range kp.EncryptedPrivateKey {
		tampered := bytes.Clone(kp.EncryptedPrivateKey)
		tampered[i] ^= 0x01
		check("tampered byte", m, tampered, "U1")
	}
	blob := kp.EncryptedPrivateKey
	check("truncated tag", m, blob[:len(blob)-1], "U1")
	check("nonce only", m, blob[:1+nonceSize], "U1")
	check("version only", m, blob[:1], "U1")
	check("empty", m, nil, "U1")
	check("appended byte", m, append(bytes.Clone(blob), 0), "U1")
}

func TestNewKeyPairRequiresUnitCode(t *testing.T) {
	m := newTestMasterKey(t)
	_, err := m.NewKeyPair("", testNow)
	wantInvalid(t, "NewKeyPair without unit", err)
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.EncryptPrivateKey(priv, "")
	wantInvalid(t, "EncryptPrivateKey without unit", err)
}

func TestSignerRefusesInconsistentKeyPair(t *testing.T) {
	m := newTestMasterKey(t)
	a := newTestKeyPair(t, m, "U1")
	b := newTestKeyPair(t, m, "U2")

	mixed := a
	mixed.PublicKeyPEM = b.PublicKeyPEM
	if _, err := m.Signer(mixed); err == nil {
		t.Error("signer accepted another unit's public key")
	}
	mixed = a
	mixed.KeyID = b.KeyID
	if _, err := m.Signer(mixed); err == nil {
		t.Error("signer accepted another key id")
	}
	mixed = a
	mixed.UnitCode = "U2"
	if _, err := m.Signer(mixed); !errors.Is(err, ErrKeyDecrypt) {
		t.Errorf("signer for a renamed unit: %v", err)
	}
	if _, err := newTestMasterKey(t).Signer(a); !errors.Is(err, ErrKeyDecrypt) {
		t.Errorf("signer under another master key: %v", err)
	}
}

func TestZeroMasterKeyErrors(t *testing.T) {
	var zero MasterKey
	if _, err := zero.NewKeyPair("U1", testNow); err == nil {
		t.Error("zero master key made a key pair")
	}
	var nilKey *MasterKey
	if _, err := nilKey.DecryptPrivateKey([]byte{1}, "U1"); err == nil {
		t.Error("nil master key decrypted")
	}
}
