package keyfile

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
)

// LoadOrCreateEd25519 returns the Ed25519 key kept at path as a PKCS #8
// "PRIVATE KEY" PEM block. On first use it creates the key — the directory
// with mode 0700, the file with mode 0600, through CreateExclusive — so
// when several processes start at once exactly one key wins and every
// caller returns it. An existing file is never overwritten; one that does
// not hold an Ed25519 key is an error.
func LoadOrCreateEd25519(path string) (ed25519.PrivateKey, error) {
	key, err := ReadEd25519(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	switch err := CreateExclusive(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); {
	case err == nil:
		return priv, nil
	case errors.Is(err, fs.ErrExist):
		return ReadEd25519(path) // another process won: use its key
	default:
		return nil, fmt.Errorf("store key: %w", err)
	}
}

// ReadEd25519 reads the Ed25519 key at path; the error wraps
// fs.ErrNotExist when there is none.
func ReadEd25519(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PKCS #8 PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: key is %T, want Ed25519", path, k)
	}
	return priv, nil
}
