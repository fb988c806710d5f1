package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// ExportFormat names the export format, in the header line.
const ExportFormat = "certd-audit-export/1"

// An export is JSON Lines: a header line (ExportHeader), then for each
// chain with records in the range, in chain order, its records in seq
// order and then its checkpoints, one object per line with "type"
// "record" or "checkpoint" and the fields of the canonical encoding
// (chain.go) plus "hash" (records) or "signature" (checkpoints).
//
// A chain is exported whole from seq 1, not only its records in the
// range: a record's hash can be checked only against the record before
// it, back to the chain's genesis. It is exported up to its last record
// in the range, and on to the first checkpoint at or after that record if
// there is one, so that every record exported is covered by a signature.
// The checkpoints exported are those up to there.

// ExportHeader is the first line of an export.
type ExportHeader struct {
	Format     string   `json:"format"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	PublicKeys []string `json:"publicKeys"` // PEM; informational, see ReadExport
	ExportedAt string   `json:"exportedAt"`
}

// Keys parses the header's public keys.
func (h *ExportHeader) Keys() ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for _, p := range h.PublicKeys {
		k, err := ParsePublicKey([]byte(p))
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// recordLine and checkpointLine are the lines after the header.
type recordLine struct {
	canonRecord
	Hash string `json:"hash"`
}

type checkpointLine struct {
	canonCheckpoint
	Signature string `json:"signature"`
}

// ExportOptions says what to export.
type ExportOptions struct {
	From, To   time.Time // To is exclusive
	PublicKeys []ed25519.PublicKey
	Now        func() time.Time
}

// ExportSummary counts what Export wrote.
type ExportSummary struct {
	Chains, Records, Checkpoints int
}

// Export writes the chains with records in [From, To) to w (see above).
func Export(ctx context.Context, repo Repository, w io.Writer, opts ExportOptions) (ExportSummary, error) {
	var sum ExportSummary
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := ExportHeader{Format: ExportFormat, From: formatTime(opts.From), To: formatTime(opts.To),
		PublicKeys: []string{}, ExportedAt: formatTime(opts.Now())}
	for _, k := range opts.PublicKeys {
		p, err := MarshalPublicKey(k)
		if err != nil {
			return sum, err
		}
		h.PublicKeys = append(h.PublicKeys, string(p))
	}
	ends, err := lastInRange(ctx, repo, opts.From, opts.To)
	if err != nil {
		return sum, err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(h); err != nil {
		return sum, err
	}
	chains := make([]string, 0, len(ends))
	for c := range ends {
		chains = append(chains, c)
	}
	slices.Sort(chains)
	for _, chain := range chains {
		cps, err := repo.AuditCheckpoints(ctx, chain, 0)
		if err != nil {
			return sum, fmt.Errorf("audit: checkpoints of chain %s: %w", chain, err)
		}
		end := ends[chain]
		if i := slices.IndexFunc(cps, func(c Checkpoint) bool { return c.Seq >= end }); i >= 0 {
			end = cps[i].Seq
		}
		sum.Chains++
		for after := int64(0); after < end; {
			page, err := repo.AuditChain(ctx, chain, after, int(min(verifyPage, end-after)))
			if err != nil {
				return sum, fmt.Errorf("audit: records of chain %s: %w", chain, err)
			}
			for i := range page {
				if page[i].Seq > end {
					break
				}
				if err := enc.Encode(toRecordLine(&page[i])); err != nil {
					return sum, err
				}
				sum.Records++
			}
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].Seq
		}
		for i := range cps {
			if cps[i].Seq > end {
				break
			}
			if err := enc.Encode(toCheckpointLine(&cps[i])); err != nil {
				return sum, err
			}
			sum.Checkpoints++
		}
	}
	return sum, bw.Flush()
}

// lastInRange finds the chains with records in [from, to) and the
// highest seq of each among them.
func lastInRange(ctx context.Context, repo Repository, from, to time.Time) (map[string]int64, error) {
	ends := map[string]int64{}
	q := Query{From: from, To: to, Limit: 1000}
	for {
		page, err := repo.QueryAudit(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("audit: list records: %w", err)
		}
		for _, r := range page {
			ends[r.Chain] = max(ends[r.Chain], r.Seq)
		}
		if len(page) < q.Limit {
			return ends, nil
		}
		last := page[len(page)-1]
		q.After = &Cursor{At: last.At, Chain: last.Chain, Seq: last.Seq}
	}
}

func toRecordLine(r *Record) recordLine {
	return recordLine{canonRecord: canonicalRecordOf(r), Hash: r.Hash}
}

func toCheckpointLine(c *Checkpoint) checkpointLine {
	return checkpointLine{canonCheckpoint: canonicalCheckpointOf(c), Signature: c.Signature}
}

// maxExportLine is the longest line ReadExport accepts.
const maxExportLine = 16 << 20

// ReadExport reads an export into a MemoryRepository for Verify. It does
// not judge the content: duplicates and gaps are kept for Verify to find.
// The header's public keys are whatever the file says; trust them only
// after comparing them with keys known by other means.
func ReadExport(r io.Reader) (*MemoryRepository, ExportHeader, error) {
	var h ExportHeader
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxExportLine)
	if !sc.Scan() {
		return nil, h, errors.Join(errors.New("audit: empty export"), sc.Err())
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != ExportFormat {
		return nil, h, fmt.Errorf("audit: not a %s file (header: %v)", ExportFormat, err)
	}
	m := NewMemoryRepository()
	for n := 2; sc.Scan(); n++ {
		var kind struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &kind); err != nil {
			return nil, h, fmt.Errorf("audit: export line %d: %w", n, err)
		}
		var err error
		switch kind.Type {
		case "record":
			var l recordLine
			if err = json.Unmarshal(sc.Bytes(), &l); err == nil {
				var r Record
				r, err = l.record()
				m.add([]Record{r}, nil)
			}
		case "checkpoint":
			var l checkpointLine
			if err = json.Unmarshal(sc.Bytes(), &l); err == nil {
				var c Checkpoint
				c, err = l.checkpoint()
				m.add(nil, []Checkpoint{c})
			}
		default:
			err = fmt.Errorf("unknown type %q", kind.Type)
		}
		if err != nil {
			return nil, h, fmt.Errorf("audit: export line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, h, fmt.Errorf("audit: read export: %w", err)
	}
	return m, h, nil
}

func (l *recordLine) record() (Record, error) {
	at, err := time.Parse(time.RFC3339Nano, l.At)
	c := &l.canonRecord
	r := Record{Chain: c.Chain, Seq: c.Seq, PrevHash: c.PrevHash, Hash: l.Hash, At: at.UTC(), Kind: c.Kind,
		Subject: c.Subject, Org: c.Org, Roles: c.Roles, Operation: c.Operation, Action: c.Action, CaseID: c.CaseID,
		MatterCode: c.MatterCode, HolderCode: c.HolderCode, CertificateID: c.CertificateID, IssuerCode: c.IssuerCode,
		Fields: c.Fields, Decision: c.Decision, Reason: c.Reason, PolicyVersion: c.PolicyVersion,
		RequestID: c.RequestID, Client: c.Client, V: c.V}
	if r.V < 1 {
		r.V = 1 // not a canonical version: hashed as the oldest, so it fails to verify rather than passing as another
	}
	if c.Basis != nil {
		r.Basis = *c.Basis
	}
	if c.Count != nil {
		r.Count = *c.Count
	}
	return r, err
}

func (l *checkpointLine) checkpoint() (Checkpoint, error) {
	at, err := time.Parse(time.RFC3339Nano, l.At)
	return Checkpoint{Chain: l.Chain, Seq: l.Seq, Hash: l.Hash, At: at.UTC(), KeyID: l.KeyID,
		Signature: l.Signature, Final: l.Final}, err
}
