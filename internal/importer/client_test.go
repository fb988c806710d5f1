package importer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		status int
		code   string
		isJSON bool
		want   errKind
	}{
		{401, "", false, kindAuth},
		{200, "UNAUTHENTICATED", true, kindAuth},
		{200, "FORBIDDEN", true, kindAuth},
		{403, "", false, kindAuth},
		{429, "", true, kindTransient},
		{502, "", false, kindTransient},
		{503, "INTERNAL", true, kindTransient},
		{408, "", false, kindTransient},
		{200, "INTERNAL", true, kindTransient},
		{200, "AUDIT_UNAVAILABLE", true, kindTransient},
		{200, "", false, kindTransient},
		{413, "INVALID_INPUT", true, kindInvalid},
		{422, "INVALID_INPUT", true, kindInvalid},
		{200, "INVALID_INPUT", true, kindInvalid},
		{200, "COMPLEXITY_LIMIT_EXCEEDED", true, kindFatal},
		{200, "NOT_FOUND", true, kindFatal},
		{404, "", false, kindFatal},
		{400, "", true, kindFatal},
	} {
		if got := classify(tt.status, tt.code, tt.isJSON); got != tt.want {
			t.Errorf("classify(%d, %q, %v) = %v, want %v", tt.status, tt.code, tt.isJSON, got, tt.want)
		}
	}
}

func TestInputIndex(t *testing.T) {
	for _, tt := range []struct {
		err  string
		want int
	}{
		{`{"message":"x","path":["issueCertificates","inputs",7,"validFrom"]}`, 7},
		{`{"message":"x","path":["variable","inputs",0,"holder","kind"]}`, 0},
		{`{"message":"input: variable.inputs[12].holder.kind must be defined"}`, 12},
		{`{"message":"x","path":["issueCertificates"]}`, -1},
		{`{"message":"request body is larger than the limit"}`, -1},
	} {
		var e gqlError
		if err := json.Unmarshal([]byte(tt.err), &e); err != nil {
			t.Fatal(err)
		}
		if got := inputIndex(e); got != tt.want {
			t.Errorf("inputIndex(%s) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// A server whose schema does not match the client's refuses the first
// request whole; the import stops instead of rejecting every record.
func TestSchemaMismatchIsFatal(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(gqlErrorBody("INVALID_INPUT", "unknown field", "variable", "inputs", 0, "businessCompletedAt"))
	}))
	defer srv.Close()
	c := &client{url: srv.URL, hc: srv.Client(), retries: 3, base: time.Millisecond}
	_, err := c.call(context.Background(), []byte(`{}`), "issueCertificates")
	var ce *callError
	if !errors.As(err, &ce) || ce.kind != kindFatal || calls != 1 {
		t.Errorf("error %v after %d calls", err, calls)
	}
	if !errors.Is(stopError(err, "x"), ErrServer) {
		t.Errorf("stopError(%v) is not ErrServer", err)
	}
}

func TestRetryAfterAndCancel(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := &client{url: srv.URL, hc: srv.Client(), retries: 5, base: time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.call(ctx, []byte(`{}`), "issueCertificates")
	if !errors.Is(err, context.DeadlineExceeded) || calls != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("error %v after %d calls in %v", err, calls, time.Since(start))
	}
}
