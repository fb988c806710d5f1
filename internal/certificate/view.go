package certificate

import (
	"slices"
	"strings"
	"sync/atomic"

	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/identity"
)

// View is one licence version as one reader sees it in one request. What
// the reader may see is decided once, by the service that read the
// licence, and everything that shows the licence (GraphQL, the print
// page, annotated copies) shows the view as it is:
//
//   - Data holds only the template fields the reader may see; Hidden
//     names the others.
//   - Withheld names the parts of the licence's own records the reader
//     may not see (RecordPaths: who moved its state and why, who
//     inspected it and what they noted); they are blank in History and
//     Inspections.
//   - Document, the sealed document, is empty when a field is hidden: it
//     holds them all (SealedDocument says so).
//   - CaseID and MatterCode name the case it was read through, if any;
//     through a case only this version is shown (no other versions).
//   - Basis says why the reader may see it (audit.BasisCase, …); it goes
//     into the audit record of the read.
type View struct {
	Certificate
	Hidden     []string
	Withheld   []string
	CaseID     string
	MatterCode string
	Basis      string

	// sealed is the sealed document when Document is withheld: an
	// annotated copy carries its digest.
	sealed string
	// codeWithheld is set (atomically: aliases resolve concurrently) when
	// VerificationCode found the reader may not have the code.
	codeWithheld uint32
}

// Shows reports whether a field path of the licence reaches the reader
// with its value, rather than blank or null: not a withheld record path,
// nor the verification code withheld from them.
func (v *View) Shows(path string) bool {
	if path == "verificationCode" {
		return atomic.LoadUint32(&v.codeWithheld) == 0
	}
	return !slices.Contains(v.Withheld, path)
}

// NewView decides what a reader sees of c: all of it but the template
// fields and record paths (RecordPaths) hidden (nil: none), for basis.
func NewView(c Certificate, hidden []string, basis string) View {
	v := View{Certificate: c, Basis: basis}
	if len(hidden) == 0 {
		return v
	}
	for _, f := range hidden {
		if slices.Contains(RecordPaths, f) {
			if !slices.Contains(v.Withheld, f) {
				v.Withheld = append(v.Withheld, f)
			}
		} else {
			v.Hidden = append(v.Hidden, f)
		}
	}
	v.withhold()
	if len(v.Hidden) == 0 {
		return v
	}
	v.sealed, v.Document = c.Document, ""
	data := make(map[string]any, len(c.Data))
	for k, x := range c.Data {
		if !slices.Contains(v.Hidden, k) {
			data[k] = x
		}
	}
	v.Data = data
	return v
}

// withhold blanks the record paths in v.Withheld, on copies of History
// and Inspections, so nothing shared is changed.
func (v *View) withhold() {
	if len(v.Withheld) == 0 {
		return
	}
	blank := func(p string) bool { return slices.Contains(v.Withheld, p) }
	v.History, v.Inspections = slices.Clone(v.History), slices.Clone(v.Inspections)
	for i := range v.History {
		if blank("history.reason") {
			v.History[i].Reason = ""
		}
		if blank("history.by") {
			v.History[i].By = ""
		}
	}
	for i := range v.Inspections {
		if blank("inspections.note") {
			v.Inspections[i].Note = ""
		}
		if blank("inspections.by") {
			v.Inspections[i].By = ""
		}
	}
}

// ThroughCase is NewView for a read through an open case of matter.
func ThroughCase(c Certificate, hidden []string, caseID, matter string) View {
	v := NewView(c, hidden, audit.BasisCase)
	v.CaseID, v.MatterCode = caseID, matter
	return v
}

// OwnView is the view of a licence its own issuing unit just wrote.
func OwnView(c Certificate) View { return NewView(c, nil, audit.BasisIssuer) }

// basisOf says why the policy let p read c outside a case: their own
// licence, their unit's, or another rule of the policy.
func basisOf(p *identity.Principal, c *Certificate) string {
	switch {
	case p.HasRole(identity.RoleHolder) && p.Holder != "" && p.Holder == c.Holder.Code:
		return audit.BasisHolder
	case p.HasRole(identity.RoleIssuer) && p.Org != "" && p.Org == c.IssuerCode:
		return audit.BasisIssuer
	}
	return audit.BasisPolicy
}

// SealedDocument is the sealed document, or FORBIDDEN when it holds
// fields hidden from the reader.
func (v *View) SealedDocument() (string, error) {
	if v.Document == "" && len(v.Hidden) > 0 {
		return "", apperr.Forbiddenf("the sealed document holds fields hidden from you (%s); ask for an annotated copy", strings.Join(v.Hidden, ", "))
	}
	return v.Document, nil
}

// AuditRef names the view in the audit log.
func (v *View) AuditRef() audit.Ref {
	return audit.Ref{CertificateID: v.ID, HolderCode: v.Holder.Code, IssuerCode: v.IssuerCode, CaseID: v.CaseID,
		MatterCode: v.MatterCode, Basis: v.Basis}
}

// document is the whole sealed document, withheld or not.
func (v *View) document() string {
	if v.sealed != "" {
		return v.sealed
	}
	return v.Document
}
