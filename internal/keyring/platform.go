package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"certd/internal/seal"
)

// PlatformUnit owns the platform's own seal keys, with which it seals
// annotated copies. It is not a unit of the catalogue.
const PlatformUnit = "certd-platform"

// platformKeyFile records, in the data directory, the id of the platform
// key this instance seals with; the key itself is in the store, encrypted
// like every seal key.
const platformKeyFile = "keys/platform-seal-key-id"

// EnsurePlatformKey loads the platform seal key named in dataDir, or
// creates one and names it there.
func (k *Keyring) EnsurePlatformKey(ctx context.Context, dataDir string) error {
	path := filepath.Join(dataDir, platformKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		unit, pub, err := k.PublicKey(ctx, id)
		if err == nil && unit == PlatformUnit {
			k.mu.Lock()
			k.platformPEM = pub
			k.mu.Unlock()
			return nil
		}
		if err == nil {
			return fmt.Errorf("platform seal key %s belongs to %s", id, unit)
		}
		// The store does not know the key (a new store with an old data
		// directory): make a new one.
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("platform seal key: %w", err)
	}
	pub, err := k.NewUnitKey(ctx, PlatformUnit)
	if err != nil {
		return err
	}
	id, err := seal.KeyID(pub)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	k.mu.Lock()
	k.platformPEM = pub
	k.mu.Unlock()
	return nil
}

// PlatformSigner seals with the platform's key.
func (k *Keyring) PlatformSigner(ctx context.Context) (*seal.Signer, error) {
	k.mu.Lock()
	pub := k.platformPEM
	k.mu.Unlock()
	if pub == "" {
		return nil, fmt.Errorf("the platform seal key is not loaded")
	}
	return k.Signer(ctx, PlatformUnit, pub)
}
