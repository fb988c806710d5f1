package importer

// The GraphQL request that carries a batch. Its body is assembled from
// the inputs' encodings, which were made while reading the file.
const (
	issueMutation = `mutation Import($inputs:[IssueInput!]!){issueCertificates(inputs:$inputs){created duplicates failed items{index certificate{id} error errorCode duplicate}}}`
	bodyPrefix    = `{"query":"` + issueMutation + `","variables":{"inputs":[`
	bodySuffix    = `]}}`
	envelopeBytes = len(bodyPrefix) + len(bodySuffix)
)

// maxBatch is the server's limit on inputs per call.
const maxBatch = 1000

// batch is a run of consecutive records; local rejects ride along so that
// the acknowledged offset advances over them in order.
type batch struct {
	seq   int
	rows  []row
	send  []int  // indexes into rows of the records to send
	bytes int    // size of the request body for send
	end   int64  // file offset past the last record
	body  []byte // request body for send, built when the batch is closed
	first int    // line of the first record
}

// splitter groups records into batches of at most maxRows records whose
// request body stays within maxBytes.
type splitter struct {
	maxRows, maxBytes int
	seq               int
	cur               *batch
}

// add appends r and returns the batches it closed (at most two: the
// current one when r does not fit, and the new one when it is full).
func (s *splitter) add(r row) []*batch {
	var out []*batch
	if r.input != nil {
		need := len(r.input) + 1
		if envelopeBytes+need > s.maxBytes {
			r.input = nil
			r.reason = "the record is too large for one request"
		} else if s.cur != nil && len(s.cur.send) > 0 && s.cur.bytes+need > s.maxBytes {
			out = append(out, s.flush())
		}
	}
	if s.cur == nil {
		s.cur = &batch{seq: s.seq, bytes: envelopeBytes, first: r.line}
		s.seq++
	}
	b := s.cur
	if r.input != nil {
		b.send = append(b.send, len(b.rows))
		b.bytes += len(r.input) + 1
	}
	b.rows = append(b.rows, r)
	b.end = r.end
	if len(b.rows) >= s.maxRows {
		out = append(out, s.flush())
	}
	return out
}

// flush closes the current batch, if any.
func (s *splitter) flush() *batch {
	b := s.cur
	s.cur = nil
	if b != nil {
		b.body = b.buildBody(b.send)
	}
	return b
}

// buildBody is the request body for the records idx of b.
func (b *batch) buildBody(idx []int) []byte {
	n := envelopeBytes
	for _, i := range idx {
		n += len(b.rows[i].input) + 1
	}
	body := make([]byte, 0, n)
	body = append(body, bodyPrefix...)
	for j, i := range idx {
		if j > 0 {
			body = append(body, ',')
		}
		body = append(body, b.rows[i].input...)
	}
	return append(body, bodySuffix...)
}
