package audit

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"certd/internal/keyfile"
)

// KeyFile is the path of the audit signing key below the data directory.
// It signs checkpoints only; it is not the token signing key.
const KeyFile = "keys/audit-signing-key.pem"

// LoadOrCreateKey returns the Ed25519 key that signs checkpoints, kept at
// <dataDir>/keys/audit-signing-key.pem as a PKCS #8 "PRIVATE KEY" PEM
// block, created on first start (keyfile.LoadOrCreateEd25519: processes
// starting together agree on one key; an existing file is never
// overwritten).
func LoadOrCreateKey(dataDir string) (ed25519.PrivateKey, error) {
	key, err := keyfile.LoadOrCreateEd25519(filepath.Join(dataDir, filepath.FromSlash(KeyFile)))
	if err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	return key, nil
}

// LoadPublicKey returns the public half of the data directory's audit key
// without creating one; the error wraps fs.ErrNotExist if there is none.
func LoadPublicKey(dataDir string) (ed25519.PublicKey, error) {
	key, err := keyfile.ReadEd25519(filepath.Join(dataDir, filepath.FromSlash(KeyFile)))
	if err != nil {
		return nil, err
	}
	return key.Public().(ed25519.PublicKey), nil
}

// MarshalPublicKey returns pub as a PKIX "PUBLIC KEY" PEM block.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads an Ed25519 key from a PKIX "PUBLIC KEY" PEM block.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("audit: no PUBLIC KEY PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit: public key is %T, want Ed25519", k)
	}
	return pub, nil
}

// ReadPublicKeyFile reads an Ed25519 public key from a PKIX "PUBLIC KEY"
// PEM file, such as `certd audit key` prints.
func ReadPublicKeyFile(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePublicKey(data)
}
