package demo

import (
	"testing"

	"certd/internal/codes"
)

func TestResidentIDsAreValidAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range []int{0, 1, 999, 1000, 123456, 2_000_000, 24_999_999} {
		id := ResidentID(k)
		if !codes.ValidResidentID(id) {
			t.Errorf("ResidentID(%d) = %s: not valid", k, id)
		}
		if seen[id] {
			t.Errorf("ResidentID(%d) = %s: seen before", k, id)
		}
		seen[id] = true
	}
	for _, k := range []int{0, 1, 30, 999_999_999} {
		if c := CreditCode(k); !codes.ValidCreditCode(c) || seen[c] {
			t.Errorf("CreditCode(%d) = %s: not valid, or seen before", k, c)
		} else {
			seen[c] = true
		}
	}
	if a, b := ResidentIDIn("350104", 7), ResidentID(7); a[:6] != "350104" || a[6:17] != b[6:17] || !codes.ValidResidentID(a) {
		t.Errorf("ResidentIDIn(350104, 7) = %s beside ResidentID(7) = %s", a, b)
	}
	if got := ResidentID(1001); got[:17] != "35010219500102001" {
		t.Errorf("ResidentID(1001) = %s: want born 1950-01-02, sequence 001", got)
	}
}
