package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"sync"
	"time"

	"certd/internal/apperr"
)

// WriterOptions tunes a Writer; zero values take the defaults.
type WriterOptions struct {
	// MaxBatch is how many records one group commit holds (default
	// 4096): a batch is closed once it holds this many. One Append is
	// never split, so the last one can take a batch past MaxBatch.
	MaxBatch int
	// MaxWait is how long a batch waits for more records after its first
	// request arrived (default 500µs): the bounded wait of group commit;
	// under load batches grow while the previous one is being stored.
	MaxWait time.Duration
	// CheckpointEvery: a checkpoint goes with the batch that brings the
	// records since the last one to this many (default 1000).
	CheckpointEvery int
	// CheckpointInterval: a checkpoint goes with the next batch once this
	// much time passed since the last one, and is written on its own when
	// the writer is idle with records not yet signed (default 1s).
	CheckpointInterval time.Duration
	// Now is the clock for records without At and for checkpoints
	// (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// ErrWriterClosed is the cause of AUDIT_UNAVAILABLE after Close.
var ErrWriterClosed = errors.New("audit writer closed")

// Writer appends records to its own hash chain with group commit. Two
// goroutines form a pipeline: the sealer gathers the records of
// concurrent Append calls in arrival order and links them into the chain
// (sealer.go); the storer writes each batch in one AppendAudit call, adds
// signed checkpoints, and answers the waiting callers (storer.go). While
// the storer writes one batch, the sealer gathers the next.
//
// A failed AppendAudit may have stored part of its batch (MongoDB has no
// transactions), so its seqs are never used again: the storer abandons
// the chain, failing any batch of it that follows, and the sealer starts a
// new chain with a new random id and re-links what it has not handed over
// yet. The abandoned chain ends, without gaps, at whatever was stored,
// after its last checkpoint: Verify counts those records as an unsigned
// tail, not as a problem.
type Writer struct {
	repo Repository
	key  ed25519.PrivateKey
	opts WriterOptions
	log  *slog.Logger

	reqs  chan *appendReq
	pipe  chan *batch   // sealer → storer; closed by the sealer on Close
	quit  chan struct{} // closed by Close
	done  chan struct{} // closed when the storer has ended
	close sync.Once

	mu     sync.RWMutex // held for reading while a request is handed over
	closed bool

	stateMu  sync.Mutex
	chainID  string // the sealer's chain, for Chain
	dead     string // the chain the storer abandoned last
	lastErr  error  // why
	closeErr error  // set by the storer before done is closed

	sealer sealer
	storer storer
}

// appendReq is one Append call waiting for its batch.
type appendReq struct {
	recs []Record // the writer's own copy, sealed by the sealer
	at   time.Time
	done chan error
}

// batch is what the sealer hands to the storer: sealed records of one
// chain, in seq order, and the requests they came from.
type batch struct {
	chain string
	reqs  []*appendReq
	recs  []Record
}

// NewWriter starts a writer on a new chain; Close stops it.
func NewWriter(repo Repository, key ed25519.PrivateKey, opts WriterOptions) (*Writer, error) {
	if repo == nil {
		return nil, errors.New("audit: writer needs a repository")
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("audit: writer needs an Ed25519 signing key")
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 500 * time.Microsecond
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 1000
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Writer{
		repo: repo, key: key, opts: opts, log: opts.Logger,
		reqs: make(chan *appendReq, 1024), pipe: make(chan *batch),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	w.sealer.newChain(w)
	go w.runSealer()
	go w.runStorer()
	return w, nil
}

// Chain returns the id of the chain the writer currently appends to.
func (w *Writer) Chain() string {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	return w.chainID
}

// unavailable is the error of an Append whose records may not be stored.
func unavailable(cause error) error {
	return apperr.Wrap(cause, apperr.AuditUnavailable, "audit log unavailable; no data returned")
}

// Append stores recs and returns once they are durably stored. It fills
// each record's Chain, Seq, PrevHash and Hash, sets a zero At to now, and
// truncates At to milliseconds in UTC. On any failure it returns
// AUDIT_UNAVAILABLE: the caller must not release the data the records
// describe. If ctx ends first, the records may still be stored.
func (w *Writer) Append(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	req := &appendReq{recs: make([]Record, len(recs)), at: time.Now(), done: make(chan error, 1)}
	n := 0
	for i := range recs {
		n += len(recs[i].Roles) + len(recs[i].Fields)
	}
	strs := make([]string, 0, n) // the copies of every Roles and Fields, in one allocation
	for i := range recs {
		req.recs[i] = recs[i]
		req.recs[i].Roles, strs = cloneInto(strs, recs[i].Roles)
		req.recs[i].Fields, strs = cloneInto(strs, recs[i].Fields)
	}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return unavailable(ErrWriterClosed)
	}
	select {
	case w.reqs <- req:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return unavailable(ctx.Err())
	}
	select {
	case err := <-req.done:
		if err != nil {
			return err
		}
		for i := range recs {
			r := &req.recs[i]
			recs[i].Chain, recs[i].Seq, recs[i].PrevHash, recs[i].Hash, recs[i].At = r.Chain, r.Seq, r.PrevHash, r.Hash, r.At
		}
		return nil
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// cloneInto copies l to the end of buf, which has room for it, and
// returns the copy (nil for nil, like slices.Clone) and buf.
func cloneInto(buf, l []string) (clone, rest []string) {
	if l == nil {
		return nil, buf
	}
	buf = append(buf, l...)
	return buf[len(buf)-len(l) : len(buf) : len(buf)], buf
}

// Close stores what is pending, writes the chain's Final checkpoint and
// stops the writer. Later Appends fail with AUDIT_UNAVAILABLE. If ctx ends
// first, Close returns its error and the writer finishes in the
// background.
func (w *Writer) Close(ctx context.Context) error {
	w.close.Do(func() {
		w.mu.Lock() // waits for requests being handed over
		w.closed = true
		w.mu.Unlock()
		close(w.quit)
	})
	select {
	case <-w.done:
		return w.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// abandon records that the storer gave up chain after err.
func (w *Writer) abandon(chain string, err error) {
	w.stateMu.Lock()
	w.dead, w.lastErr = chain, err
	w.stateMu.Unlock()
}

// abandoned reports whether chain was given up, and why.
func (w *Writer) abandoned(chain string) (bool, error) {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	return w.dead == chain, w.lastErr
}
