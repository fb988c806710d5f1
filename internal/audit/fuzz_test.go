package audit_test

import (
	"strings"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
)

// FuzzDecodeCursor: the access log's cursors. Anything not handed out is
// INVALID_INPUT without a panic, and an accepted cursor encodes back to
// itself (so no two strings name one position).
func FuzzDecodeCursor(f *testing.F) {
	f.Add(audit.EncodeCursor(audit.Cursor{At: time.UnixMilli(1795770000000).UTC(), Chain: strings.Repeat("ab", 16), Seq: 42}))
	f.Add("MXwwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMHwx")
	f.Add("MDF8YWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJ8MQ") // a leading zero
	f.Add("")
	f.Add("not base64!")
	f.Add(strings.Repeat("A", 300))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := audit.DecodeCursor(s)
		if err != nil {
			if code, _, _ := apperr.CodeOf(err); code != apperr.InvalidInput {
				t.Fatalf("%q: %v is %s, want INVALID_INPUT", s, err, code)
			}
			return
		}
		if c.Seq < 1 || len(c.Chain) != 32 || c.At.Before(time.Unix(0, 0)) {
			t.Fatalf("accepted %q as %+v", s, c)
		}
		if audit.EncodeCursor(c) != s {
			t.Fatalf("accepted %q but it encodes as %q", s, audit.EncodeCursor(c))
		}
	})
}
