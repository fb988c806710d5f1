// Package certificate is the electronic licence (电子证照) of 第七条 to
// 第十一条: issuance with the issuer's seal, versions (change, renewal),
// states and their transitions, annual inspections, expiry, public
// verification and bulk issuance of stock licences. It declares the
// Repository its stores implement.
package certificate

import (
	"time"
)

// State is the state of one version of a licence.
type State string

// States of the contract.
const (
	Valid      State = "VALID"
	Suspended  State = "SUSPENDED"
	Pledged    State = "PLEDGED"
	Lost       State = "LOST"
	Revoked    State = "REVOKED"
	Cancelled  State = "CANCELLED"
	Abolished  State = "ABOLISHED"
	Expired    State = "EXPIRED"
	Superseded State = "SUPERSEDED"
)

// Final reports whether no action can move a licence out of s.
func (s State) Final() bool {
	switch s {
	case Revoked, Cancelled, Abolished, Expired, Superseded:
		return true
	}
	return false
}

// HolderKind tells persons from organisations.
type HolderKind string

// Holder kinds of the contract.
const (
	Person       HolderKind = "PERSON"
	Organization HolderKind = "ORGANIZATION"
)

// Holder is the subject a licence is issued to.
type Holder struct {
	Code string     `json:"code"`
	Name string     `json:"name"`
	Kind HolderKind `json:"kind"`
}

// Seal is the issuer's electronic seal over the canonical document.
type Seal struct {
	Algorithm string    `json:"algorithm"`
	Signature string    `json:"signature"`
	KeyID     string    `json:"keyId"`
	SealedAt  time.Time `json:"sealedAt"`
}

// StateChange is one entry of a licence's history.
type StateChange struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// Inspection is one annual inspection (年检) recorded online.
type Inspection struct {
	At     time.Time `json:"at"`
	Passed bool      `json:"passed"`
	Note   string    `json:"note,omitempty"`
	By     string    `json:"by"`
}

// Mode is how a licence was generated, which sets its deadline (第七条).
type Mode string

// Generation modes.
const (
	// Online: generated in the online business flow, before the business
	// is completed.
	Online Mode = "ONLINE"
	// Offline: generated outside the online flow, on the day the business
	// is completed (three working days for batches of 100 or more).
	Offline Mode = "OFFLINE"
	// Stock: a licence issued on paper before the platform existed and
	// digitised later (第十一条); no deadline applies.
	Stock Mode = "STOCK"
)

// Timeliness records what the supervision report counts about when a
// licence was generated (第七条).
type Timeliness struct {
	Mode        Mode       `json:"mode"`
	CompletedAt time.Time  `json:"completedAt"` // when the business was completed
	BatchSize   int        `json:"batchSize"`   // licences issued together
	Deadline    *time.Time `json:"deadline"`    // nil for stock licences
	Late        bool       `json:"late"`
}

// Certificate is one version of one licence.
type Certificate struct {
	// ID is the GB/T 36904 identifier of this version.
	ID string
	// Lineage names the licence across its versions: type.issuer.serial.
	Lineage    string
	TypeCode   string
	IssuerCode string
	Serial     string
	Version    int
	// TypeVersion is the catalogue version of the type at issuance.
	TypeVersion int

	Holder     Holder
	State      State
	Current    bool   // the newest version of its licence
	Successor  string // the id of the next version, once superseded
	Data       map[string]any
	ValidFrom  time.Time  // a date, midnight UTC
	ValidUntil *time.Time // a date, midnight UTC; nil when unlimited
	IssuedAt   time.Time

	Seal     Seal
	Document string // the canonical document the seal signs
	// Nonce is a random value sealed into the document at issuance, so
	// that a reader who may not see some fields cannot confirm a guess of
	// them against the seal. It lives only in Document.
	Nonce       string
	History     []StateChange
	Inspections []Inspection
	Timeliness  Timeliness

	IdempotencyKey string
	IssuedBy       string
	// Rev grows by one with every stored change of this record; updates
	// are conditioned on it.
	Rev int
	// Summary is set on a version read without its sealed document (and
	// nonce), seal, history, inspections, timeliness record, idempotency
	// key, IssuedBy and Rev, which are zero. A summary is for showing:
	// stores refuse to write one back (ErrSummary).
	Summary bool
}

// RecordPaths are the parts of a licence's own records that the policy may
// hide from a reader, as data.certd.authz.hidden_fields names them: who
// moved its state and why, and who inspected it and what they noted.
var RecordPaths = []string{"history.reason", "history.by", "inspections.note", "inspections.by"}
