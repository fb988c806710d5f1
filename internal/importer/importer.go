// Package importer is certd's stock import (第十一条: digitising paper
// licences in bulk), a client of the GraphQL API: it streams a JSON Lines
// or CSV file to issueCertificates in mode STOCK, in batches bounded by
// count and bytes, two requests in flight, with retries, a resumable
// progress file, a rejects file and a progress bar.
//
// Every record carries an idempotency key (its own, or one derived from
// its content), so rerunning a file, whole or after a crash, creates
// nothing twice: the server answers duplicates.
//
// Input formats (by extension: .jsonl/.ndjson/.json are JSON Lines, .csv
// is CSV; otherwise a file whose first non-blank byte is '{' is JSON
// Lines, any other CSV; UTF-8, a BOM is skipped; blank lines are skipped):
//
//   - JSON Lines: one object per line with holder {code, name, kind} (or
//     flat holderCode, holderName, holderKind), data (an object of template
//     fields, typed as JSON), validFrom and validUntil (YYYY-MM-DD),
//     businessCompletedAt (RFC 3339), idempotencyKey, and optionally
//     typeCode (must equal the imported type). Other keys reject the line.
//   - CSV: a header row naming holderCode and holderName, optionally
//     holderKind, validFrom, validUntil, businessCompletedAt and
//     idempotencyKey (case-insensitive); every other named column is a
//     template field and must exist in the template. Cells are trimmed;
//     empty cells are omitted; a NUMBER field's cell that is a JSON number
//     is sent as a number, a BOOLEAN field's true/false (any case) as a
//     boolean, anything else as the string it is.
//
// In both, a missing holder kind is inferred from the code (a valid
// unified social credit code: ORGANIZATION; a valid resident identity
// number: PERSON; else the record is rejected), holder codes are
// upper-cased, and a record without idempotencyKey gets
// "import:TYPE:" + the first 32 hex digits of the SHA-256 of its
// canonical content (holder, data, validity, completion time; not its
// line), so reordering or re-running a file is safe.
package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"certd/internal/termprogress"
)

// Defaults of Options.
const (
	DefaultBatchSize       = 500
	DefaultRetries         = 5
	DefaultConcurrency     = 2
	DefaultMaxRequestBytes = 900 << 10 // under the server's 1 MiB body limit
)

// Options configure one import.
type Options struct {
	Server   string // base URL, e.g. http://127.0.0.1:8080; requests go to Server+"/graphql"
	Token    string // bearer token of an issuer of TypeCode's unit
	TypeCode string // the certificate type every record is issued as
	File     string // the input, JSON Lines or CSV

	BatchSize int       // records per request, 1..1000; 0 means DefaultBatchSize
	Progress  io.Writer // progress bar and messages; nil shows nothing
	// HTTPClient sends the requests; nil means a client with pooled
	// connections and bounded dial, handshake and response times.
	HTTPClient *http.Client
	// Retries of a request after network errors, HTTP 5xx and 429, and
	// transient server codes (INTERNAL, AUDIT_UNAVAILABLE, CONFLICT), with
	// exponential backoff; 0 means DefaultRetries, negative none.
	Retries int
	// Concurrency is the number of requests in flight, 1..16; 0 means
	// DefaultConcurrency.
	Concurrency int
	// MaxRequestBytes bounds a request body; 0 means DefaultMaxRequestBytes.
	// A server that still answers 413 gets smaller batches automatically.
	MaxRequestBytes int

	retryBase time.Duration // first backoff; tests shorten it
}

// Summary counts the records of the file. Rows = Created + Duplicates +
// Rejected + Skipped once a run has read the whole file.
type Summary struct {
	Rows       int // records accounted for, Skipped included
	Created    int // licences issued by this run
	Duplicates int // records whose idempotency key was already issued (earlier runs, or a retried request)
	Rejected   int // records written to the rejects file by this run
	Skipped    int // records a stopped earlier run had finished, not read again
	Elapsed    time.Duration
	Rate       float64 // records per second handled by this run, Skipped excluded
	// RejectsFile is the path of the rejects file, "" when it is empty
	// (and removed).
	RejectsFile string
}

// Errors Run wraps, for the caller to choose an exit code.
var (
	// ErrInput: bad options, an unreadable file, a malformed CSV header or
	// an unknown certificate type. Nothing was sent.
	ErrInput = errors.New("invalid import")
	// ErrAuth: the server answered UNAUTHENTICATED or FORBIDDEN (a missing
	// or expired token, a caller who may not issue the type).
	ErrAuth = errors.New("not authorised")
	// ErrServer: the server stayed unavailable past the retries, or
	// answered in a way the importer cannot go on from.
	ErrServer = errors.New("server failure")
)

// ProgressFile and RejectsFile are the companion files of an input.
func ProgressFile(file string) string { return file + ".progress" }

// RejectsFile is where the records the import refused are written.
func RejectsFile(file string) string { return file + ".rejects.jsonl" }

func (o *Options) normalise() (string, error) {
	if o.TypeCode = strings.TrimSpace(o.TypeCode); o.TypeCode == "" {
		return "", fmt.Errorf("%w: no certificate type code", ErrInput)
	}
	if o.File == "" {
		return "", fmt.Errorf("%w: no input file", ErrInput)
	}
	u, err := url.Parse(strings.TrimSpace(o.Server))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: server %q is not an http(s) URL", ErrInput, o.Server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(u.Path, "/graphql") {
		u.Path += "/graphql"
	}
	switch {
	case o.BatchSize == 0:
		o.BatchSize = DefaultBatchSize
	case o.BatchSize < 0 || o.BatchSize > maxBatch:
		return "", fmt.Errorf("%w: batch size %d is outside 1..%d", ErrInput, o.BatchSize, maxBatch)
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	switch {
	case o.Concurrency == 0:
		o.Concurrency = DefaultConcurrency
	case o.Concurrency < 0 || o.Concurrency > 16:
		return "", fmt.Errorf("%w: concurrency %d is outside 1..16", ErrInput, o.Concurrency)
	}
	switch {
	case o.MaxRequestBytes == 0:
		o.MaxRequestBytes = DefaultMaxRequestBytes
	case o.MaxRequestBytes < 4<<10:
		return "", fmt.Errorf("%w: request limit %d bytes is too small", ErrInput, o.MaxRequestBytes)
	}
	if o.retryBase <= 0 {
		o.retryBase = 500 * time.Millisecond
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newHTTPClient()
	}
	return u.String(), nil
}

// Run imports opts.File. It returns the summary so far with any error;
// after an error other than ErrInput the progress file lets the same
// call resume where the acknowledged records end.
func Run(ctx context.Context, opts Options) (Summary, error) {
	start := time.Now()
	r := &run{o: opts}
	sum, err := r.run(ctx)
	sum.Elapsed = time.Since(start)
	if secs := sum.Elapsed.Seconds(); secs > 0 {
		sum.Rate = float64(sum.Rows-sum.Skipped) / secs
	}
	if r.began {
		r.say("%s\n", sum.line(err == nil))
	}
	return sum, err
}

// line is the one-line summary printed at the end.
func (s Summary) line(complete bool) string {
	var b strings.Builder
	if complete {
		b.WriteString("import done: ")
	} else {
		b.WriteString("import stopped: ")
	}
	fmt.Fprintf(&b, "%d rows in %s (%.0f rows/s): %d created, %d duplicates, %d rejected, %d skipped",
		s.Rows, s.Elapsed.Round(time.Millisecond), s.Rate, s.Created, s.Duplicates, s.Rejected, s.Skipped)
	if s.RejectsFile != "" {
		fmt.Fprintf(&b, "; rejects in %s", s.RejectsFile)
	}
	return b.String()
}

// run is the state of one import.
type run struct {
	o         Options
	c         *client
	src       source
	rj        *rejects
	bar       *termprogress.Bar
	sum       Summary
	prog      progress
	progPath  string
	began     bool         // files were touched: print a summary
	unlocated atomic.Int32 // single records refused as whole requests, in a row
}

func (r *run) say(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, format, args...)
	}
}

func (r *run) run(ctx context.Context) (Summary, error) {
	server, err := r.o.normalise()
	if err != nil {
		return r.sum, err
	}
	f, err := os.Open(r.o.File)
	if err != nil {
		return r.sum, fmt.Errorf("%w: %v", ErrInput, err)
	}
	defer f.Close()
	id, err := identify(f)
	if err != nil {
		return r.sum, fmt.Errorf("%w: %v", ErrInput, err)
	}
	head := make([]byte, min(id.Size, 4<<10))
	if _, err := f.ReadAt(head, 0); err != nil && err != io.EOF {
		return r.sum, fmt.Errorf("%w: %v", ErrInput, err)
	}
	ft, err := detectFormat(r.o.File, head)
	if err != nil {
		return r.sum, err
	}

	r.c = &client{url: server, token: r.o.Token, hc: r.o.HTTPClient, retries: r.o.Retries, base: r.o.retryBase}
	tmpl, err := r.c.template(ctx, r.o.TypeCode)
	if err != nil {
		return r.sum, stopError(err, "checking certificate type "+r.o.TypeCode)
	}
	if tmpl.caller != "" && tmpl.issuer != "" && tmpl.caller != tmpl.issuer {
		return r.sum, fmt.Errorf("%w: certificate type %s is issued by unit %s, the token's unit is %s", ErrAuth, r.o.TypeCode, tmpl.issuer, tmpl.caller)
	}
	if tmpl.roles != nil && !slices.Contains(tmpl.roles, "importer") {
		return r.sum, fmt.Errorf("%w: stock licences (mode STOCK, 第十一条) are imported with a token that has the importer role besides issuer; this one has %s",
			ErrAuth, strings.Join(tmpl.roles, ", "))
	}

	r.progPath = ProgressFile(r.o.File)
	var resume *progress
	switch p, err := loadProgress(r.progPath); {
	case err != nil:
		r.say("ignoring unreadable progress file: %v\n", err)
	case p != nil && p.matches(id, server, r.o.TypeCode):
		resume = p
	case p != nil:
		r.say("ignoring %s: it was written for another version of the file, another server or another type\n", r.progPath)
	}
	offset := int64(0)
	if resume != nil {
		offset, r.sum.Skipped, r.sum.Rows = resume.Offset, resume.Rows, resume.Rows
	}
	if r.src, err = openSource(f, id.Size, ft, offset, r.o.TypeCode, tmpl.fields); err != nil {
		return r.sum, err
	}
	keep := int64(0)
	if resume != nil {
		keep = resume.RejectsSize
	}
	if r.rj, err = openRejects(RejectsFile(r.o.File), resume != nil, keep); err != nil {
		return r.sum, fmt.Errorf("%w: rejects file: %v", ErrInput, err)
	}
	if resume == nil {
		if err := removeIfExists(r.progPath); err != nil {
			return r.sum, fmt.Errorf("%w: progress file: %v", ErrInput, err)
		}
	}
	r.began = true
	r.prog = progress{Version: progressVersion, File: absPath(r.o.File), Server: server, TypeCode: r.o.TypeCode,
		Size: id.Size, ModTime: id.ModTime, Head: id.Head, Offset: offset, Rows: r.sum.Rows, RejectsSize: r.rj.size}

	if r.o.Progress != nil {
		total, err := estimateRows(f, id.Size, ft)
		if err != nil {
			return r.sum, fmt.Errorf("%w: %v", ErrInput, err)
		}
		desc := "import"
		if resume != nil {
			r.say("resuming %s after %d rows done earlier\n", r.o.File, resume.Rows)
			desc = "resume"
		}
		r.bar = termprogress.New(r.o.Progress, total-int64(r.sum.Skipped), desc, "rows")
	}

	err = r.pipeline(ctx)
	r.bar.Done(err == nil)
	err = errors.Join(err, r.rj.close())
	if r.rj.exists() {
		r.sum.RejectsFile = RejectsFile(r.o.File)
	}
	if err != nil {
		return r.sum, stopError(err, fmt.Sprintf("import stopped after %d of the file's rows (%d created, %d duplicates, %d rejected in this run); rerun the same command to resume",
			r.sum.Rows, r.sum.Created, r.sum.Duplicates, r.sum.Rejected))
	}
	if err := errors.Join(removeIfExists(r.progPath), removeIfExists(r.progPath+".tmp")); err != nil {
		return r.sum, err
	}
	return r.sum, nil
}

// stopError explains err, wrapping the matching sentinel.
func stopError(err error, what string) error {
	var ce *callError
	switch {
	case errors.Is(err, ErrInput), errors.Is(err, ErrAuth), errors.Is(err, ErrServer):
		return fmt.Errorf("%s: %w", what, err)
	case errors.As(err, &ce) && ce.kind == kindAuth:
		return fmt.Errorf("%s: %w: %v", what, ErrAuth, ce)
	case errors.As(err, &ce) && ce.kind == kindTransient:
		return fmt.Errorf("%s: %w: still failing after the retries: %v", what, ErrServer, ce)
	case errors.As(err, &ce):
		return fmt.Errorf("%s: %w: %v", what, ErrServer, ce)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// outcome is what became of one record.
type outcome struct {
	kind   outKind
	reason string
	code   string
	stage  string
}

type outKind int

const (
	outCreated outKind = iota + 1
	outDuplicate
	outRejected
)

type result struct {
	b   *batch
	out []outcome
	err error
}

// pipeline reads, sends and acknowledges: one goroutine reads the file
// into batches, Concurrency goroutines send them, and this one commits
// their results in file order, so the progress offset never passes a
// batch that is not acknowledged.
func (r *run) pipeline(ctx context.Context) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *batch)
	results := make(chan result, r.o.Concurrency)
	window := make(chan struct{}, r.o.Concurrency+2) // batches read but not committed

	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(batches)
		readErr = r.produce(ctx, batches, window)
	}()
	var wg sync.WaitGroup
	for range r.o.Concurrency {
		wg.Go(func() {
			for b := range batches {
				res := r.send(ctx, b)
				if res.err != nil {
					cancel() // before this worker can take another batch
				}
				results <- res
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	pending := map[int]result{}
	next := 0
	var cause error
	stopped := false
	for res := range results {
		if res.err != nil {
			if cause == nil && !errors.Is(res.err, context.Canceled) {
				cause = res.err
			}
			cancel()
		}
		pending[res.b.seq] = res
		for !stopped {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if p.err == nil {
				p.err = r.commit(p)
			}
			if p.err != nil {
				stopped = true
				if cause == nil && !errors.Is(p.err, context.Canceled) {
					cause = p.err
				}
				cancel()
				break
			}
			next++
			<-window
		}
	}
	<-readDone
	switch {
	case parent.Err() != nil:
		return parent.Err()
	case cause != nil:
		return cause
	case readErr != nil:
		return readErr
	}
	return nil
}

// produce reads records and hands out batches, holding a window slot for
// each until it is committed.
func (r *run) produce(ctx context.Context, batches chan<- *batch, window chan struct{}) error {
	sp := splitter{maxRows: r.o.BatchSize, maxBytes: r.o.MaxRequestBytes}
	emit := func(b *batch) error {
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case batches <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		rw, err := r.src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: reading %s: %v", ErrInput, r.o.File, err)
		}
		for _, b := range sp.add(rw) {
			if err := emit(b); err != nil {
				return err
			}
		}
	}
	if b := sp.flush(); b != nil {
		return emit(b)
	}
	return nil
}

// maxUnlocated stops an import whose requests the server refuses whole
// even one record at a time, as it would for every record.
const maxUnlocated = 10

// send issues a batch and says what became of each record.
func (r *run) send(ctx context.Context, b *batch) result {
	res := result{b: b, out: make([]outcome, len(b.rows))}
	for i, rw := range b.rows {
		if rw.input == nil {
			res.out[i] = outcome{kind: outRejected, reason: rw.reason, code: "INVALID_INPUT", stage: stageLocal}
		}
	}
	if len(b.send) > 0 {
		res.err = r.sendItems(ctx, b, b.send, b.body, res.out)
	}
	return res
}

// sendItems sends the records idx of b (body, when not nil, is their
// request). A request refused as a whole for its content loses the record
// the error points at, or is split in halves until the culprit is alone;
// records that failed for a transient reason are sent again.
func (r *run) sendItems(ctx context.Context, b *batch, idx []int, body []byte, out []outcome) error {
	again := 0
	for len(idx) > 0 {
		if body == nil {
			body = b.buildBody(idx)
		}
		data, err := r.c.call(ctx, body, "issueCertificates")
		body = nil
		var ce *callError
		switch {
		case err == nil:
			r.unlocated.Store(0)
			retry, err := applyItems(data, idx, out)
			if err != nil {
				return err
			}
			if len(retry) == 0 {
				return nil
			}
			if again >= r.c.retries {
				return nil // they stay rejected with their code
			}
			if err := sleep(ctx, r.c.base<<again); err != nil {
				return err
			}
			again++
			idx = retry
		case !errors.As(err, &ce) || ce.kind != kindInvalid:
			return err
		case ce.index >= 0 && ce.index < len(idx):
			out[idx[ce.index]] = serverReject(ce.msg, ce.code)
			idx = slices.Delete(slices.Clone(idx), ce.index, ce.index+1)
		case len(idx) == 1:
			out[idx[0]] = serverReject(ce.msg, ce.code)
			if n := r.unlocated.Add(1); n >= maxUnlocated {
				return fmt.Errorf("%w: the server refused %d single records in a row as whole requests (%v): it seems to refuse every request", ErrServer, n, ce)
			}
			return nil
		default:
			mid := len(idx) / 2
			if err := r.sendItems(ctx, b, idx[:mid], nil, out); err != nil {
				return err
			}
			idx = idx[mid:]
		}
	}
	return nil
}

func serverReject(msg, code string) outcome {
	if code == "" {
		code = "INVALID_INPUT"
	}
	return outcome{kind: outRejected, reason: msg, code: code, stage: stageServer}
}

// transientItem reports whether a per-record error code is worth a retry.
func transientItem(code string) bool { return code == "INTERNAL" || code == "AUDIT_UNAVAILABLE" }

// applyItems records the per-record results of a BatchResult answering the
// records idx, and returns those to send again.
func applyItems(data map[string]json.RawMessage, idx []int, out []outcome) (retry []int, err error) {
	var br batchResult
	if err := json.Unmarshal(data["issueCertificates"], &br); err != nil {
		return nil, &callError{kind: kindFatal, msg: "unexpected issueCertificates answer: " + err.Error(), index: -1}
	}
	seen := make([]bool, len(idx))
	for _, it := range br.Items {
		if it.Index < 0 || it.Index >= len(idx) || seen[it.Index] {
			return nil, &callError{kind: kindFatal, msg: fmt.Sprintf("issueCertificates answered item %d for %d inputs", it.Index, len(idx)), index: -1}
		}
		seen[it.Index] = true
		i := idx[it.Index]
		switch {
		case it.Error != nil || it.ErrorCode != nil:
			msg, code := deref(it.Error), deref(it.ErrorCode)
			out[i] = serverReject(msg, code)
			if transientItem(code) {
				retry = append(retry, i)
			}
		case it.Duplicate:
			out[i] = outcome{kind: outDuplicate}
		default:
			out[i] = outcome{kind: outCreated}
		}
	}
	if n := len(br.Items); n != len(idx) {
		return nil, &callError{kind: kindFatal, msg: fmt.Sprintf("issueCertificates answered %d items for %d inputs", n, len(idx)), index: -1}
	}
	return retry, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(min(d, 30*time.Second))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// commit acknowledges a batch: rejects are made durable first, then the
// progress file moves past the batch.
func (r *run) commit(res result) error {
	for i, o := range res.out {
		rw := res.b.rows[i]
		switch o.kind {
		case outCreated:
			r.sum.Created++
		case outDuplicate:
			r.sum.Duplicates++
		case outRejected:
			r.sum.Rejected++
			if err := r.rj.add(rejectRecord{Line: rw.line, Row: rw.raw, Reason: o.reason, Code: o.code, Stage: o.stage}); err != nil {
				return fmt.Errorf("writing rejects: %w", err)
			}
		default:
			return fmt.Errorf("%w: no outcome for the record on line %d", ErrServer, rw.line)
		}
	}
	if err := r.rj.sync(); err != nil {
		return fmt.Errorf("writing rejects: %w", err)
	}
	r.sum.Rows += len(res.b.rows)
	r.prog.Offset, r.prog.Rows, r.prog.RejectsSize, r.prog.Updated = res.b.end, r.sum.Rows, r.rj.size, time.Now().UTC()
	if err := saveProgress(r.progPath, &r.prog); err != nil {
		return fmt.Errorf("writing progress: %w", err)
	}
	r.bar.Add(len(res.b.rows))
	return nil
}
