package scalar

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"certd/internal/apperr"
)

// MarshalTime writes an instant as RFC 3339 with nanoseconds, as gqlgen's
// own Time scalar does.
func MarshalTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads an RFC 3339 timestamp; anything else is
// INVALID_INPUT (gqlgen's own scalar returns an error without a code,
// which the client would see as INTERNAL).
func UnmarshalTime(v any) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, apperr.Invalid("a Time is an RFC 3339 string, e.g. 2026-11-27T09:00:00+08:00, got %s", jsonKind(v))
	}
	// RFC 3339 allows t and z in lower case; Go's layout wants them upper.
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, apperr.Invalid("%q is not an RFC 3339 time, e.g. 2026-11-27T09:00:00+08:00", apperr.Truncate(s, 64))
	}
	return t, nil
}

// jsonKind names the JSON kind of a decoded value, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	default:
		return "a number"
	}
}
