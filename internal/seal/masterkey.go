package seal

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"certd/internal/keyfile"
)

// MasterKeySize is the size of a master key in bytes.
const MasterKeySize = 32

// MasterKeyFile is the path of the generated master key below the data
// directory (see LoadOrCreateMasterKey).
const MasterKeyFile = "keys/seal-master.key"

// wrapKeyInfo is the HKDF info that derives the SM4 key wrapping seal
// private keys from the master key. A different use of the master key must
// use a different info string.
const wrapKeyInfo = "certd seal private key SM4-GCM v1"

// redacted is what every textual form of a MasterKey prints.
const redacted = "MasterKey(redacted)"

// MasterKey is the 32-byte secret that encrypts the units' seal private
// keys at rest. SM4 takes 16-byte keys, so the SM4-GCM key is derived from
// it with HKDF-SM3 (RFC 5869 with SM3, info "certd seal private key
// SM4-GCM v1", no salt).
//
// A MasterKey never shows its bytes: String, GoString, Format (every fmt
// verb) and LogValue print "MasterKey(redacted)". It is safe for concurrent
// use. The zero value is not usable; get one from ParseMasterKey or
// LoadOrCreateMasterKey.
type MasterKey struct {
	key  [MasterKeySize]byte
	aead cipher.AEAD // SM4-GCM under the derived wrapping key
}

// newMasterKey builds a MasterKey from exactly MasterKeySize bytes.
func newMasterKey(raw []byte) (*MasterKey, error) {
	if len(raw) != MasterKeySize {
		return nil, fmt.Errorf("seal: master key must be %d bytes, got %d", MasterKeySize, len(raw))
	}
	m := &MasterKey{}
	copy(m.key[:], raw)
	if m.key == [MasterKeySize]byte{} {
		return nil, errors.New("seal: master key is all zero bytes")
	}
	wrapKey, err := hkdf.Key(sm3.New, m.key[:], nil, wrapKeyInfo, 16)
	if err != nil {
		return nil, fmt.Errorf("seal: derive key wrapping key: %w", err)
	}
	block, err := sm4.NewCipher(wrapKey)
	if err != nil {
		return nil, fmt.Errorf("seal: SM4 cipher: %w", err)
	}
	m.aead, err = cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: SM4-GCM: %w", err)
	}
	return m, nil
}

// generateMasterKey returns a new random master key.
func generateMasterKey() (*MasterKey, error) {
	raw := make([]byte, MasterKeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("seal: generate master key: %w", err)
	}
	return newMasterKey(raw)
}

// ParseMasterKey parses a master key given as text, for production where
// the key comes from a flag or an environment variable. It accepts standard
// or URL-safe base64 (padded or not) of exactly 32 bytes, or 64 hex
// digits; surrounding white space is ignored. The error never contains the
// text. `openssl rand -base64 32` makes a suitable key.
func ParseMasterKey(s string) (*MasterKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("seal: master key is empty; want 32 bytes as base64 (44 characters) or hex (64 characters)")
	}
	if len(s) == 2*MasterKeySize {
		raw, err := hex.DecodeString(s)
		if err != nil {
			return nil, errors.New("seal: master key has 64 characters but is not valid hex")
		}
		return newMasterKey(raw)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		raw, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(raw) != MasterKeySize {
			return nil, fmt.Errorf("seal: master key decodes to %d bytes, want %d (base64 of 32 bytes is 44 characters, hex is 64)", len(raw), MasterKeySize)
		}
		return newMasterKey(raw)
	}
	return nil, fmt.Errorf("seal: master key (%d characters) is neither base64 nor 64 hex digits; want 32 bytes as base64 (44 characters) or hex (64 characters)", len(s))
}

// DeriveSecret derives a secret of n bytes for another use of the master
// key, named by info (HKDF-SM3, no salt). Each use needs its own info
// string, never the seal key wrapping's; the secret is as stable as the
// master key itself.
func (m *MasterKey) DeriveSecret(info string, n int) ([]byte, error) {
	if info == "" || info == wrapKeyInfo {
		return nil, errors.New("seal: a derived secret needs its own info string")
	}
	return hkdf.Key(sm3.New, m.key[:], nil, info, n)
}

// base64 returns the key in standard base64, the form of the key file.
func (m *MasterKey) base64() string {
	return base64.StdEncoding.EncodeToString(m.key[:])
}

// String returns "MasterKey(redacted)".
func (MasterKey) String() string { return redacted }

// GoString returns "MasterKey(redacted)", so %#v does not show the key.
func (MasterKey) GoString() string { return redacted }

// Format prints "MasterKey(redacted)" for every verb, so %x, %v, %+v, %#v
// and %s never show the key.
func (MasterKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue makes log/slog print "MasterKey(redacted)".
func (MasterKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// LoadOrCreateMasterKey returns the master key kept at
// <dataDir>/keys/seal-master.key as one line of standard base64. On first
// start it creates the key: the directory with mode 0700, the file with
// mode 0600, written to a temporary file, synced, and then hard-linked into
// place, which fails if the file already exists, and the directory synced.
// So when several processes start at once exactly one key wins and every
// caller returns it. An existing file that does not hold a key is an error;
// it is never overwritten.
//
// The file suits development and single-host installations; production
// should pass the key from a secret store to ParseMasterKey instead.
func LoadOrCreateMasterKey(dataDir string) (*MasterKey, error) {
	path := filepath.Join(dataDir, filepath.FromSlash(MasterKeyFile))
	m, err := readMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("seal: create key directory: %w", err)
	}
	m, err = generateMasterKey()
	if err != nil {
		return nil, err
	}
	switch err := keyfile.CreateExclusive(path, []byte(m.base64()+"\n")); {
	case err == nil:
		return m, nil
	case errors.Is(err, fs.ErrExist):
		// Another process created the key first: use the winner's key.
		return readMasterKey(path)
	default:
		return nil, fmt.Errorf("seal: store master key: %w", err)
	}
}

// readMasterKey reads a key file. A missing file is an error that matches
// fs.ErrNotExist.
func readMasterKey(path string) (*MasterKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("seal: read master key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(raw) != MasterKeySize {
		// Say nothing about the content: it may be a key.
		return nil, fmt.Errorf("seal: %s does not hold a base64 %d-byte master key", path, MasterKeySize)
	}
	m, err := newMasterKey(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: %w", path, err)
	}
	return m, nil
}
