// Package text holds the one length rule for free text that people write
// (purposes, descriptions, reasons, notes, messages), in Chinese as well as
// in English.
//
// Counting characters as if every text were English refuses short Chinese
// texts that say all they need to ("住所有误", four characters) and accepts
// English-length padding of dots. So a minimum is counted in letters and
// digits only — spaces, punctuation and symbols count nothing — and a wide
// East Asian character (汉字, kana, hangul) counts as two, as it carries
// about as much as two Latin letters. Maxima stay plain character counts:
// they bound storage, not meaning.
package text

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"certd/internal/apperr"
)

// Weight is what s counts towards a minimum: 2 for each wide East Asian
// letter (Unicode East_Asian_Width W), 1 for any other letter or digit, 0
// for spaces, punctuation, symbols and control characters.
func Weight(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			continue
		}
		if width.LookupRune(r).Kind() == width.EastAsianWide {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// Check trims s and checks it against the rule: valid UTF-8, a Weight of
// at least min, at most max characters (0: no maximum). It returns the
// trimmed text, or INVALID_INPUT whose message names what ("the purpose")
// and says the rule. min 0 accepts empty text (an optional note, which
// must still be valid and short enough); min 1 makes the text required.
func Check(what, s string, min, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", apperr.Invalid("%s is not valid UTF-8", what)
	}
	if max > 0 {
		if n := utf8.RuneCountInString(s); n > max {
			return "", apperr.Invalid("%s has %d characters; at most %d", what, n, max)
		}
	}
	if min > 0 && Weight(s) < min {
		return "", apperr.Invalid("%s", Rule(what, min))
	}
	return s, nil
}

// Required is Check with a minimum of 1: at least one letter, digit or
// Chinese character.
func Required(what, s string, max int) (string, error) {
	return Check(what, s, 1, max)
}

// Rule says, for a person, what a text needs to reach a minimum of min.
func Rule(what string, min int) string {
	if min <= 1 {
		return what + " is required: write at least one letter, digit or Chinese character (spaces and punctuation alone do not count)"
	}
	return what + " is too short: write at least " + strconv.Itoa(min) + " letters or digits, or " + strconv.Itoa((min+1)/2) +
		" Chinese characters (a Chinese character counts as two; spaces and punctuation do not count)"
}
