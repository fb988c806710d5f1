package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"time"
	"unicode/utf8"
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
//	{"type":"record","v":2,"chain":…,"seq":…,"prevHash":…,"at":…,"kind":…,
//	 "subject":…,"org":…,"roles":[…],"operation":…,"action":…,"caseId":…,
//	 "matterCode":…,"holderCode":…,"certificateId":…,"issuerCode":…,
//	 "fields":[…],"decision":…,"reason":…,"policyVersion":…,"requestId":…,
//	 "client":…,"basis":…,"count":…}
//
// with no whitespace; "at" is the time in UTC with exactly three fractional
// digits (2006-01-02T15:04:05.000Z); roles and fields are the arrays as
// given, nil written as []; strings are escaped as encoding/json does
// (<, > and & as \u003c, \u003e, \u0026; U+2028 and U+2029 as \u2028 and
// \u2029); the writer replaces invalid UTF-8 before hashing, so the bytes
// stored are the bytes hashed.
//
// Version 1 records, written before records named their basis and counted
// refusals, have "v":1 and end at "client"; they verify as they were
// written. A record's V says which form its hash covers.
//
// A checkpoint's canonical bytes are, likewise,
//
//	{"type":"checkpoint","v":1,"chain":…,"seq":…,"hash":…,"at":…,"keyId":…,"final":…}
//
// and its Signature is base64 (standard, padded) of the Ed25519 signature
// over them. KeyID is the first 16 hex characters of SHA-256 of the public
// key's PKIX (SubjectPublicKeyInfo) DER.

// CanonicalVersion is the "v" of the canonical encoding of records
// written now; checkpoints are still at version 1.
const CanonicalVersion = 2

// checkpointVersion is the "v" of the canonical encoding of checkpoints.
const checkpointVersion = 1

// version is the canonical form r's hash covers: its V, or the current
// one for a record not stored yet.
func version(r *Record) int {
	if r.V == 0 {
		return CanonicalVersion
	}
	return r.V
}

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
	// From version 2 on.
	Basis *string `json:"basis,omitempty"`
	Count *int    `json:"count,omitempty"`
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
	c := canonRecord{
		Type: "record", V: version(r), Chain: r.Chain, Seq: r.Seq, PrevHash: r.PrevHash, At: formatTime(r.At),
		Kind: r.Kind, Subject: r.Subject, Org: r.Org, Roles: nonNil(r.Roles), Operation: r.Operation, Action: r.Action,
		CaseID: r.CaseID, MatterCode: r.MatterCode, HolderCode: r.HolderCode, CertificateID: r.CertificateID,
		IssuerCode: r.IssuerCode, Fields: nonNil(r.Fields), Decision: r.Decision, Reason: r.Reason,
		PolicyVersion: r.PolicyVersion, RequestID: r.RequestID, Client: r.Client,
	}
	if c.V >= 2 {
		basis, count := r.Basis, r.Count
		c.Basis, c.Count = &basis, &count
	}
	return c
}

func canonicalCheckpointOf(c *Checkpoint) canonCheckpoint {
	return canonCheckpoint{
		Type: "checkpoint", V: checkpointVersion, Chain: c.Chain, Seq: c.Seq, Hash: c.Hash, At: formatTime(c.At),
		KeyID: c.KeyID, Final: c.Final,
	}
}

// CanonicalRecord returns the bytes a record's Hash covers: every field
// but Hash (see the encoding above).
func CanonicalRecord(r *Record) []byte {
	return appendCanonicalRecord(nil, r)
}

// appendCanonicalRecord appends r's canonical bytes to b. It writes what
// encoding/json's Marshal of canonicalRecordOf(r) writes, byte for byte
// (TestCanonicalRecordMatchesJSON, FuzzCanonicalRecord), without
// reflection or allocations beyond growing b: the sealer hashes every
// record with it.
func appendCanonicalRecord(b []byte, r *Record) []byte {
	v := version(r)
	b = append(b, `{"type":"record","v":`...)
	b = strconv.AppendInt(b, int64(v), 10)
	b = append(b, `,"chain":`...)
	b = appendJSONString(b, r.Chain)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"prevHash":`...)
	b = appendJSONString(b, r.PrevHash)
	b = append(b, `,"at":"`...)
	b = r.At.UTC().Truncate(time.Millisecond).AppendFormat(b, timeLayout) // digits, '-', ':', '.', 'T', 'Z': nothing to escape
	b = append(b, `","kind":`...)
	b = appendJSONString(b, r.Kind)
	b = append(b, `,"subject":`...)
	b = appendJSONString(b, r.Subject)
	b = append(b, `,"org":`...)
	b = appendJSONString(b, r.Org)
	b = append(b, `,"roles":`...)
	b = appendJSONStrings(b, r.Roles)
	b = append(b, `,"operation":`...)
	b = appendJSONString(b, r.Operation)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, r.Action)
	b = append(b, `,"caseId":`...)
	b = appendJSONString(b, r.CaseID)
	b = append(b, `,"matterCode":`...)
	b = appendJSONString(b, r.MatterCode)
	b = append(b, `,"holderCode":`...)
	b = appendJSONString(b, r.HolderCode)
	b = append(b, `,"certificateId":`...)
	b = appendJSONString(b, r.CertificateID)
	b = append(b, `,"issuerCode":`...)
	b = appendJSONString(b, r.IssuerCode)
	b = append(b, `,"fields":`...)
	b = appendJSONStrings(b, r.Fields)
	b = append(b, `,"decision":`...)
	b = appendJSONString(b, r.Decision)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, r.Reason)
	b = append(b, `,"policyVersion":`...)
	b = strconv.AppendInt(b, int64(r.PolicyVersion), 10)
	b = append(b, `,"requestId":`...)
	b = appendJSONString(b, r.RequestID)
	b = append(b, `,"client":`...)
	b = appendJSONString(b, r.Client)
	if v >= 2 {
		b = append(b, `,"basis":`...)
		b = appendJSONString(b, r.Basis)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(r.Count), 10)
	}
	return append(b, '}')
}

// appendJSONStrings appends l as a JSON array of strings, nil as [].
func appendJSONStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json's Marshal quotes it
// (HTML escaping on): ", \ and control characters escaped (\b, \f, \n,
// \r, \t by name, others as \u00XX), <, > and & as \u003c, \u003e,
// \u0026, U+2028 and U+2029 as \u2028 and \u2029, and each byte of
// invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// RecordHash computes a record's Hash from its PrevHash and content.
func RecordHash(r *Record) string {
	var h recordHasher
	return h.hash(r)
}

// recordHasher computes RecordHash reusing its hash state and buffer:
// the sealer keeps one.
type recordHasher struct {
	h   hash.Hash
	buf []byte
}

func (rh *recordHasher) hash(r *Record) string {
	if rh.h == nil {
		rh.h = sha256.New()
	}
	rh.h.Reset()
	rh.buf = append(rh.buf[:0], r.PrevHash...)
	rh.buf = appendCanonicalRecord(rh.buf, r)
	rh.h.Write(rh.buf)
	var sum [sha256.Size]byte
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], rh.h.Sum(sum[:0]))
	if cap(rh.buf) > 64<<10 {
		rh.buf = nil // one huge record does not pin its buffer
	}
	return string(out[:])
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
