package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"certd/internal/app"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// BenchmarkCaseQueryAudit measures a staff case query (two licences, seven
// fields and the holder each) saturating the machine over HTTP, with the
// field audit on and off, on the same store: the price of logging every
// field read durably before the response leaves.
func BenchmarkCaseQueryAudit(b *testing.B) {
	for _, mode := range []struct {
		name string
		off  bool
	}{{"audit=on", false}, {"audit=off", true}} {
		b.Run(mode.name, func(b *testing.B) {
			s := testkit.Start(b, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) { c.AuditOff = mode.off }))
			staff := s.Token("s1", demo.ServiceCentre, identity.RoleStaff)
			var opened struct{ OpenCase struct{ ID string } }
			s.Do(staff, openCaseQ, map[string]any{"in": map[string]any{"caseNo": "B-1", "holderCode": "91350100MA0000001P", "matterCode": "350100-SP-0002"}}).Decode(b, &opened)
			body, _ := json.Marshal(map[string]any{
				"query":     `query($id: ID!) { case(id: $id) { certificates { id state validUntil holder { code name } data(fields: ["entityName", "operatorName", "address", "premises", "scope"]) } } }`,
				"variables": map[string]any{"id": opened.OpenCase.ID},
			})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(64) // 128 concurrent clients on 2 cores: saturated
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
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
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
