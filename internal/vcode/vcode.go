// Package vcode makes the verification code of a licence version: the
// short secret printed on the licence and carried in its QR code, without
// which public verification says nothing about the licence (DESIGN §2:
// public verification needs the code printed on the licence, so ids
// cannot be enumerated).
//
// A code is derived, not stored: HMAC-SHA256 under a platform secret of
// the licence version's identifier, cut to 60 bits and written as 12
// characters of Crockford's base32 alphabet (0-9 and A-Z without I, L, O
// and U), grouped by four: "7KQ2-M9XD-4TRB". So a dump of the store alone
// holds no code, every instance that shares the secret computes the same
// code, and checking a code never touches the store.
//
// Entropy: 60 bits, 1.15e18 codes per licence. At the default public
// limit of 30 verifications a minute per client address, a network of
// 100,000 addresses makes 1.6e12 guesses a year, each with a chance of
// 1 in 1.15e18 of naming a licence with its code: about one hit in 700,000
// years, whichever ids it guesses.
package vcode

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"strings"
)

// Alphabet is Crockford's base32 alphabet: no I, L, O or U, so a code read
// off paper is not mistaken.
const Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Length is the number of code characters (5 bits each: 60 bits).
const Length = 12

// SecretInfo names the derivation of the code secret from the master key;
// changing it changes every code.
const SecretInfo = "certd licence verification code HMAC-SHA256 v1"

// SecretSize is the size of the code secret in bytes.
const SecretSize = 32

// label separates codes from any other MAC made with the same secret.
const label = "certd-verification-code/1\x00"

// Codes computes and checks verification codes under one secret. It is
// safe for concurrent use.
type Codes struct {
	secret []byte
}

// New returns the codes under secret, which must hold at least 16 bytes.
func New(secret []byte) (*Codes, error) {
	if len(secret) < 16 {
		return nil, errors.New("vcode: the secret must hold at least 16 bytes")
	}
	return &Codes{secret: append([]byte(nil), secret...)}, nil
}

// raw is the 12 code characters of id, without grouping.
func (c *Codes) raw(id string) [Length]byte {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte(label))
	m.Write([]byte(id))
	sum := m.Sum(nil)
	v := binary.BigEndian.Uint64(sum[:8]) >> 4 // the first 60 bits
	var out [Length]byte
	for i := Length - 1; i >= 0; i-- {
		out[i] = Alphabet[v&31]
		v >>= 5
	}
	return out
}

// For returns the code of licence version id, as printed: three groups of
// four characters joined by hyphens.
func (c *Codes) For(id string) string {
	r := c.raw(id)
	return string(r[0:4]) + "-" + string(r[4:8]) + "-" + string(r[8:12])
}

// Match reports, in time that does not depend on where the codes differ,
// whether given is the code of id. Case, spaces and hyphens do not matter,
// and the look-alikes O, I and L are read as 0, 1 and 1.
func (c *Codes) Match(id, given string) bool {
	norm, ok := Normalize(given)
	want := c.raw(id)
	return subtle.ConstantTimeCompare([]byte(norm), want[:]) == 1 && ok
}

// Normalize returns given in the code alphabet without grouping, and
// whether it has the form of a code at all.
func Normalize(given string) (string, bool) {
	if len(given) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(given) {
		switch r {
		case '-', ' ', '\t':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(Alphabet, byte(r)) < 0 {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != Length {
		return "", false
	}
	return b.String(), true
}
