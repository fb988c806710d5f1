package keyring_test

import (
	"context"
	"testing"

	"certd/internal/apperr"
	"certd/internal/keyring"
	"certd/internal/seal"
	"certd/internal/store/sqlite"
)

func TestKeyringSignsAndVerifies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	master, err := seal.LoadOrCreateMasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	kr := keyring.New(st, master)
	pub, err := kr.NewUnitKey(ctx, "11110000000021135M")
	if err != nil {
		t.Fatal(err)
	}
	s, err := kr.Signer(ctx, "11110000000021135M", pub)
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"id":"x"}`)
	sl, err := s.Sign(doc)
	if err != nil {
		t.Fatal(err)
	}
	unit, pem, err := kr.PublicKey(ctx, sl.KeyID)
	if err != nil || unit != "11110000000021135M" || pem != pub {
		t.Fatalf("public key lookup: %s %v", unit, err)
	}
	if err := seal.Verify(pem, doc, sl.Signature); err != nil {
		t.Fatal(err)
	}
	// Another unit cannot use the key.
	if _, err := kr.Signer(ctx, "11220000013544541J", pub); err == nil {
		t.Fatal("a unit got a signer for another unit's key")
	}
	// A keyring with another master key cannot unlock it.
	other, _ := seal.LoadOrCreateMasterKey(t.TempDir())
	if _, err := keyring.New(st, other).Signer(ctx, "11110000000021135M", pub); err == nil {
		t.Fatal("unlocked with the wrong master key")
	}
	if _, _, err := kr.PublicKey(ctx, "0000000000000000"); !apperr.CodeIs(err, apperr.NotFound) {
		t.Fatalf("unknown key id: %v", err)
	}
}
