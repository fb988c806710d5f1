package identity

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

// Embedded mode: certd issues its own tokens with this issuer and audience.
const (
	EmbeddedIssuer   = "certd"
	EmbeddedAudience = "certd"
)

// SigningKeyFile is the path of the embedded signing key below the data
// directory.
const SigningKeyFile = "keys/jwt-signing-key.pem"

// LoadOrCreateSigningKey returns the embedded-mode Ed25519 signing key kept
// at <dataDir>/keys/jwt-signing-key.pem as a PKCS #8 "PRIVATE KEY" PEM
// block. On first start it creates the key: the directory with mode 0700,
// the file with mode 0600, written to a temporary file, synced, and then
// hard-linked into place, which fails if the file already exists. So when
// several processes start at once exactly one key wins and every caller
// returns it. An existing file that does not hold an Ed25519 key is an
// error; it is never overwritten.
func LoadOrCreateSigningKey(dataDir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dataDir, filepath.FromSlash(SigningKeyFile))
	key, err := readSigningKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity: create key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("identity: encode signing key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	switch err := keyfile.CreateExclusive(path, data); {
	case err == nil:
		return priv, nil
	case errors.Is(err, fs.ErrExist):
		// Another process created the key first: use the winner's key.
		return readSigningKey(path)
	default:
		return nil, fmt.Errorf("identity: store signing key: %w", err)
	}
}

func readSigningKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("identity: read signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("identity: %s: no PKCS #8 PRIVATE KEY block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("identity: %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("identity: %s: signing key is %T, want Ed25519", path, key)
	}
	return priv, nil
}
