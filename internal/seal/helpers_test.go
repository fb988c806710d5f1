package seal

import (
	"errors"
	"sync"
	"testing"
	"time"

	"certd/internal/apperr"
)

// testNow is the fixed creation time of test key pairs.
var testNow = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

// testDoc is a canonical licence document as the certificate package would
// seal it.
var testDoc = []byte(`{"id":"1.2.156.3005.2.11100000000013338W001.11100000000013338W.000001.001.Q","holder":{"code":"91110000000000000X","name":"示例有限公司"}}`)

func newTestMasterKey(t testing.TB) *MasterKey {
	t.Helper()
	m, err := generateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newTestKeyPair(t testing.TB, m *MasterKey, unit string) KeyPair {
	t.Helper()
	kp, err := m.NewKeyPair(unit, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func newTestSigner(t testing.TB, m *MasterKey, kp KeyPair) *Signer {
	t.Helper()
	s, err := m.Signer(kp)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is one unit's key and a valid seal over testDoc, shared by tests,
// the fuzz target and the benchmarks (key generation is not what they test).
type fixture struct {
	master *MasterKey
	kp     KeyPair
	signer *Signer
	seal   Seal
}

var (
	fixtureOnce sync.Once
	theFixture  fixture
	fixtureErr  error
)

func sharedFixture(t testing.TB) fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		var f fixture
		if f.master, fixtureErr = generateMasterKey(); fixtureErr != nil {
			return
		}
		if f.kp, fixtureErr = f.master.NewKeyPair("11100000000013338W", testNow); fixtureErr != nil {
			return
		}
		if f.signer, fixtureErr = f.master.Signer(f.kp); fixtureErr != nil {
			return
		}
		if f.seal, fixtureErr = f.signer.Sign(testDoc); fixtureErr != nil {
			return
		}
		theFixture = f
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return theFixture
}

// wantInvalid fails unless err is an INVALID_INPUT error.
func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	if !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("%s: error %q is not INVALID_INPUT", what, err)
	}
}
