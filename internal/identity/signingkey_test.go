package identity

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestLoadOrCreateSigningKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, SigningKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o, want 600", mode)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if mode := di.Mode().Perm(); mode != 0o700 {
		t.Errorf("key directory mode = %o, want 700", mode)
	}
	k2, err := LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Error("second start loaded a different key")
	}
	assertOnlyKeyFile(t, filepath.Dir(path))

	// The key signs tokens that a verifier trusting its public half accepts.
	v := newVerifier(t, nil, k2.Public())
	if _, err := v.Verify(t.Context(), mustIssue(t, k1)); err != nil {
		t.Errorf("Verify token of the stored key: %v", err)
	}
}

func TestLoadOrCreateSigningKeyConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([]ed25519.PrivateKey, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = LoadOrCreateSigningKey(dir)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !keys[i].Equal(keys[0]) {
			t.Fatalf("caller %d got a different key than caller 0", i)
		}
	}
	stored, err := LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.Equal(keys[0]) {
		t.Error("stored key differs from the key the callers got")
	}
	assertOnlyKeyFile(t, filepath.Join(dir, "keys"))
}

func TestLoadOrCreateSigningKeyCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SigningKeyFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSigningKey(dir); err == nil {
		t.Fatal("corrupt key file accepted")
	}
	if data, _ := os.ReadFile(path); string(data) != "garbage" {
		t.Error("corrupt key file was overwritten")
	}
}

// assertOnlyKeyFile checks that no temporary files were left behind.
func assertOnlyKeyFile(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(SigningKeyFile) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("key directory holds %v, want only the key file", names)
	}
}
