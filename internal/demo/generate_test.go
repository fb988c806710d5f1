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
	if got := ResidentID(1001); got[:17] != "35010219500102001" {
		t.Errorf("ResidentID(1001) = %s: want born 1950-01-02, sequence 001", got)
	}
}
