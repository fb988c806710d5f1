package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// BenchmarkCaseQueryAudit measures a staff case query (two licences, seven
// fields and the holder each) saturating the machine over HTTP, every
// field read logged durably before the response leaves. req/s is the
// figure; cpu-µs/req, the process's CPU time (user and system, all
// threads) per request, is the steadier one on a shared machine. What
// authorization and the audit cost is measured against the bare gqlgen
// baseline, in its own processes: `certd-bench compare` (docs/load.md).
func BenchmarkCaseQueryAudit(b *testing.B) {
	benchCaseQuery(b, 64) // 128 concurrent clients on 2 cores: saturated
}

// BenchmarkCaseQueryAuditLatency is the same query from one client at a
// time: ns/op is the latency of a request at light load, where the group
// commit's wait for more records (WriterOptions.MaxWait) shows.
func BenchmarkCaseQueryAuditLatency(b *testing.B) {
	benchCaseQuery(b, 0)
}

// benchCaseQuery runs the case query with parallelism × GOMAXPROCS
// clients, or one client for parallelism 0.
func benchCaseQuery(b *testing.B, parallelism int) {
	s := testkit.Start(b, testkit.WithDemo())
	staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
	var opened struct{ OpenCase struct{ ID string } }
	s.Do(staff, openCaseQ, map[string]any{"in": map[string]any{"caseNo": "B-1", "holderCode": "91350100MA0000001P", "matterCode": "350100-SP-0002"}}).Decode(b, &opened)
	body, _ := json.Marshal(map[string]any{
		"query":     `query($id: ID!) { case(id: $id) { certificates { id state validUntil holder { code name } data(fields: ["entityName", "operatorName", "address", "premises", "scope"]) } } }`,
		"variables": map[string]any{"id": opened.OpenCase.ID},
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	query := func() {
		req, _ := http.NewRequest("POST", s.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+staff)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(raw, []byte(`"certificates":[{`)) {
			b.Fatalf("%s", raw)
		}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	if parallelism > 0 {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				query()
			}
		})
	} else {
		for b.Loop() {
			query()
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(cpu.Seconds()*1e6/float64(b.N), "cpu-µs/req")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
