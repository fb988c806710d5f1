package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"certd/internal/keyfile"
)

// KeyFile is the path of the audit signing key below the data directory.
// It signs checkpoints only; it is not the token signing key.
const KeyFile = "keys/audit-signing-key.pem"

// LoadOrCreateKey returns the Ed25519 key that signs checkpoints, kept at
// <dataDir>/keys/audit-signing-key.pem as a PKCS #8 "PRIVATE KEY" PEM
// block. On first start it creates the key as identity does its signing
// key: the directory with mode 0700, the file with mode 0600, written to a
// temporary file, synced, then hard-linked into place, which fails if the
// file exists; so when several processes start at once exactly one key
// wins and every caller returns it. An existing file is never overwritten.
func LoadOrCreateKey(dataDir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dataDir, filepath.FromSlash(KeyFile))
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("audit: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("audit: encode key: %w", err)
	}
	switch err := keyfile.CreateExclusive(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); {
	case err == nil:
		return priv, nil
	case errors.Is(err, fs.ErrExist):
		return readKey(path) // another process won: use its key
	default:
		return nil, fmt.Errorf("audit: store key: %w", err)
	}
}

// LoadPublicKey returns the public half of the data directory's audit key
// without creating one; the error wraps fs.ErrNotExist if there is none.
func LoadPublicKey(dataDir string) (ed25519.PublicKey, error) {
	key, err := readKey(filepath.Join(dataDir, filepath.FromSlash(KeyFile)))
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

func readKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("audit: read key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit: %s: no PKCS #8 PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: %s: key is %T, want Ed25519", path, k)
	}
	return priv, nil
}
