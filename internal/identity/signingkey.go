package identity

import (
	"crypto/ed25519"
	"fmt"
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
// block, created on first start (keyfile.LoadOrCreateEd25519: processes
// starting together agree on one key; an existing file is never
// overwritten).
func LoadOrCreateSigningKey(dataDir string) (ed25519.PrivateKey, error) {
	key, err := keyfile.LoadOrCreateEd25519(filepath.Join(dataDir, filepath.FromSlash(SigningKeyFile)))
	if err != nil {
		return nil, fmt.Errorf("identity: signing key: %w", err)
	}
	return key, nil
}
