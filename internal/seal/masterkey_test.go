package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateMasterKeyCreatesOnceAndReloads(t *testing.T) {
	dataDir := t.TempDir()
	m1, err := LoadOrCreateMasterKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dataDir, "keys", "seal-master.key")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode %o, want 600", mode)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if mode := di.Mode().Perm(); mode != 0o700 {
		t.Errorf("key directory mode %o, want 700", mode)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != MasterKeySize {
		t.Fatalf("key file does not hold base64 of 32 bytes (%d bytes, %v)", len(raw), err)
	}
	if !bytes.Equal(raw, m1.key[:]) {
		t.Fatal("key file does not hold the returned key")
	}

	m2, err := LoadOrCreateMasterKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if m1.key != m2.key {
		t.Fatal("reloaded master key differs")
	}
	// A blob encrypted before the restart opens after it.
	kp := newTestKeyPair(t, m1, "U1")
	if _, err := m2.DecryptPrivateKey(kp.EncryptedPrivateKey, "U1"); err != nil {
		t.Fatalf("reloaded key cannot decrypt: %v", err)
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

func TestLoadOrCreateMasterKeyConcurrentFirstStartsAgree(t *testing.T) {
	dataDir := t.TempDir()
	const n = 8
	keys := make([]*MasterKey, n)
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			keys[i], errs[i] = LoadOrCreateMasterKey(dataDir)
		})
	}
	start.Done()
	done.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if keys[i].key != keys[0].key {
			t.Fatalf("call %d returned another key than call 0", i)
		}
	}
	again, err := LoadOrCreateMasterKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if again.key != keys[0].key {
		t.Fatal("the stored key is not the one the concurrent calls returned")
	}
	assertNoTempFiles(t, filepath.Join(dataDir, "keys"))
}

func TestLoadOrCreateMasterKeyRefusesCorruptFile(t *testing.T) {
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "seal-master.key")
	const content = "c2hvcnQta2V5LXNlY3JldA==\n" // base64 of 16 bytes
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateMasterKey(dataDir)
	if err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
	if strings.Contains(err.Error(), strings.TrimSpace(content)) {
		t.Errorf("error shows the file content: %v", err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != content {
		t.Fatal("a corrupt key file was overwritten")
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "seal-master.key" {
			t.Errorf("left behind in %s: %s", dir, e.Name())
		}
	}
}

func TestParseMasterKeyAccepts(t *testing.T) {
	raw := bytes.Repeat([]byte{0xA5, 0x3C, 0xFF, 0x01}, 8)
	for name, text := range map[string]string{
		"base64":            base64.StdEncoding.EncodeToString(raw),
		"base64 unpadded":   base64.RawStdEncoding.EncodeToString(raw),
		"base64url":         base64.URLEncoding.EncodeToString(raw),
		"hex":               hex.EncodeToString(raw),
		"HEX":               strings.ToUpper(hex.EncodeToString(raw)),
		"base64 in newline": " " + base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		m, err := ParseMasterKey(text)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(m.key[:], raw) {
			t.Errorf("%s: parsed to another key", name)
		}
	}
}

func TestParseMasterKeyRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"empty":          "",
		"blank":          "  \n",
		"base64 31":      base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 31)),
		"base64 33":      base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 33)),
		"base64 64":      base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64)),
		"hex 62":         strings.Repeat("ab", 31),
		"hex 66":         strings.Repeat("ab", 33),
		"hex 64 not hex": strings.Repeat("zy", 32),
		"garbage":        "not a key at all!",
		"all zero":       strings.Repeat("00", 32),
	} {
		_, err := ParseMasterKey(text)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if trimmed := strings.TrimSpace(text); len(trimmed) > 4 && strings.Contains(err.Error(), trimmed) {
			t.Errorf("%s: error shows the key text: %v", name, err)
		}
	}
}

func TestMasterKeyNeverPrinted(t *testing.T) {
	m := newTestMasterKey(t)
	secrets := []string{
		m.base64(),
		hex.EncodeToString(m.key[:]),
		strings.ToUpper(hex.EncodeToString(m.key[:])),
		fmt.Sprint(m.key[:4]), // decimal bytes as %v of a slice prints them
		string(m.key[:]),
	}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, m), fmt.Sprintf(verb, *m))
	}
	outputs = append(outputs, m.String(), m.GoString(), fmt.Sprint(struct{ K *MasterKey }{m}))
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", m, "val", *m)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", m)
	outputs = append(outputs, logged.String())
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("output %q shows the key", out)
			}
		}
	}
	if got := fmt.Sprintf("%v", m); got != "MasterKey(redacted)" {
		t.Errorf("%%v = %q", got)
	}
	if got := fmt.Sprintf("%#v", *m); got != "MasterKey(redacted)" {
		t.Errorf("%%#v = %q", got)
	}
	if !strings.Contains(logged.String(), "MasterKey(redacted)") {
		t.Errorf("slog output %q", logged.String())
	}
}
