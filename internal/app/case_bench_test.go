package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"testing"
	"time"

	"certd/internal/certificate"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

const caseCertificatesQ = `query($id: ID!) { case(id: $id) { certificates { id data } } }`

// BenchmarkCaseCertificates measures what staff read through an open case
// (the policy's compiled data filter applied by the store, then hidden
// fields), over HTTP, with the store holding 10k and 200k licences of many
// holders; the case's holder has 2 of them. The ratio of the two shows
// that the case's licences are found without scanning the others.
//
//	go test -run XXX -bench BenchmarkCaseCertificates -benchtime 500x -timeout 30m ./internal/app/
func BenchmarkCaseCertificates(b *testing.B) {
	for _, n := range []int{10_000, 200_000} {
		b.Run(fmt.Sprintf("stored=%dk", n/1000), func(b *testing.B) {
			s := testkit.Start(b, testkit.WithDemo())
			seedLicencesOfManyHolders(b, s, n)

			staff := s.Token("s", demo.ServiceCentre, identity.RoleStaff)
			company := "91350100MA0000001P" // the demo restaurant: business licence and food licence
			var opened struct{ OpenCase struct{ ID string } }
			s.Do(staff, `mutation($in: OpenCaseInput!) { openCase(input: $in) { id } }`, map[string]any{"in": map[string]any{
				"caseNo": "BENCH-1", "holderCode": company, "matterCode": "350100-SP-0002"}}).Decode(b, &opened)
			body, _ := json.Marshal(map[string]any{"query": caseCertificatesQ, "variables": map[string]any{"id": opened.OpenCase.ID}})

			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			b.Cleanup(client.CloseIdleConnections)
			read := func() ([]byte, error) {
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+staff)
				resp, err := client.Do(req)
				if err != nil {
					return nil, err
				}
				defer resp.Body.Close()
				return io.ReadAll(resp.Body)
			}
			check := func(raw []byte) {
				var out struct {
					Data struct {
						Case struct {
							Certificates []struct {
								ID   string
								Data map[string]any
							}
						}
					}
					Errors []any
				}
				if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) > 0 || len(out.Data.Case.Certificates) != 2 {
					b.Fatalf("want exactly the case holder's 2 licences, got %s", raw)
				}
			}
			for range 20 { // warm up the connection and caches, and check the answer
				raw, err := read()
				if err != nil {
					b.Fatal(err)
				}
				check(raw)
			}
			runtime.GC() // not the seeding's garbage

			lat := make([]time.Duration, 0, 1<<12)
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				raw, err := read()
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				check(raw)
			}
			reportCaseLatencies(b, lat)
		})
	}
}

// seedLicencesOfManyHolders issues n stock food licences, each to its own
// person holder (valid resident ID numbers, not in the base registry), in
// batches of certificate.MaxBatch.
func seedLicencesOfManyHolders(tb testing.TB, s *testkit.Server, n int) {
	tb.Helper()
	ctx := identity.WithPrincipal(context.Background(), &identity.Principal{Subject: "bench", Org: demo.MarketRegistry,
		Roles: []string{identity.RoleIssuer, identity.RoleImporter}, AMR: []string{"cert"}})
	for done := 0; done < n; {
		batch := make([]certificate.IssueInput, min(certificate.MaxBatch, n-done))
		for i := range batch {
			k := done + i
			name := fmt.Sprintf("个体经营者%06d", k)
			batch[i] = certificate.IssueInput{TypeCode: demo.FoodLicence, Mode: certificate.Stock,
				Holder: certificate.Holder{Code: demo.ResidentID(k), Name: name, Kind: certificate.Person},
				Data: map[string]any{"operatorName": name, "premises": fmt.Sprintf("福州市鼓楼区示例路%d号", k),
					"mainForm": "餐饮服务经营者", "scope": "热食类食品制售"}}
		}
		res, err := s.App.Licences.IssueBatch(ctx, batch)
		if err != nil {
			tb.Fatalf("seed: %v", err)
		}
		if res.Created != len(batch) {
			for _, it := range res.Items {
				if it.Err != nil {
					tb.Fatalf("seed: %d of %d created; item %d: %v", res.Created, len(batch), it.Index, it.Err)
				}
			}
			tb.Fatalf("seed: %d of %d created", res.Created, len(batch))
		}
		done += len(batch)
	}
}

// reportCaseLatencies reports the nearest-rank p50 and p99 of the
// per-operation latencies in microseconds.
func reportCaseLatencies(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	b.ReportMetric(float64(rank(0.50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(rank(0.99).Nanoseconds())/1e3, "p99-µs")
}
