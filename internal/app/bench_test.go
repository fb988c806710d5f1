package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"certd/internal/certificate"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// seedLicences issues n stock licences through the service, in batches,
// and returns their ids.
func seedLicences(tb testing.TB, s *testkit.Server, n int) []string {
	ctx := identity.WithPrincipal(context.Background(), &identity.Principal{Subject: "bench", Org: demo.MarketRegistry,
		Roles: []string{identity.RoleIssuer, identity.RoleImporter}, AMR: []string{"cert"}})
	ids := make([]string, 0, n)
	for len(ids) < n {
		batch := make([]certificate.IssueInput, min(certificate.MaxBatch, n-len(ids)))
		for i := range batch {
			k := len(ids) + i
			batch[i] = certificate.IssueInput{TypeCode: demo.FoodLicence, Mode: certificate.Stock,
				Holder: certificate.Holder{Code: "91350100MA0000001P", Name: "福州示例餐饮管理有限公司", Kind: certificate.Organization},
				Data: map[string]any{"operatorName": "福州示例餐饮管理有限公司", "premises": fmt.Sprintf("福州市鼓楼区示例路%d号", k),
					"mainForm": "餐饮服务经营者", "scope": "热食类食品制售"}}
		}
		res, err := s.App.Licences.IssueBatch(ctx, batch)
		if err != nil || res.Created != len(batch) {
			tb.Fatalf("seed: %v %+v", err, res.Items[0].Err)
		}
		for _, it := range res.Items {
			ids = append(ids, it.Certificate.ID)
		}
	}
	return ids
}

// BenchmarkVerifyCertificate measures public verification through HTTP
// with the store holding 10k and 200k licences; the ratio of the two shows
// that a lookup by id does not scan.
func BenchmarkVerifyCertificate(b *testing.B) {
	for _, n := range []int{10_000, 200_000} {
		b.Run(fmt.Sprintf("stored=%dk", n/1000), func(b *testing.B) {
			s := testkit.Start(b, testkit.WithDemo())
			ids := seedLicences(b, s, n)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body, _ := json.Marshal(map[string]any{"query": verifyQ, "variables": map[string]any{"id": ids[rand.IntN(len(ids))]}})
					resp, err := client.Post(s.URL+"/graphql", "application/json", bytes.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					raw, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if !bytes.Contains(raw, []byte(`"citable":true`)) {
						b.Fatalf("%s", raw)
					}
				}
			})
		})
	}
}

// BenchmarkIssueBatch measures sealed issuance through the service in
// batches of 500 (what `certd import` sends), without HTTP.
func BenchmarkIssueBatch(b *testing.B) {
	s := testkit.Start(b, testkit.WithDemo())
	b.ResetTimer()
	seedLicences(b, s, b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "licences/s")
}
