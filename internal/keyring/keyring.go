package keyring

import (
	"context"
	"fmt"
	"sync"
	"time"

	"certd/internal/seal"
)

// Keyring creates, stores and unlocks the units' seal keys.
type Keyring struct {
	repo   Repository
	master *seal.MasterKey
	now    func() time.Time

	mu          sync.Mutex
	signers     map[string]*seal.Signer // by key id
	platformPEM string                  // the platform's own seal key
}

// New returns a keyring over repo whose private keys are encrypted with
// master.
func New(repo Repository, master *seal.MasterKey) *Keyring {
	return &Keyring{repo: repo, master: master, now: time.Now, signers: map[string]*seal.Signer{}}
}

// NewUnitKey creates a seal key for a unit, stores it, and returns its
// public key as PEM.
func (k *Keyring) NewUnitKey(ctx context.Context, unitCode string) (string, error) {
	kp, err := k.master.NewKeyPair(unitCode, k.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return "", err
	}
	if err := k.repo.PutSealKey(ctx, Key{KeyID: kp.KeyID, UnitCode: kp.UnitCode, PublicKeyPEM: kp.PublicKeyPEM,
		EncryptedPrivateKey: kp.EncryptedPrivateKey, CreatedAt: kp.CreatedAt}); err != nil {
		return "", fmt.Errorf("store seal key of %s: %w", unitCode, err)
	}
	return kp.PublicKeyPEM, nil
}

// Signer returns the signer for the unit's key with public key pubPEM,
// unlocking it once and keeping it in memory afterwards.
func (k *Keyring) Signer(ctx context.Context, unitCode, pubPEM string) (*seal.Signer, error) {
	id, err := seal.KeyID(pubPEM)
	if err != nil {
		return nil, fmt.Errorf("seal key of %s: %w", unitCode, err)
	}
	k.mu.Lock()
	s, ok := k.signers[id]
	k.mu.Unlock()
	if ok {
		if s.UnitCode() != unitCode {
			return nil, fmt.Errorf("seal key %s belongs to %s, not %s", id, s.UnitCode(), unitCode)
		}
		return s, nil
	}
	stored, err := k.repo.SealKey(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("seal key of %s: %w", unitCode, err)
	}
	if stored.UnitCode != unitCode {
		return nil, fmt.Errorf("seal key %s belongs to %s, not %s", id, stored.UnitCode, unitCode)
	}
	s, err = k.master.Signer(seal.KeyPair{UnitCode: stored.UnitCode, KeyID: stored.KeyID, PublicKeyPEM: stored.PublicKeyPEM,
		EncryptedPrivateKey: stored.EncryptedPrivateKey, CreatedAt: stored.CreatedAt})
	if err != nil {
		return nil, fmt.Errorf("unlock seal key of %s: %w", unitCode, err)
	}
	k.mu.Lock()
	k.signers[id] = s
	k.mu.Unlock()
	return s, nil
}

// PublicKey returns the unit and PEM public key of a seal key id, for
// verifying seals made with keys a unit has since replaced too.
func (k *Keyring) PublicKey(ctx context.Context, keyID string) (unitCode, pubPEM string, err error) {
	stored, err := k.repo.SealKey(ctx, keyID)
	if err != nil {
		return "", "", err
	}
	return stored.UnitCode, stored.PublicKeyPEM, nil
}
