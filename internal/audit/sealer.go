package audit

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// sealer is the state of the goroutine that links records into the
// chain; only that goroutine touches it.
type sealer struct {
	chain string
	seq   int64
	head  string // the Hash of record seq
	cur   batch  // gathered, sealed, not yet handed over
	first time.Time
	hash  recordHasher
	last  int // records in the last batch handed over: the next one's capacity
}

// newChain starts a new chain with a random id.
func (s *sealer) newChain(w *Writer) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	s.chain, s.seq = hex.EncodeToString(b[:]), 0
	s.head = GenesisHash(s.chain)
	w.stateMu.Lock()
	w.chainID = s.chain
	w.stateMu.Unlock()
}

// runSealer gathers requests into batches: it hands a batch to the
// storer once it holds MaxBatch records, or MaxWait after its first
// request arrived and the storer is free. Until then it keeps adding.
func (w *Writer) runSealer() {
	defer close(w.pipe)
	s := &w.sealer
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for {
		s.relinkIfAbandoned(w)
		var out chan *batch
		var waitC <-chan time.Time
		in := w.reqs
		if n := len(s.cur.recs); n > 0 {
			if d := time.Until(s.first.Add(w.opts.MaxWait)); n >= w.opts.MaxBatch || d <= 0 {
				out = w.pipe
			} else {
				wait.Reset(d)
				waitC = wait.C
			}
			if n >= w.opts.MaxBatch {
				in = nil // full: wait for the storer
			}
		}
		var b *batch
		if out != nil {
			b = s.handover()
		}
		select {
		case r := <-in:
			s.add(w, r)
		case out <- b:
			s.cur = batch{} // the storer owns b's slices now
		case <-waitC:
		case <-w.quit:
			s.drain(w)
			return
		}
	}
}

// add seals r's records onto the chain and adds them to the batch.
func (s *sealer) add(w *Writer, r *appendReq) {
	if len(s.cur.reqs) == 0 {
		s.first = r.at
		s.cur.chain = s.chain
		if s.cur.recs == nil {
			s.cur.recs = make([]Record, 0, max(s.last, len(r.recs)))
		}
	}
	now := w.opts.Now()
	for i := range r.recs {
		s.seal(&r.recs[i], now)
	}
	s.cur.reqs = append(s.cur.reqs, r)
	s.cur.recs = append(s.cur.recs, r.recs...)
}

// handover returns the batch being gathered, for the storer.
func (s *sealer) handover() *batch {
	b := s.cur
	s.last = len(b.recs)
	return &b
}

// relinkIfAbandoned starts a new chain if the storer gave up the current
// one, and links the batch being gathered into it: none of it is stored.
func (s *sealer) relinkIfAbandoned(w *Writer) {
	if dead, _ := w.abandoned(s.chain); !dead {
		return
	}
	s.newChain(w)
	s.cur.chain, s.cur.recs = s.chain, s.cur.recs[:0]
	for _, r := range s.cur.reqs {
		for i := range r.recs {
			s.seal(&r.recs[i], time.Time{})
		}
		s.cur.recs = append(s.cur.recs, r.recs...)
	}
}

// drain hands over everything still queued, in batches of MaxBatch.
func (s *sealer) drain(w *Writer) {
	for {
		s.relinkIfAbandoned(w)
	gather:
		for len(s.cur.recs) < w.opts.MaxBatch {
			select {
			case r := <-w.reqs:
				s.add(w, r)
			default:
				break gather
			}
		}
		if len(s.cur.recs) == 0 {
			return
		}
		w.pipe <- s.handover()
		s.cur = batch{}
	}
}

// seal normalizes r and links it to the chain's head. A zero now keeps
// r.At (relinking a record sealed before).
func (s *sealer) seal(r *Record, now time.Time) {
	if r.At.IsZero() {
		r.At = now
	}
	r.At = r.At.UTC().Truncate(time.Millisecond)
	if r.V == 0 {
		r.V = CanonicalVersion
	}
	for _, p := range []*string{&r.Kind, &r.Subject, &r.Org, &r.Operation, &r.Action, &r.CaseID, &r.MatterCode,
		&r.HolderCode, &r.CertificateID, &r.IssuerCode, &r.Decision, &r.Reason, &r.RequestID, &r.Client, &r.Basis} {
		validUTF8(p)
	}
	for _, l := range [][]string{r.Roles, r.Fields} {
		for i := range l {
			validUTF8(&l[i])
		}
	}
	s.seq++
	r.Chain, r.Seq, r.PrevHash = s.chain, s.seq, s.head
	r.Hash = s.hash.hash(r)
	s.head = r.Hash
}

// validUTF8 replaces invalid UTF-8 in *p with U+FFFD, leaving valid
// strings (nearly all) alone without ToValidUTF8's rune by rune scan.
func validUTF8(p *string) {
	if !utf8.ValidString(*p) {
		*p = strings.ToValidUTF8(*p, "\uFFFD")
	}
}
