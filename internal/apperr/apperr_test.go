package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodeOf(t *testing.T) {
	cases := []struct {
		err  error
		code Code
		msg  string
	}{
		{Invalid("bad code %q", "x"), InvalidInput, `bad code "x"`},
		{fmt.Errorf("create unit: %w", Conflictf("unit 1 exists")), Conflict, "unit 1 exists"},
		{fmt.Errorf("get: %w", ErrNotFound), NotFound, "not found"},
		{errors.New("disk on fire at /var/lib"), Internal, "internal error"},
		{Wrap(errors.New("secret detail"), AuditUnavailable, "audit write failed"), AuditUnavailable, "audit write failed"},
	}
	for _, c := range cases {
		code, msg, _ := CodeOf(c.err)
		if code != c.code || msg != c.msg {
			t.Errorf("CodeOf(%v) = %s %q, want %s %q", c.err, code, msg, c.code, c.msg)
		}
	}
}

func TestIsMatchesByCode(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", Conflictf("type 1 exists"))
	if !errors.Is(err, ErrConflict) {
		t.Fatal("a CONFLICT error must match ErrConflict")
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatal("a CONFLICT error must not match ErrNotFound")
	}
	if errors.Is(Conflictf("a"), Conflictf("a")) {
		t.Fatal("two messaged errors are distinct values")
	}
}
