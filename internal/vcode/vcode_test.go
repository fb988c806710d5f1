package vcode

import (
	"strings"
	"testing"
)

const (
	idA = "1.2.156.3005.2.11100000000013338W011.11110000000021135M.20230329701.003.Y"
	idB = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
)

func codes(t *testing.T, secret string) *Codes {
	t.Helper()
	c, err := New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodeShapeAndStability(t *testing.T) {
	c := codes(t, "0123456789abcdef0123456789abcdef")
	a := c.For(idA)
	if len(a) != 14 || a[4] != '-' || a[9] != '-' {
		t.Fatalf("code %q is not XXXX-XXXX-XXXX", a)
	}
	for _, r := range strings.ReplaceAll(a, "-", "") {
		if !strings.ContainsRune(Alphabet, r) {
			t.Fatalf("code %q holds %q, outside the alphabet", a, r)
		}
	}
	if again := codes(t, "0123456789abcdef0123456789abcdef").For(idA); again != a {
		t.Fatalf("the same secret and id gave %q then %q", a, again)
	}
	if b := c.For(idB); b == a {
		t.Fatalf("two ids share code %q", a)
	}
	if other := codes(t, "another secret of enough bytes!!").For(idA); other == a {
		t.Fatalf("two secrets give the same code %q", a)
	}
}

func TestMatch(t *testing.T) {
	c := codes(t, "0123456789abcdef0123456789abcdef")
	code := c.For(idA)
	plain := strings.ReplaceAll(code, "-", "")
	spaced := plain[:4] + " " + plain[4:8] + " " + plain[8:]
	for _, given := range []string{code, strings.ToLower(code), plain, spaced, " " + code + " "} {
		if !c.Match(idA, given) {
			t.Errorf("%q does not match its own code %q", given, code)
		}
	}
	// Look-alikes read as their digits.
	if strings.ContainsAny(plain, "01") {
		alike := strings.NewReplacer("0", "O", "1", "l").Replace(plain)
		if !c.Match(idA, alike) {
			t.Errorf("%q (look-alikes of %q) does not match", alike, plain)
		}
	}
	flip := []byte(plain)
	if flip[5] == 'Z' {
		flip[5] = 'Y'
	} else {
		flip[5] = 'Z'
	}
	for _, given := range []string{"", plain[:11], plain + "0", string(flip), c.For(idB), "ÄÄÄÄ-ÄÄÄÄ-ÄÄÄÄ", strings.Repeat("0", 100)} {
		if c.Match(idA, given) {
			t.Errorf("%q matches %s's code %q", given, idA, code)
		}
	}
}

func TestNewRefusesShortSecrets(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}

// TestCodesSpread checks that the 60 bits are used: across many ids every
// character of the alphabet shows at every position.
func TestCodesSpread(t *testing.T) {
	c := codes(t, "0123456789abcdef0123456789abcdef")
	var seen [Length]map[byte]bool
	for i := range seen {
		seen[i] = map[byte]bool{}
	}
	for n := range 4000 {
		r := c.raw(idA + string(rune('a'+n%26)) + strings.Repeat("x", n/26))
		for i, ch := range r {
			seen[i][ch] = true
		}
	}
	for i, s := range seen {
		if len(s) != len(Alphabet) {
			t.Errorf("position %d shows %d of %d characters", i, len(s), len(Alphabet))
		}
	}
}
