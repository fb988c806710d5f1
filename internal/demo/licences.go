package demo

import (
	"context"
	"fmt"
	"time"

	"certd/internal/cases"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/registry"
)

// Demo holders, known to the embedded base registry. The person codes are
// valid resident ID numbers and the company codes valid credit codes, all
// made up for the demo.
var Holders = []registry.Entry{
	{Code: "350102198001010011", Kind: registry.Person, Name: "示例个人甲"},
	{Code: "350102198503150022", Kind: registry.Person, Name: "示例个人乙"},
	{Code: "350103199007200036", Kind: registry.Person, Name: "示例个人丙"},
	{Code: "91350100MA0000001P", Kind: registry.Organization, Name: "福州示例餐饮管理有限公司"},
	{Code: "91350100MA0000002T", Kind: registry.Organization, Name: "福州示例建筑工程有限公司"},
}

func seedHolders(ctx context.Context, repo registry.Repository) error {
	now := time.Now().UTC().Truncate(time.Millisecond)
	es := make([]registry.Entry, len(Holders))
	for i, h := range Holders {
		h.Source, h.UpdatedAt = "demo", now
		es[i] = h
	}
	return repo.PutRegistryEntries(ctx, es)
}

func holder(i int) certificate.Holder {
	h := Holders[i]
	return certificate.Holder{Code: h.Code, Name: h.Name, Kind: certificate.HolderKind(h.Kind)}
}

func seedLicences(ctx context.Context, lic *certificate.Service) error {
	market := as(ctx, MarketRegistry, identity.RoleIssuer)
	health := as(ctx, HealthBureau, identity.RoleIssuer)
	housing := as(ctx, HousingBureau, identity.RoleIssuer)
	issues := []struct {
		ctx context.Context
		in  certificate.IssueInput
	}{
		{market, certificate.IssueInput{TypeCode: BusinessLicence, Holder: holder(3), IdempotencyKey: "demo-1", Data: map[string]any{
			"entityName": "福州示例餐饮管理有限公司", "entityType": "有限责任公司", "legalRepresentative": "示例个人甲",
			"legalRepresentativeId": "350102198001010011", "registeredCapital": 200, "establishedOn": "2019-05-20",
			"address": "福州市鼓楼区示例路1号", "businessScope": "餐饮服务；食品销售",
		}}},
		{market, certificate.IssueInput{TypeCode: FoodLicence, Holder: holder(3), IdempotencyKey: "demo-2", Data: map[string]any{
			"operatorName": "福州示例餐饮管理有限公司", "premises": "福州市鼓楼区示例路1号", "mainForm": "餐饮服务经营者",
			"scope": "热食类食品制售", "centralKitchen": false,
		}}},
		{market, certificate.IssueInput{TypeCode: BusinessLicence, Holder: holder(4), IdempotencyKey: "demo-3", Data: map[string]any{
			"entityName": "福州示例建筑工程有限公司", "entityType": "有限责任公司", "legalRepresentative": "示例个人乙",
			"legalRepresentativeId": "350102198503150022", "registeredCapital": 5000, "establishedOn": "2015-09-01",
			"address": "福州市仓山区示例大道8号", "businessScope": "房屋建筑工程施工",
		}}},
		{housing, certificate.IssueInput{TypeCode: BuilderQualification, Holder: holder(4), IdempotencyKey: "demo-4", Data: map[string]any{
			"enterpriseName": "福州示例建筑工程有限公司", "qualification": "建筑工程施工总承包二级", "technicalLead": "示例个人丙",
		}}},
		{health, certificate.IssueInput{TypeCode: PhysicianLicence, Holder: holder(2), IdempotencyKey: "demo-5", Data: map[string]any{
			"name": "示例个人丙", "gender": "男", "birthDate": "1990-07-20", "practiceCategory": "临床",
			"practiceScope": "内科专业", "practiceSite": "福州市示例医院",
		}}},
	}
	for _, it := range issues {
		if _, err := lic.Issue(it.ctx, it.in); err != nil {
			return fmt.Errorf("seed licence of %s: %w", it.in.Holder.Name, err)
		}
	}
	return nil
}

// seedApplication has the demo restaurant apply online to the service
// centre for the renewal of its food licence, as the online service hall
// would: a pending application staff can open a case from (it expires
// after the policy's working days, like any other).
func seedApplication(ctx context.Context, cs *cases.Service) error {
	hall := identity.WithPrincipal(ctx, &identity.Principal{Subject: "demo-service-hall", Name: "网上办事大厅", Roles: []string{identity.RoleServiceHall}})
	if _, err := cs.Submit(hall, cases.ApplicationInput{MatterCode: "350100-SP-0002", UnitCode: ServiceCentre, HolderCode: Holders[3].Code,
		Note: "食品经营许可证延续，网上申请"}); err != nil {
		return fmt.Errorf("seed the demo application: %w", err)
	}
	return nil
}
