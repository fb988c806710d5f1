package scalar

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"certd/internal/apperr"
)

func TestUnmarshalTime(t *testing.T) {
	want := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	for _, in := range []any{"2026-11-27T09:00:00+08:00", "2026-11-27t01:00:00z", "2026-11-27T01:00:00.000Z"} {
		got, err := UnmarshalTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("%v: %v, %v", in, got, err)
		}
	}
	for in, kind := range map[any]string{"x": "not an RFC 3339", "2026-11-27": "not an RFC 3339", "2026-11-27 09:00:00": "not an RFC 3339",
		json.Number("1"): "a number", true: "a boolean"} {
		_, err := UnmarshalTime(in)
		code, msg, _ := apperr.CodeOf(err)
		if code != apperr.InvalidInput || !strings.Contains(msg, kind) || strings.Contains(msg, "json.") {
			t.Errorf("%v: %s %q", in, code, msg)
		}
	}
	if got, err := UnmarshalTime(nil); err != nil || !got.IsZero() {
		t.Errorf("null: %v, %v", got, err)
	}
	_, err := UnmarshalTime(map[string]any{"$gt": ""})
	if _, msg, _ := apperr.CodeOf(err); !strings.Contains(msg, "an object") {
		t.Errorf("an object: %q", msg)
	}
}
