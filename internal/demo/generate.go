package demo

import (
	"fmt"
	"time"

	"certd/internal/codes"
)

// ResidentID is the k-th of distinct valid resident ID numbers (GB 11643)
// of made-up people: Fuzhou Gulou district (350102), born 1950-01-01 plus
// k/1000 days, sequence number k%1000, with its check character. They are
// distinct and plausible for 0 <= k < 25,000,000 (births up to 2018).
func ResidentID(k int) string {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k/1000)
	body := fmt.Sprintf("350102%s%03d", birth.Format("20060102"), k%1000)
	c, _ := codes.ResidentIDCheck(body)
	return body + string(c)
}

// FoodLicenceRequest is the GraphQL IssueInput of a 食品经营许可证 of the
// demo catalogue for the made-up person ResidentID(k), as a client sends
// it: what load generators and crash tests issue.
func FoodLicenceRequest(k int) map[string]any {
	id := ResidentID(k)
	return map[string]any{
		"typeCode": FoodLicence,
		"holder":   map[string]any{"code": id, "name": "压测" + id[14:], "kind": "PERSON"},
		"data": map[string]any{
			"operatorName": "压测经营者" + id[14:], "premises": "福州市鼓楼区压测路1号",
			"mainForm": "食品销售经营者", "scope": "预包装食品销售",
		},
	}
}
