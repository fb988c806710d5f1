package certificate

import (
	"fmt"
	"strconv"
	"strings"

	"certd/internal/apperr"
	"certd/internal/codes"
)

// IDRoot is the GB/T 36904 object identifier root of licence identifiers.
const IDRoot = "1.2.156.3005.2"

// ID is a parsed licence identifier:
// 1.2.156.3005.2.<type 21>.<issuer 18>.<serial>.<version 3>.<check>.
type ID struct {
	TypeCode   string
	IssuerCode string
	Serial     string
	Version    int
}

// maxSerial bounds the serial's length.
const maxSerial = 32

// String formats the identifier with its check character.
func (id ID) String() string {
	v := fmt.Sprintf("%03d", id.Version)
	check, _ := codes.Mod3736(id.TypeCode + id.IssuerCode + id.Serial + v)
	return IDRoot + "." + id.TypeCode + "." + id.IssuerCode + "." + id.Serial + "." + v + "." + string(check)
}

// Lineage names the licence across versions.
func (id ID) Lineage() string { return id.TypeCode + "." + id.IssuerCode + "." + id.Serial }

func isUpperAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return s != ""
}

// ParseID parses and checks an identifier: structure, the credit codes in
// it, and the check character. Errors are INVALID_INPUT and say what is
// wrong.
func ParseID(s string) (ID, error) {
	rest, ok := strings.CutPrefix(s, IDRoot+".")
	if !ok {
		return ID{}, apperr.Invalid("licence identifier must start with %s", IDRoot)
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 5 {
		return ID{}, apperr.Invalid("licence identifier must have type, issuer, serial, version and check character after %s", IDRoot)
	}
	typ, issuer, serial, ver, check := parts[0], parts[1], parts[2], parts[3], parts[4]
	if len(typ) != 21 || !codes.ValidCreditCode(typ[:18]) || !isDigits(typ[18:]) {
		return ID{}, apperr.Invalid("licence identifier: type code %q is not a credit code followed by three digits", typ)
	}
	if !codes.ValidCreditCode(issuer) {
		return ID{}, apperr.Invalid("licence identifier: issuer %q is not a valid credit code", issuer)
	}
	if len(serial) > maxSerial || !isUpperAlnum(serial) {
		return ID{}, apperr.Invalid("licence identifier: serial must be 1 to %d characters 0-9 or A-Z", maxSerial)
	}
	if len(ver) != 3 || !isDigits(ver) {
		return ID{}, apperr.Invalid("licence identifier: version must be three digits")
	}
	want, _ := codes.Mod3736(typ + issuer + serial + ver)
	if len(check) != 1 || check[0] != want {
		return ID{}, apperr.Invalid("licence identifier: check character is wrong")
	}
	v, _ := strconv.Atoi(ver)
	if v < 1 {
		return ID{}, apperr.Invalid("licence identifier: version starts at 001")
	}
	return ID{TypeCode: typ, IssuerCode: issuer, Serial: serial, Version: v}, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FormatSerial makes the serial of the n-th licence an issuer issued in a
// year: the year and a seven-digit sequence, e.g. 20260000042.
func FormatSerial(year int, n int64) string {
	return fmt.Sprintf("%04d%07d", year, n)
}
