package text

import (
	"strings"
	"testing"

	"certd/internal/apperr"
)

func TestWeight(t *testing.T) {
	for s, want := range map[string]int{
		"":              0,
		"   \t\n":       0,
		"...!!?":        0,
		"。，、！？——“”":     0,
		"abc 123":       6,
		"住所有误":          8,
		"按证照类型统计":       14,
		"ｱ":             1, // halfwidth katakana is narrow
		"かな한글":          8,
		"№ § © ™ ★ ☆ ♥": 0, // symbols
		"第3条":           5,
	} {
		if got := Weight(s); got != want {
			t.Errorf("Weight(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestCheckAcceptsShortChinese(t *testing.T) {
	// The two texts of issue 16 against the minima the services use.
	if got, err := Check("the purpose", "  按证照类型统计 ", 10, 1000); err != nil || got != "按证照类型统计" {
		t.Errorf("purpose: %q, %v", got, err)
	}
	if got, err := Check("the description", "住所有误", 5, 2000); err != nil || got != "住所有误" {
		t.Errorf("description: %q, %v", got, err)
	}
	if _, err := Check("the purpose", "annual count by type", 10, 1000); err != nil {
		t.Errorf("English purpose: %v", err)
	}
}

func TestCheckRefusesEmptyBlankPunctuation(t *testing.T) {
	for _, s := range []string{"", "   ", "\t\n", "..........", "。。。。。。", "？！？！", "-- -- --", "住所", "abcd"} {
		_, err := Check("the description", s, 5, 2000)
		if !apperr.CodeIs(err, apperr.InvalidInput) {
			t.Errorf("%q: %v, want INVALID_INPUT", s, err)
			continue
		}
		_, msg, _ := apperr.CodeOf(err)
		if !strings.Contains(msg, "at least 5 letters or digits, or 3 Chinese characters") || !strings.HasPrefix(msg, "the description") {
			t.Errorf("%q: the message does not say the rule: %s", s, msg)
		}
	}
	for _, s := range []string{"", " ", "。", "!?"} {
		_, err := Required("a reason", s, 500)
		if _, msg, _ := apperr.CodeOf(err); !apperr.CodeIs(err, apperr.InvalidInput) || !strings.Contains(msg, "a reason is required") {
			t.Errorf("Required(%q): %v", s, err)
		}
	}
	if got, err := Required("a reason", "因", 500); err != nil || got != "因" {
		t.Errorf("one Chinese character is a reason: %q, %v", got, err)
	}
}

func TestCheckMaximumAndOptional(t *testing.T) {
	if _, err := Check("the note", strings.Repeat("误", 11), 0, 10); !apperr.CodeIs(err, apperr.InvalidInput) {
		t.Errorf("11 characters past a maximum of 10: %v", err)
	}
	if got, err := Check("the note", strings.Repeat("误", 10), 0, 10); err != nil || got != strings.Repeat("误", 10) {
		t.Errorf("10 characters at a maximum of 10: %q, %v", got, err)
	}
	if got, err := Check("the note", "  ", 0, 10); err != nil || got != "" {
		t.Errorf("an optional note may be empty: %q, %v", got, err)
	}
	if _, err := Check("the note", "a\xffb", 0, 10); !apperr.CodeIs(err, apperr.InvalidInput) {
		t.Errorf("invalid UTF-8: %v", err)
	}
}
