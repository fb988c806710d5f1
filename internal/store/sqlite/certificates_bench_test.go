package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"certd/internal/certificate"
	"certd/internal/store/storetest"
)

// BenchmarkListHolder lists a holder's licences as a case read does
// (current VALID versions of two types), as whole versions and as
// summaries: rows of realistic size, a sealed document of about 1.5 kB.
func BenchmarkListHolder(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const holder = "321083197812162119"
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var cs []certificate.Certificate
	for i := range 200 {
		h := holder
		if i%20 != 0 {
			h = "11010519491231002X" // other holders' licences around
		}
		c := storetest.NewCert("11110000000021135M", "11100000000013338W011", int64(i+1), h, base.Add(time.Duration(i)*time.Minute))
		c.Document = `{"data":` + strings.Repeat(`"示例字段值",`, 120) + `"x"}`
		c.Data = map[string]any{"entityName": "福州示例餐饮管理有限公司", "address": "福州市鼓楼区示例路1号", "capital": 200.0,
			"scope": "餐饮服务；食品销售", "legalRepresentative": "示例个人甲", "establishedOn": "2019-05-20", "entityType": "有限责任公司"}
		cs = append(cs, c)
	}
	if _, err := s.Insert(ctx, cs); err != nil {
		b.Fatal(err)
	}
	f := certificate.Filter{HolderCode: holder, TypeCodes: []string{"11100000000013338W011", "11100000000013338W032"},
		State: certificate.Valid, CurrentOnly: true}
	for _, summary := range []bool{false, true} {
		name := "whole"
		if summary {
			name = "summary"
		}
		b.Run(name, func(b *testing.B) {
			f.Summary = summary
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.List(ctx, f, nil, 101)
				if err != nil || len(got) != 10 {
					b.Fatalf("%d, %v", len(got), err)
				}
			}
		})
	}
}
