package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// The hash chain.
//
// Every writer keeps one chain. A record's Hash is
//
//	hex(SHA-256(PrevHash || CanonicalRecord(r)))
//
// where PrevHash is the previous record's Hash as its 64 hex characters
// (ASCII), and the first record of a chain has PrevHash = GenesisHash(chain)
// = hex(SHA-256("certd-audit-chain:" + chain)).
//
// The canonical bytes of a record are the output of Go's encoding/json
// Marshal of a struct with these fields, in this order:
//
//	{"type":"record","v":1,"chain":…,"seq":…,"prevHash":…,"at":…,"kind":…,
//	 "subject":…,"org":…,"roles":[…],"operation":…,"action":…,"caseId":…,
//	 "matterCode":…,"holderCode":…,"certificateId":…,"issuerCode":…,
//	 "fields":[…],"decision":…,"reason":…,"policyVersion":…,"requestId":…,
//	 "client":…}
//
// with no whitespace; "at" is the time in UTC with exactly three fractional
// digits (2006-01-02T15:04:05.000Z); roles and fields are the arrays as
// given, nil written as []; strings are escaped as encoding/json does
// (<, > and & as \u003c, \u003e, \u0026; U+2028 and U+2029 as \u2028 and
// \u2029); the writer replaces invalid UTF-8 before hashing, so the bytes
// stored are the bytes hashed.
//
// A checkpoint's canonical bytes are, likewise,
//
//	{"type":"checkpoint","v":1,"chain":…,"seq":…,"hash":…,"at":…,"keyId":…,"final":…}
//
// and its Signature is base64 (standard, padded) of the Ed25519 signature
// over them. KeyID is the first 16 hex characters of SHA-256 of the public
// key's PKIX (SubjectPublicKeyInfo) DER.

// canonicalVersion is the "v" of the canonical encodings.
const canonicalVersion = 1

// timeLayout is how canonical bytes and exports write times.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// canonRecord fixes the field order and names of CanonicalRecord.
type canonRecord struct {
	Type          string   `json:"type"`
	V             int      `json:"v"`
	Chain         string   `json:"chain"`
	Seq           int64    `json:"seq"`
	PrevHash      string   `json:"prevHash"`
	At            string   `json:"at"`
	Kind          string   `json:"kind"`
	Subject       string   `json:"subject"`
	Org           string   `json:"org"`
	Roles         []string `json:"roles"`
	Operation     string   `json:"operation"`
	Action        string   `json:"action"`
	CaseID        string   `json:"caseId"`
	MatterCode    string   `json:"matterCode"`
	HolderCode    string   `json:"holderCode"`
	CertificateID string   `json:"certificateId"`
	IssuerCode    string   `json:"issuerCode"`
	Fields        []string `json:"fields"`
	Decision      string   `json:"decision"`
	Reason        string   `json:"reason"`
	PolicyVersion int      `json:"policyVersion"`
	RequestID     string   `json:"requestId"`
	Client        string   `json:"client"`
}

// canonCheckpoint fixes the field order and names of CanonicalCheckpoint.
type canonCheckpoint struct {
	Type  string `json:"type"`
	V     int    `json:"v"`
	Chain string `json:"chain"`
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
	At    string `json:"at"`
	KeyID string `json:"keyId"`
	Final bool   `json:"final"`
}

// formatTime writes t in UTC with millisecond precision.
func formatTime(t time.Time) string { return t.UTC().Truncate(time.Millisecond).Format(timeLayout) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func canonicalRecordOf(r *Record) canonRecord {
	return canonRecord{
		Type: "record", V: canonicalVersion, Chain: r.Chain, Seq: r.Seq, PrevHash: r.PrevHash, At: formatTime(r.At),
		Kind: r.Kind, Subject: r.Subject, Org: r.Org, Roles: nonNil(r.Roles), Operation: r.Operation, Action: r.Action,
		CaseID: r.CaseID, MatterCode: r.MatterCode, HolderCode: r.HolderCode, CertificateID: r.CertificateID,
		IssuerCode: r.IssuerCode, Fields: nonNil(r.Fields), Decision: r.Decision, Reason: r.Reason,
		PolicyVersion: r.PolicyVersion, RequestID: r.RequestID, Client: r.Client,
	}
}

func canonicalCheckpointOf(c *Checkpoint) canonCheckpoint {
	return canonCheckpoint{
		Type: "checkpoint", V: canonicalVersion, Chain: c.Chain, Seq: c.Seq, Hash: c.Hash, At: formatTime(c.At),
		KeyID: c.KeyID, Final: c.Final,
	}
}

// CanonicalRecord returns the bytes a record's Hash covers: every field
// but Hash (see the encoding above).
func CanonicalRecord(r *Record) []byte {
	b, err := json.Marshal(canonicalRecordOf(r))
	if err != nil {
		panic("audit: canonical record: " + err.Error()) // strings and ints always marshal
	}
	return b
}

// RecordHash computes a record's Hash from its PrevHash and content.
func RecordHash(r *Record) string {
	h := sha256.New()
	h.Write([]byte(r.PrevHash))
	h.Write(CanonicalRecord(r))
	return hex.EncodeToString(h.Sum(nil))
}

// GenesisHash is the PrevHash of a chain's first record.
func GenesisHash(chain string) string {
	sum := sha256.Sum256([]byte("certd-audit-chain:" + chain))
	return hex.EncodeToString(sum[:])
}

// CanonicalCheckpoint returns the bytes a checkpoint's Signature covers:
// every field but Signature.
func CanonicalCheckpoint(c *Checkpoint) []byte {
	b, err := json.Marshal(canonicalCheckpointOf(c))
	if err != nil {
		panic("audit: canonical checkpoint: " + err.Error())
	}
	return b
}

// KeyID names a public key: the first 16 hex characters of SHA-256 of
// its PKIX DER.
func KeyID(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])[:16]
}

// SignCheckpoint sets c's KeyID and Signature.
func SignCheckpoint(key ed25519.PrivateKey, c *Checkpoint) {
	c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, CanonicalCheckpoint(c)))
}

// VerifyCheckpoint checks c's signature against the trusted key its KeyID
// names.
func VerifyCheckpoint(c *Checkpoint, trusted []ed25519.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("signature is not base64 of an Ed25519 signature")
	}
	for _, pub := range trusted {
		if KeyID(pub) != c.KeyID {
			continue
		}
		if ed25519.Verify(pub, CanonicalCheckpoint(c), sig) {
			return nil
		}
		return fmt.Errorf("signature does not match key %s", c.KeyID)
	}
	return fmt.Errorf("signed by key %s, which is not trusted", c.KeyID)
}
