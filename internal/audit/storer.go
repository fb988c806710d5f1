package audit

import (
	"context"
	"fmt"
	"time"

	"certd/internal/apperr"
)

// storeTimeout bounds one AppendAudit call of the writer; the callers'
// own contexts bound their waiting.
const storeTimeout = 30 * time.Second

// storer is the state of the goroutine that stores batches; only that
// goroutine touches it. It knows the head of the chain as stored, so it
// also signs the checkpoints.
type storer struct {
	chain    string // the chain of the last batch stored, "" after a failure
	seq      int64  // its last record
	head     string
	signed   int64     // the seq of its last checkpoint stored
	signedAt time.Time // when that was written (or the chain started)
}

// runStorer stores the sealer's batches in order, writes a checkpoint on
// its own when idle with records not yet signed, and on Close the Final
// checkpoint.
func (w *Writer) runStorer() {
	defer close(w.done)
	tick := time.NewTicker(max(w.opts.CheckpointInterval/4, time.Millisecond))
	defer tick.Stop()
	s := &w.storer
	for {
		select {
		case b, ok := <-w.pipe:
			if !ok {
				w.closeErr = s.final(w)
				return
			}
			s.store(w, b)
		case <-tick.C:
			if s.chain != "" && s.seq > s.signed && w.opts.Now().Sub(s.signedAt) >= w.opts.CheckpointInterval {
				if err := s.checkpoint(w, false); err != nil {
					w.log.Warn("audit: checkpoint not written; retrying", "chain", s.chain, "seq", s.seq, "err", err)
				}
			}
		}
	}
}

// store writes one batch, with a checkpoint when one is due, and answers
// its requests. A batch of an abandoned chain is refused unstored: it
// would leave a gap.
func (s *storer) store(w *Writer, b *batch) {
	if dead, cause := w.abandoned(b.chain); dead {
		answer(b, unavailable(fmt.Errorf("chain %s abandoned after a failed write: %w", b.chain, cause)))
		return
	}
	now := w.opts.Now()
	if b.chain != s.chain {
		s.chain, s.signed, s.signedAt = b.chain, 0, now
	}
	last := &b.recs[len(b.recs)-1]
	var cps []Checkpoint
	if last.Seq-s.signed >= int64(w.opts.CheckpointEvery) || now.Sub(s.signedAt) >= w.opts.CheckpointInterval {
		cps = []Checkpoint{w.sign(last.Chain, last.Seq, last.Hash, now, false)}
	}
	if err := w.append(b.recs, cps); err != nil {
		w.log.Error("audit: batch not stored; abandoning the chain", "chain", b.chain, "records", len(b.recs), "err", err)
		w.abandon(b.chain, err)
		s.chain = ""
		answer(b, unavailable(err))
		return
	}
	s.seq, s.head = last.Seq, last.Hash
	if cps != nil {
		s.signed, s.signedAt = last.Seq, now
	}
	answer(b, nil)
}

func answer(b *batch, err error) {
	for _, r := range b.reqs {
		r.done <- err
	}
}

// checkpoint stores a checkpoint of the stored head on its own. A
// CONFLICT means an earlier attempt at the same seq was stored after all.
func (s *storer) checkpoint(w *Writer, final bool) error {
	now := w.opts.Now()
	err := w.append(nil, []Checkpoint{w.sign(s.chain, s.seq, s.head, now, final)})
	if err != nil && !apperr.CodeIs(err, apperr.Conflict) {
		return err
	}
	s.signed, s.signedAt = s.seq, now
	return nil
}

// final writes the Final checkpoint of a chain that has records stored.
func (s *storer) final(w *Writer) error {
	if s.chain == "" {
		return nil
	}
	if err := s.checkpoint(w, true); err != nil {
		return unavailable(err)
	}
	return nil
}

// sign makes a signed checkpoint.
func (w *Writer) sign(chain string, seq int64, hash string, now time.Time, final bool) Checkpoint {
	cp := Checkpoint{Chain: chain, Seq: seq, Hash: hash, At: now.UTC().Truncate(time.Millisecond), Final: final}
	SignCheckpoint(w.key, &cp)
	return cp
}

func (w *Writer) append(recs []Record, cps []Checkpoint) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return w.repo.AppendAudit(ctx, recs, cps)
}
