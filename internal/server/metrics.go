package server

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus series certd exports at /metrics.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certd_graphql_requests_total",
			Help: "GraphQL operations served, by operation name and result code (OK or the first error's extensions.code).",
		}, []string{"operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "certd_graphql_request_duration_seconds",
			Help:    "GraphQL operation latency, by operation name.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe is a gqlgen response middleware that counts every operation by
// name and code and records its latency.
func (m *metrics) observe(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	op := OperationLabel(ctx)
	code := "OK"
	if resp != nil {
		if errs := append(graphql.GetErrors(ctx), resp.Errors...); len(errs) > 0 {
			if c, ok := errs[0].Extensions["code"].(string); ok {
				code = c
			} else {
				code = "INTERNAL"
			}
		}
	}
	m.requests.WithLabelValues(op, code).Inc()
	m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	return resp
}

// OperationLabel names an operation by its type and root fields, e.g.
// "query units" or "mutation registerUnit": bounded by the schema, unlike
// client-chosen operation names. Metrics and audit records use it.
func OperationLabel(ctx context.Context) string {
	if !graphql.HasOperationContext(ctx) {
		return "invalid"
	}
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil {
		return "invalid"
	}
	label := string(oc.Operation.Operation)
	seen := map[string]bool{}
	for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, nil) {
		if !seen[f.Name] && len(seen) < 4 {
			seen[f.Name] = true
			label += " " + f.Name
		}
	}
	return label
}
