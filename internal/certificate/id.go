package certificate

import (
	"fmt"
	"strconv"

	"certd/internal/apperr"
	"certd/internal/codes"
)

// IDRoot is the GB/T 36904 object identifier root of licence identifiers.
const IDRoot = codes.LicenceIDRoot

// ID is a parsed licence identifier:
// 1.2.156.3005.2.<type 21>.<issuer 18>.<serial>.<version 3>.<check>.
type ID struct {
	TypeCode   string
	IssuerCode string
	Serial     string
	Version    int
}

// String formats the identifier with its check character.
func (id ID) String() string {
	v := fmt.Sprintf("%03d", id.Version)
	check, _ := codes.Mod3736(id.TypeCode + id.IssuerCode + id.Serial + v)
	return IDRoot + "." + id.TypeCode + "." + id.IssuerCode + "." + id.Serial + "." + v + "." + string(check)
}

// Lineage names the licence across versions.
func (id ID) Lineage() string { return id.TypeCode + "." + id.IssuerCode + "." + id.Serial }

// ParseID parses and checks an identifier: structure, the credit codes in
// it, and the check character (codes.ParseLicenceID). Errors are
// INVALID_INPUT and say what is wrong.
func ParseID(s string) (ID, error) {
	p, problem := codes.ParseLicenceID(s)
	if problem != "" {
		return ID{}, apperr.Invalid("%s", problem)
	}
	v, _ := strconv.Atoi(p.Version)
	return ID{TypeCode: p.Type, IssuerCode: p.Issuer, Serial: p.Serial, Version: v}, nil
}

// FormatSerial makes the serial of the n-th licence an issuer issued in a
// year: the year and a seven-digit sequence, e.g. 20260000042.
func FormatSerial(year int, n int64) string {
	return fmt.Sprintf("%04d%07d", year, n)
}
