package audit

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"certd/internal/codes"
)

// Every value that goes into a record is checked against what it names
// before the record is stored, so that no caller can write text of its
// own into the tamper-evident log: a licence id must parse as GB/T 36904,
// a holder must be a resident ID number or a credit code, a unit a credit
// code, a case a case id, a matter a catalogue matter code, a field a
// field path, a basis one of the bases, the client an IP address. A value
// that fails its check is left out of the record, which then says so in
// its reason. Reasons and targets are composed by certd from such values,
// numbers and fixed words; they are bounded and stripped of control
// characters all the same.

// maxText bounds a record's reason, in characters.
const maxText = 300

// droppedNote is appended to the reason of a record that had a value
// left out.
const droppedNote = "(a value that was not a valid identifier was left out)"

// clean checks every value of r in place (see above).
func clean(r *Record) {
	dropped := false
	keep := func(p *string, ok func(string) bool) {
		if *p != "" && !ok(*p) {
			*p, dropped = "", true
		}
	}
	keep(&r.CertificateID, codes.ValidLicenceID)
	keep(&r.HolderCode, validHolder)
	keep(&r.IssuerCode, codes.ValidCreditCode)
	keep(&r.Org, codes.ValidCreditCode)
	keep(&r.CaseID, validCaseID)
	keep(&r.MatterCode, codes.ValidMatterCode)
	keep(&r.Basis, validBasis)
	keep(&r.Client, validClient)
	keep(&r.Subject, validSubject)
	if i := indexInvalidField(r.Fields); i >= 0 {
		fields := make([]string, 0, len(r.Fields))
		for _, f := range r.Fields {
			if validFieldPath(f) {
				fields = append(fields, f)
			}
		}
		r.Fields, dropped = fields, true
	}
	r.Reason = text(r.Reason)
	if dropped {
		r.Reason = strings.TrimSpace(r.Reason + " " + droppedNote)
	}
}

func validHolder(s string) bool { return codes.ValidResidentID(s) || codes.ValidCreditCode(s) }

// validCaseID: cases are named by 32 lower-case hex digits.
func validCaseID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func validBasis(s string) bool {
	switch s {
	case BasisCase, BasisUseCode, BasisHolder, BasisIssuer, BasisPolicy:
		return true
	}
	return false
}

func validClient(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validSubject: a token's sub, from the identity provider; printable and
// short.
func validSubject(s string) bool {
	return len(s) <= 200 && utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

func indexInvalidField(fields []string) int {
	for i, f := range fields {
		if !validFieldPath(f) {
			return i
		}
	}
	return -1
}

// validFieldPath: dot-separated GraphQL names, e.g. holder.name,
// data.address, __typename; at most four parts.
func validFieldPath(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	parts := 0
	for part := range strings.SplitSeq(s, ".") {
		parts++
		if part == "" || parts > 4 {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

// text bounds s to maxText characters of valid UTF-8 without control
// characters (replaced by spaces).
func text(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	if utf8.RuneCountInString(s) > maxText {
		s = string([]rune(s)[:maxText]) + "…"
	}
	return s
}
