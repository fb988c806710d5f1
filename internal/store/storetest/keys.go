package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/keyring"
	"certd/internal/registry"
)

// RunSealKeys runs the seal key repository conformance suite.
func RunSealKeys(t *testing.T, open func(t *testing.T) keyring.Repository) {
	ctx := context.Background()
	r := open(t)
	k := keyring.Key{KeyID: "0123456789abcdef", UnitCode: issuerA, PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\n...",
		EncryptedPrivateKey: []byte{1, 2, 3, 0, 255}, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	must(t, r.PutSealKey(ctx, k))
	got, err := r.SealKey(ctx, k.KeyID)
	must(t, err)
	if got.KeyID != k.KeyID || got.UnitCode != k.UnitCode || got.PublicKeyPEM != k.PublicKeyPEM ||
		string(got.EncryptedPrivateKey) != string(k.EncryptedPrivateKey) || !got.CreatedAt.Equal(k.CreatedAt) {
		t.Fatalf("got %+v", got)
	}
	if err := r.PutSealKey(ctx, k); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("same key id twice: %v", err)
	}
	if _, err := r.SealKey(ctx, "ffffffffffffffff"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
}

// RunRegistry runs the base registry repository conformance suite.
func RunRegistry(t *testing.T, open func(t *testing.T) registry.Repository) {
	ctx := context.Background()
	r := open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	must(t, r.PutRegistryEntries(ctx, []registry.Entry{
		{Code: "321083197812162119", Kind: "PERSON", Name: "示例个人甲", Source: "population", UpdatedAt: now},
		{Code: issuerA, Kind: "ORGANIZATION", Name: "某局", Source: "legal-entity", UpdatedAt: now},
	}))
	got, err := r.RegistryEntry(ctx, "321083197812162119")
	must(t, err)
	if got.Name != "示例个人甲" || got.Kind != "PERSON" || got.Source != "population" || !got.UpdatedAt.Equal(now) {
		t.Fatalf("got %+v", got)
	}
	must(t, r.PutRegistryEntries(ctx, []registry.Entry{{Code: "321083197812162119", Kind: "PERSON", Name: "示例个人丁", UpdatedAt: now}}))
	got, err = r.RegistryEntry(ctx, "321083197812162119")
	must(t, err)
	if got.Name != "示例个人丁" {
		t.Fatalf("replace: %+v", got)
	}
	if _, err := r.RegistryEntry(ctx, `{"$gt":""}`); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("operator string: %v", err)
	}
	must(t, r.PutRegistryEntries(ctx, nil))
	got2, err := r.RegistryEntries(ctx, []string{"321083197812162119", issuerA, "unknown", `{"$gt":""}`})
	must(t, err)
	if len(got2) != 2 || got2["321083197812162119"].Name != "示例个人丁" || got2[issuerA].Kind != "ORGANIZATION" {
		t.Fatalf("entries %+v", got2)
	}
	none, err := r.RegistryEntries(ctx, nil)
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("no codes: %+v", none)
	}
}
