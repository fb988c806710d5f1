// Package codes validates the national identifiers certd handles: the unified
// social credit code (GB 32100), the resident identity number (GB 11643) and
// the ISO/IEC 7064 MOD 37,36 check character of licence identifiers
// (GB/T 36904).
package codes

import (
	"regexp"
	"strings"
	"time"
)

const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// ValidCreditCode reports whether s is an 18-character unified social
// credit code with a correct check character. Letters must be upper case.
func ValidCreditCode(s string) bool {
	if len(s) != 18 {
		return false
	}
	c, ok := CreditCodeCheck(s[:17])
	return ok && s[17] == c
}

// CreditCodeCheck returns the check character of the first 17 characters
// of a unified social credit code; ok is false when one is not of its
// alphabet (digits and upper-case letters but I, O, S, V, Z).
func CreditCodeCheck(body17 string) (check byte, ok bool) {
	if len(body17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditAlphabet, body17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * creditWeights[i]
	}
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return creditAlphabet[c], true
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idChecks = "10X98765432"

// ValidResidentID reports whether s is an 18-character resident identity
// number with a plausible birth date and a correct check character.
func ValidResidentID(s string) bool {
	if len(s) != 18 {
		return false
	}
	if c, ok := ResidentIDCheck(s[:17]); !ok || s[17] != c {
		return false
	}
	birth, err := time.Parse("20060102", s[6:14])
	return err == nil && birth.Year() >= 1850 && !birth.After(time.Now())
}

// ResidentIDCheck returns the check character of the first 17 digits of
// a resident identity number; ok is false when they are not 17 digits.
func ResidentIDCheck(body17 string) (check byte, ok bool) {
	if len(body17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := body17[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * idWeights[i]
	}
	return idChecks[sum%11], true
}

const mod3736Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// Mod3736 returns the ISO/IEC 7064 MOD 37,36 check character of s, whose
// characters must be 0-9 or A-Z; ok is false for any other character.
func Mod3736(s string) (check byte, ok bool) {
	if s == "" {
		return 0, false
	}
	p := 36
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(mod3736Alphabet, s[i])
		if v < 0 {
			return 0, false
		}
		p = (p + v) % 36
		if p == 0 {
			p = 36
		}
		p = (p * 2) % 37
	}
	return mod3736Alphabet[(37-p)%36], true
}

// LicenceIDRoot is the GB/T 36904 object identifier root of licence
// identifiers.
const LicenceIDRoot = "1.2.156.3005.2"

// LicenceID is a licence identifier split into its parts, as written.
type LicenceID struct {
	Type, Issuer, Serial, Version string
}

// maxSerial bounds a licence serial's length.
const maxSerial = 32

// ParseLicenceID checks a licence identifier
// (1.2.156.3005.2.<type 21>.<issuer 18>.<serial>.<version 3>.<check>):
// its structure, the credit codes in it, the version (001 and up) and the
// check character. When it is wrong, problem says what is wrong in words
// that never quote s.
func ParseLicenceID(s string) (id LicenceID, problem string) {
	rest, ok := strings.CutPrefix(s, LicenceIDRoot+".")
	if !ok {
		return id, "licence identifier must start with " + LicenceIDRoot
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 5 {
		return id, "licence identifier must have type, issuer, serial, version and check character after " + LicenceIDRoot
	}
	typ, issuer, serial, ver, check := parts[0], parts[1], parts[2], parts[3], parts[4]
	switch {
	case len(typ) != 21 || !ValidCreditCode(typ[:18]) || !digits(typ[18:]):
		return id, "licence identifier: the type code is not a credit code followed by three digits"
	case !ValidCreditCode(issuer):
		return id, "licence identifier: the issuer is not a valid credit code"
	case len(serial) > maxSerial || !upperAlnum(serial):
		return id, "licence identifier: serial must be 1 to 32 characters 0-9 or A-Z"
	case len(ver) != 3 || !digits(ver):
		return id, "licence identifier: version must be three digits"
	case ver == "000":
		return id, "licence identifier: version starts at 001"
	}
	want, _ := Mod3736(typ + issuer + serial + ver)
	if len(check) != 1 || check[0] != want {
		return id, "licence identifier: check character is wrong"
	}
	return LicenceID{Type: typ, Issuer: issuer, Serial: serial, Version: ver}, ""
}

// ValidLicenceID reports whether s is a licence identifier that
// ParseLicenceID accepts.
func ValidLicenceID(s string) bool {
	_, problem := ParseLicenceID(s)
	return problem == ""
}

var (
	matterCodeRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$`)
	fieldNameRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
)

// ValidMatterCode reports whether s has the form of a matter's code in
// the catalogue: a letter or digit, then up to 63 letters, digits, '.',
// '_' or '-'.
func ValidMatterCode(s string) bool { return matterCodeRE.MatchString(s) }

// ValidFieldName reports whether s has the form of a template field's
// name: a letter, then up to 63 letters, digits or '_'.
func ValidFieldName(s string) bool { return fieldNameRE.MatchString(s) }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func upperAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return s != ""
}
