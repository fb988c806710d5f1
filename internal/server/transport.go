package server

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"certd/internal/apperr"
)

// Media types of GraphQL over HTTP responses.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// postTransport is certd's GraphQL-over-HTTP POST transport (the spec's
// application/json requests). Unlike gqlgen's own it follows every MUST and
// SHOULD of the spec as graphql-http's server audit checks them:
//
//   - the response's media type is application/graphql-response+json when
//     the client accepts it, else application/json (also for */*, for no
//     Accept header, and for anything else);
//   - a request that fails before execution (it does not decode, parse or
//     validate, its variables do not coerce, it is too deep or complex)
//     has no data entry, and is answered 200 with application/json (for
//     clients that predate the spec) and 400 with
//     application/graphql-response+json;
//   - with application/graphql-response+json, a response without data is
//     never 200: 503 when the audit log refused the records, 500 for an
//     internal error, 400 otherwise.
//
// limitBody has already checked the media type, size and shape of the body.
type postTransport struct{}

var _ graphql.Transport = postTransport{}

func (postTransport) Supports(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && r.Method == http.MethodPost && mt == mediaJSON
}

// requestBody is a GraphQL-over-HTTP request.
type requestBody struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

func (postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	media := responseMedia(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	start := graphql.Now()

	var body requestBody
	dec := json.NewDecoder(r.Body)
	dec.UseNumber() // variables keep their exact numbers
	if err := dec.Decode(&body); err != nil {
		// limitBody let through only one JSON object: a field has the
		// wrong type, e.g. a query that is not a string.
		writeError(w, http.StatusBadRequest, apperr.InvalidInput,
			"request body does not have the shape {query: string, operationName: string, variables: object, extensions: object}")
		return
	}
	if strings.TrimSpace(body.Query) == "" {
		// Not a GraphQL request at all (a missing or misspelt query
		// parameter), unlike a query that fails to parse: 400 whatever
		// the media type.
		writeError(w, http.StatusBadRequest, apperr.InvalidInput, "the request has no query")
		return
	}
	params := &graphql.RawParams{
		Query: body.Query, OperationName: body.OperationName, Variables: body.Variables, Extensions: body.Extensions,
		Headers: r.Header, ReadTime: graphql.TraceTiming{Start: start, End: graphql.Now()},
	}

	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr)
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)
		// Nothing executed: no data entry at all, not even null.
		writeJSON(w, struct {
			Errors     gqlerror.List  `json:"errors"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Extensions})
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if media == mediaGraphQLResponse && len(resp.Data) == 0 {
		w.WriteHeader(statusWithoutData(resp.Errors))
	}
	writeJSON(w, resp)
}

// statusWithoutData is the status of an executed request that has no
// data, by the code of its first error.
func statusWithoutData(errs gqlerror.List) int {
	code := ""
	if len(errs) > 0 {
		code, _ = errs[0].Extensions["code"].(string)
	}
	switch apperr.Code(code) {
	case apperr.AuditUnavailable:
		return http.StatusServiceUnavailable
	case apperr.Internal:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// responseMedia picks the response's media type from an Accept header:
// application/graphql-response+json when it is acceptable (q > 0),
// application/json otherwise.
func responseMedia(accept string) string {
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != mediaGraphQLResponse {
			continue
		}
		if q, err := strconv.ParseFloat(params["q"], 64); err == nil && q <= 0 {
			continue
		}
		return mediaGraphQLResponse
	}
	return mediaJSON
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		// Responses are built from JSON values; this cannot happen.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(buf.Bytes())
}
