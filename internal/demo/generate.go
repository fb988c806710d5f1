package demo

import (
	"fmt"
	"time"

	"certd/internal/codes"
)

// ResidentID is the k-th of distinct valid resident ID numbers (GB 11643)
// of made-up people of Fuzhou Gulou district (350102): ResidentIDIn.
func ResidentID(k int) string { return ResidentIDIn("350102", k) }

// ResidentIDIn is the k-th of distinct valid resident ID numbers of
// made-up people of a district (its six-digit area code): born 1950-01-01
// plus k/1000 days, sequence number k%1000, with its check character.
// They are distinct and plausible for 0 <= k < 25,000,000 (births up to
// 2018).
func ResidentIDIn(area string, k int) string {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k/1000)
	body := fmt.Sprintf("%s%s%03d", area, birth.Format("20060102"), k%1000)
	c, _ := codes.ResidentIDCheck(body)
	return body + string(c)
}

// CreditCode is the k-th of distinct valid unified social credit codes
// (GB 32100) of made-up companies registered in Fuzhou (91350100), for
// 0 <= k < 1,000,000,000.
func CreditCode(k int) string {
	body := fmt.Sprintf("91350100%09d", k)
	c, _ := codes.CreditCodeCheck(body)
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
