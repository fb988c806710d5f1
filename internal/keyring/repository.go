// Package keyring keeps the issuing units' seal keys: it creates an SM2
// key pair for a unit, stores the private key encrypted with the master
// key, hands out signers and finds the public key of any seal by its key
// id, including keys a unit no longer uses.
package keyring

import (
	"context"
	"time"
)

// Key is one stored seal key of a unit.
type Key struct {
	KeyID               string
	UnitCode            string
	PublicKeyPEM        string
	EncryptedPrivateKey []byte
	CreatedAt           time.Time
}

// Repository stores seal keys. PutSealKey fails with CONFLICT when the key
// id exists; SealKey fails with NOT_FOUND for an unknown id.
type Repository interface {
	PutSealKey(ctx context.Context, k Key) error
	SealKey(ctx context.Context, keyID string) (Key, error)
}
