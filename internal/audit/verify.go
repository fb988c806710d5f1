package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
)

// Kinds of problems Verify reports.
const (
	// ProblemEdited: a record's hash no longer matches its content, or a
	// signed checkpoint names another hash for it (the chain was rewritten
	// up to there, hashes included).
	ProblemEdited = "edited"
	// ProblemDeleted: a gap in the seqs; Seq is the first missing one and
	// RecordID the record after the gap.
	ProblemDeleted = "deleted"
	// ProblemInserted: a record whose PrevHash does not continue the chain
	// though its own hash fits its content, a second record with one seq,
	// or a record after the chain's Final checkpoint.
	ProblemInserted = "inserted"
	// ProblemBadCheckpoint: a checkpoint whose signature does not verify
	// with a trusted key.
	ProblemBadCheckpoint = "bad checkpoint"
	// ProblemTruncated: a signed checkpoint names a seq beyond the chain's
	// last record.
	ProblemTruncated = "truncated"
)

// Problem is the first thing found wrong with a chain.
type Problem struct {
	Chain    string
	Seq      int64
	RecordID string // "<chain>.<seq>" of the record named
	Kind     string
	Detail   string
}

func (p Problem) String() string { return p.Kind + " " + p.RecordID + ": " + p.Detail }

// Report is what Verify found.
type Report struct {
	Chains, Records, Checkpoints int
	// UnsignedTail counts the records after the last checkpoint of chains
	// not closed by a Final checkpoint: a running writer's newest records,
	// or those of a writer that crashed or abandoned its chain. They are
	// linked and hashed but not yet signed, so a forged record appended
	// there would not be noticed.
	UnsignedTail int
	// Problems holds the first problem of each chain that has one.
	Problems []Problem
}

// verifyPage is how many records Verify reads at a time.
const verifyPage = 2000

// Verify checks every chain of the log: seqs 1, 2, … without gaps or
// repeats, each record's Hash over its content and PrevHash, each
// PrevHash the previous record's Hash, each checkpoint's signature by a
// trusted key, each checkpoint's Hash the Hash of the record at its Seq,
// and nothing after a Final checkpoint. It only reads, so it runs beside
// a live server: it reads a chain's checkpoints before its records, so
// that every checkpoint it knows names a record already stored, and
// checks records up to the highest seq present. The error is for a store
// that cannot be read; what is wrong with the log is in Report.Problems.
func Verify(ctx context.Context, repo Repository, trusted []ed25519.PublicKey) (Report, error) {
	rep, _, err := VerifyFrom(ctx, repo, trusted, nil, nil)
	return rep, err
}

// Position is how far a verification of one chain got: every record up
// to Seq, the seq of a verified signed checkpoint (0: none yet), was
// verified, and the next verification continues from there.
type Position struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"` // record Seq's hash; GenesisHash at 0
	// Records and Checkpoints are how many of each were counted up to
	// Seq; AtSeq how many of the checkpoints counted name Seq itself.
	Records     int `json:"records"`
	Checkpoints int `json:"checkpoints"`
	AtSeq       int `json:"atSeq"`
	// FinalSeq is the seq of the chain's verified Final checkpoint, or -1.
	FinalSeq int64 `json:"finalSeq"`
	// Problem is the chain's first problem once found; the chain is not
	// walked again (certd audit verify walks it whole).
	Problem *Problem `json:"problem,omitempty"`
}

// Positions are the positions of every chain verified, by chain.
type Positions map[string]Position

// VerifyFrom is Verify continued from the positions from (nil: from the
// start of every chain): it reads only what was stored after them, the
// checkpoints after each position and the records after it, so a check of
// a log that grew by n records costs O(n) reads, plus one short read per
// chain. It returns the report of the whole log, counting what earlier
// verifications counted, and the positions to continue from next time.
// A record changed before its chain's position is not seen: the whole-log
// check is Verify (certd audit verify). progress, when not nil, is told
// how many records each page held.
func VerifyFrom(ctx context.Context, repo Repository, trusted []ed25519.PublicKey, from Positions, progress func(records int)) (Report, Positions, error) {
	var rep Report
	chains, err := repo.AuditChains(ctx)
	if err != nil {
		return rep, nil, fmt.Errorf("audit: list chains: %w", err)
	}
	// A chain verified before is verified again even if the store no
	// longer lists it: a chain's entry in a store's list of chains is no
	// way to make its records leave the check.
	for chain := range from {
		if !slices.Contains(chains, chain) {
			chains = append(chains, chain)
		}
	}
	slices.Sort(chains)
	next := make(Positions, len(chains))
	for _, chain := range chains {
		rep.Chains++
		pos, ok := from[chain]
		if !ok {
			pos = Position{Hash: GenesisHash(chain), FinalSeq: -1}
		}
		if pos.Problem != nil {
			rep.Records += pos.Records
			rep.Checkpoints += pos.Checkpoints
			rep.Problems = append(rep.Problems, *pos.Problem)
			next[chain] = pos
			continue
		}
		if next[chain], err = verifyChain(ctx, repo, chain, trusted, pos, &rep, progress); err != nil {
			return rep, nil, err
		}
	}
	return rep, next, nil
}

// chainCheck is the state of one chain's walk.
type chainCheck struct {
	chain     string
	signed    map[int64][]Checkpoint // verified checkpoints by seq
	lastSaid  int64                  // the highest seq a verified checkpoint names
	finalSeq  int64                  // the Final checkpoint's seq, or -1
	prevHash  string
	last      int64 // the seq of the last record seen
	unsigned  int
	candidate []Problem
	walk      *Problem // the first problem found walking the records
}

// verifyChain walks one chain from pos, adds what it finds to rep and
// returns the chain's next position.
func verifyChain(ctx context.Context, repo Repository, chain string, trusted []ed25519.PublicKey, pos Position, rep *Report, progress func(int)) (Position, error) {
	// From the position's own seq: a Final checkpoint may have joined
	// the ordinary one there.
	cps, err := repo.AuditCheckpoints(ctx, chain, max(pos.Seq-1, 0))
	if err != nil {
		return pos, fmt.Errorf("audit: checkpoints of chain %s: %w", chain, err)
	}
	c := &chainCheck{chain: chain, signed: map[int64][]Checkpoint{}, finalSeq: pos.FinalSeq, prevHash: pos.Hash,
		lastSaid: pos.Seq, last: pos.Seq}
	checkpoints, atSeq := pos.Checkpoints-pos.AtSeq, 0
	for _, cp := range cps {
		checkpoints++
		if cp.Seq == pos.Seq {
			atSeq++
		}
		if err := VerifyCheckpoint(&cp, trusted); err != nil || cp.Chain != chain {
			if err == nil {
				err = fmt.Errorf("belongs to chain %s", cp.Chain)
			}
			c.candidate = append(c.candidate, c.problem(cp.Seq, ProblemBadCheckpoint, "checkpoint at seq %d: %v", cp.Seq, err))
			continue
		}
		if cp.Seq == pos.Seq && pos.Seq > 0 && cp.Hash != pos.Hash {
			c.candidate = append(c.candidate, c.problem(cp.Seq, ProblemEdited, "its hash differs from the signed checkpoint's: the chain was rewritten up to here"))
		}
		c.signed[cp.Seq] = append(c.signed[cp.Seq], cp)
		c.lastSaid = max(c.lastSaid, cp.Seq)
		if cp.Final {
			c.finalSeq = max(c.finalSeq, cp.Seq)
		}
	}
	rep.Checkpoints += checkpoints
	records := pos.Records
	for after := pos.Seq; ; {
		page, err := repo.AuditChain(ctx, chain, after, verifyPage)
		if err != nil {
			return pos, fmt.Errorf("audit: records of chain %s: %w", chain, err)
		}
		for i := range page {
			records++
			c.check(&page[i])
		}
		if progress != nil && len(page) > 0 {
			progress(len(page))
		}
		if len(page) < verifyPage {
			break
		}
		after = page[len(page)-1].Seq
	}
	rep.Records += records
	if c.finalSeq < 0 {
		rep.UnsignedTail += c.unsigned
	}
	for seq := range c.signed {
		if seq > c.last {
			c.candidate = append(c.candidate, c.problem(seq, ProblemTruncated,
				"a signed checkpoint names seq %d, but the chain ends at seq %d", seq, c.last))
		}
	}
	if c.walk != nil {
		c.candidate = append([]Problem{*c.walk}, c.candidate...)
	}
	if len(c.candidate) > 0 {
		first := c.candidate[0]
		for _, p := range c.candidate[1:] {
			if p.Seq < first.Seq {
				first = p
			}
		}
		rep.Problems = append(rep.Problems, first)
		return Position{Seq: pos.Seq, Hash: pos.Hash, Records: records, Checkpoints: checkpoints, FinalSeq: c.finalSeq, Problem: &first}, nil
	}
	// The next position: the newest verified checkpoint the walk reached.
	next := pos
	for seq, cs := range c.signed {
		if seq > next.Seq && seq <= c.last {
			next.Seq, next.Hash = seq, cs[0].Hash
		}
	}
	next.Records = int(next.Seq) // seqs 1..Seq, without gaps
	next.Checkpoints, next.AtSeq = 0, 0
	for seq, cs := range c.signed {
		if seq <= next.Seq {
			next.Checkpoints += len(cs)
		}
		if seq == next.Seq {
			next.AtSeq = len(cs)
		}
	}
	next.Checkpoints += pos.Checkpoints - pos.AtSeq // those before pos.Seq, not read again
	next.FinalSeq = c.finalSeq
	return next, nil
}

func (c *chainCheck) problem(seq int64, kind, format string, args ...any) Problem {
	return Problem{Chain: c.chain, Seq: seq, RecordID: c.chain + "." + itoa(seq), Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// check checks one record, in seq order; after the first problem it
// only counts.
func (c *chainCheck) check(r *Record) {
	if r.Seq > c.lastSaid {
		c.unsigned++
	}
	if c.walk != nil {
		c.last = max(c.last, r.Seq)
		return
	}
	var p *Problem
	set := func(seq int64, kind, format string, args ...any) {
		q := c.problem(seq, kind, format, args...)
		q.RecordID = r.ID()
		p = &q
	}
	switch hash := RecordHash(r); {
	case r.Chain != c.chain:
		set(r.Seq, ProblemInserted, "a record of chain %s listed in this chain", r.Chain)
	case r.Seq <= c.last:
		set(r.Seq, ProblemInserted, "a second record with seq %d", r.Seq)
	case r.Seq > c.last+1:
		missing := fmt.Sprintf("record %d is", c.last+1)
		if r.Seq > c.last+2 {
			missing = fmt.Sprintf("records %d to %d are", c.last+1, r.Seq-1)
		}
		set(c.last+1, ProblemDeleted, "%s missing before %s", missing, r.ID())
	case r.V < 0 || r.V > CanonicalVersion:
		set(r.Seq, ProblemEdited, "its canonical version %d is not one certd writes", r.V)
	case hash != r.Hash:
		set(r.Seq, ProblemEdited, "its content does not match its hash")
	case r.PrevHash != c.prevHash:
		set(r.Seq, ProblemInserted, "its own hash fits, but its PrevHash does not continue the chain (a record inserted out of band, or the one before it rewritten)")
	case c.finalSeq >= 0 && r.Seq > c.finalSeq:
		set(r.Seq, ProblemInserted, "it follows the chain's Final checkpoint at seq %d", c.finalSeq)
	default:
		for _, cp := range c.signed[r.Seq] {
			if cp.Hash != r.Hash {
				set(r.Seq, ProblemEdited, "its hash differs from the signed checkpoint's: the chain was rewritten up to here")
				break
			}
		}
	}
	c.walk = p
	c.prevHash = r.Hash
	c.last = max(c.last, r.Seq)
}
