package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errKind sorts failed calls by what the importer does next.
type errKind int

const (
	kindTransient errKind = iota + 1 // retry with backoff
	kindInvalid                      // the request's content: split the batch
	kindAuth                         // UNAUTHENTICATED or FORBIDDEN: stop
	kindFatal                        // anything else: stop
)

// callError is a call that the server (or the network) refused as a whole.
type callError struct {
	kind    errKind
	status  int    // HTTP status, 0 for network errors
	code    string // extensions.code
	msg     string
	index   int           // the input the error points at, -1 if none
	retryIn time.Duration // from Retry-After
	null    bool          // a well-formed answer whose field is null, without errors
}

func (e *callError) Error() string {
	var b strings.Builder
	if e.status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.status)
	}
	if e.code != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(e.code)
	}
	if e.msg != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.msg)
	}
	return b.String()
}

type gqlError struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []gqlError                 `json:"errors"`
}

// client posts GraphQL requests with retries.
type client struct {
	url     string
	token   string
	hc      *http.Client
	retries int
	base    time.Duration // first backoff
}

// newHTTPClient is the default client: pooled keep-alive connections,
// bounded dial, handshake and response times.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 3 * time.Minute,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          16,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
			ExpectContinueTimeout: time.Second,
		},
	}
}

// call posts body and returns the answer's data, which holds a non-null
// field, retrying transient failures. Errors are *callError or the
// context's error.
func (c *client) call(ctx context.Context, body []byte, field string) (map[string]json.RawMessage, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := c.once(ctx, body, field)
		var ce *callError
		if err == nil || !errors.As(err, &ce) || ce.kind != kindTransient || attempt >= c.retries {
			return data, err
		}
		wait := c.base << attempt
		wait = min(wait, 30*time.Second)
		wait = wait/2 + rand.N(wait/2+1)
		if ce.retryIn > wait {
			wait = min(ce.retryIn, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// maxResponseBytes bounds a response body.
const maxResponseBytes = 64 << 20

func (c *client) once(ctx context.Context, body []byte, field string) (map[string]json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, &callError{kind: kindFatal, msg: err.Error(), index: -1}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "certd-import")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &callError{kind: kindTransient, msg: err.Error(), index: -1}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &callError{kind: kindTransient, status: resp.StatusCode, msg: "reading the response: " + err.Error(), index: -1}
	}
	var gr gqlResponse
	jsonErr := json.Unmarshal(raw, &gr)
	if jsonErr == nil && resp.StatusCode == http.StatusOK {
		if d, ok := gr.Data[field]; ok && !isNull(d) {
			return gr.Data, nil
		}
	}
	ce := &callError{status: resp.StatusCode, index: -1}
	switch {
	case jsonErr == nil && len(gr.Errors) > 0:
		e := gr.Errors[0]
		ce.code, ce.msg, ce.index = e.Extensions.Code, e.Message, inputIndex(e)
	case jsonErr == nil && resp.StatusCode == http.StatusOK:
		return nil, &callError{kind: kindFatal, status: resp.StatusCode, msg: field + " is null", index: -1, null: true}
	default:
		ce.msg = snippet(raw)
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			ce.retryIn = time.Duration(secs) * time.Second
		}
	}
	ce.kind = classify(resp.StatusCode, ce.code, jsonErr == nil)
	if ce.kind == kindInvalid && queryMismatch(ce.msg) {
		ce.kind = kindFatal // the server's schema is not the one this client speaks
	}
	if ce.kind == kindAuth && ce.code == "" {
		ce.code = map[int]string{http.StatusUnauthorized: "UNAUTHENTICATED", http.StatusForbidden: "FORBIDDEN"}[resp.StatusCode]
	}
	return nil, ce
}

// classify decides what a refused call means.
func classify(status int, code string, isJSON bool) errKind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return kindAuth
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return kindTransient
	case status == http.StatusRequestEntityTooLarge:
		return kindInvalid
	}
	switch code {
	case "UNAUTHENTICATED", "FORBIDDEN":
		return kindAuth
	case "INVALID_INPUT":
		return kindInvalid
	case "INTERNAL", "AUDIT_UNAVAILABLE", "CONFLICT":
		return kindTransient
	case "":
		if status == http.StatusOK && !isJSON {
			return kindTransient // something between us and certd answered
		}
	}
	return kindFatal
}

// queryMismatch reports whether a validation message is about the query
// or the shape of IssueInput rather than the data of a record (enums are
// checked before sending, so an enum error is a mismatch too).
func queryMismatch(msg string) bool {
	for _, s := range []string{"Cannot query field", "Unknown argument", "Unknown type", "unknown field", "is not a valid"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

var inputsIndex = regexp.MustCompile(`inputs\[(\d+)\]`)

// inputIndex finds the input a whole-request error points at: the index
// after "inputs" in its path, or inputs[N] in its message.
func inputIndex(e gqlError) int {
	for i := 0; i+1 < len(e.Path); i++ {
		if s, ok := e.Path[i].(string); ok && s == "inputs" {
			if n, ok := e.Path[i+1].(float64); ok && n >= 0 {
				return int(n)
			}
		}
	}
	if m := inputsIndex.FindStringSubmatch(e.Message); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	return -1
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "empty response"
	}
	return s
}

// batchResult is the BatchResult selection of the mutation.
type batchResult struct {
	Items []struct {
		Index       int `json:"index"`
		Certificate *struct {
			ID string `json:"id"`
		} `json:"certificate"`
		Error     *string `json:"error"`
		ErrorCode *string `json:"errorCode"`
		Duplicate bool    `json:"duplicate"`
	} `json:"items"`
}

// template is what the pre-flight learns about the certificate type.
type template struct {
	fields map[string]string // field name → FieldType
	issuer string
	caller string // the caller's unit, "" if none
	// roles are the caller's roles; nil when the server did not say.
	roles []string
}

const templateQuery = `query ImportType($code:ID!){me{org roles} certificateType(code:$code){code issuer{code} fields{name type}}}`

// template reads the type's template and checks that the caller may
// issue it, before any record is sent.
func (c *client) template(ctx context.Context, typeCode string) (*template, error) {
	body, err := json.Marshal(map[string]any{"query": templateQuery, "variables": map[string]any{"code": typeCode}})
	if err != nil {
		return nil, err
	}
	data, err := c.call(ctx, body, "certificateType")
	if ce := (*callError)(nil); errors.As(err, &ce) && ce.null {
		return nil, fmt.Errorf("%w: certificate type %q is not in the catalogue", ErrInput, typeCode)
	}
	if err != nil {
		return nil, err
	}
	var me struct {
		Org   *string  `json:"org"`
		Roles []string `json:"roles"`
	}
	var t struct {
		Issuer struct {
			Code string `json:"code"`
		} `json:"issuer"`
		Fields []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(data["certificateType"], &t); err != nil {
		return nil, &callError{kind: kindFatal, msg: "unexpected certificateType answer: " + err.Error(), index: -1}
	}
	if m, ok := data["me"]; ok {
		_ = json.Unmarshal(m, &me)
	}
	tp := &template{fields: map[string]string{}, issuer: t.Issuer.Code}
	if me.Org != nil {
		tp.caller = *me.Org
	}
	tp.roles = me.Roles
	for _, f := range t.Fields {
		tp.fields[f.Name] = f.Type
	}
	return tp, nil
}
