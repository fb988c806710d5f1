// Package demo seeds a small, realistic catalogue into an empty store for
// `certd serve --demo`: the digital office, issuing and using units of a
// city, the certificate types they issue and the matters that need them.
// Everything goes through the same services, policy and validation as real
// requests.
package demo

import (
	"context"
	"fmt"

	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/registry"
)

// Units of the demo city; the codes are valid unified social credit codes.
const (
	DigitalOffice  = "11350100MB00000012" // 市数字办
	MarketRegistry = "11350100MB00000025" // 市场监督管理局 (issuing)
	HealthBureau   = "11350100MB00000038" // 卫生健康委员会 (issuing)
	ServiceCentre  = "11350100MB0000004B" // 行政（市民）服务中心 (using)
	HousingBureau  = "11350100MB0000005E" // 住房和城乡建设局 (issuing and using)
)

// Certificate types of the demo catalogue.
const (
	BusinessLicence      = MarketRegistry + "001"
	FoodLicence          = MarketRegistry + "002"
	PhysicianLicence     = HealthBureau + "001"
	BuilderQualification = HousingBureau + "001"
)

func as(ctx context.Context, org string, roles ...string) context.Context {
	return identity.WithPrincipal(ctx, &identity.Principal{Subject: "demo-seed", Name: "演示数据", Org: org, Roles: roles, AMR: []string{"cert"}})
}

func months(n int) *int { return &n }

// Store is what the seed writes besides the services.
type Store interface {
	catalogue.Repository
	registry.Repository
}

// Services are the services the seed goes through.
type Services struct {
	Catalogue *catalogue.Service
	Licences  *certificate.Service
	Cases     *cases.Service
	Store     Store
}

// Seed fills an empty store; it does nothing when any unit exists. It
// returns whether it seeded.
func Seed(ctx context.Context, svc Services) (bool, error) {
	cat, repo := svc.Catalogue, svc.Store
	units, err := repo.ListUnits(ctx)
	if err != nil {
		return false, err
	}
	if len(units) > 0 {
		return false, nil
	}
	office := as(ctx, DigitalOffice, identity.RoleDigitalOffice)
	for _, u := range []catalogue.UnitInput{
		{Code: DigitalOffice, Name: "福州市数字福州建设领导小组办公室", Issuing: false},
		{Code: MarketRegistry, Name: "福州市市场监督管理局", Issuing: true},
		{Code: HealthBureau, Name: "福州市卫生健康委员会", Issuing: true},
		{Code: ServiceCentre, Name: "福州市行政（市民）服务中心管委会", Issuing: false},
		{Code: HousingBureau, Name: "福州市城乡建设局", Issuing: true},
	} {
		if _, err := cat.RegisterUnit(office, u); err != nil {
			return false, fmt.Errorf("seed unit %s: %w", u.Code, err)
		}
	}
	str := func(name, label string, required, sensitive bool) catalogue.TemplateField {
		return catalogue.TemplateField{Name: name, Label: label, Type: catalogue.FieldString, Required: required, Sensitive: sensitive}
	}
	types := []struct {
		issuer string
		in     catalogue.TypeInput
	}{
		{MarketRegistry, catalogue.TypeInput{Code: BusinessLicence, Name: "营业执照", Category: "市场主体登记", ValidityMonths: nil, Fields: []catalogue.TemplateField{
			str("entityName", "名称", true, false), str("entityType", "类型", true, false),
			str("legalRepresentative", "法定代表人", true, false), str("legalRepresentativeId", "法定代表人身份证号", false, true),
			{Name: "registeredCapital", Label: "注册资本（万元）", Type: catalogue.FieldNumber, Required: true},
			{Name: "establishedOn", Label: "成立日期", Type: catalogue.FieldDate, Required: true},
			str("address", "住所", true, false), str("businessScope", "经营范围", true, false),
		}}},
		{MarketRegistry, catalogue.TypeInput{Code: FoodLicence, Name: "食品经营许可证", Category: "食品经营许可", ValidityMonths: months(60), Fields: []catalogue.TemplateField{
			str("operatorName", "经营者名称", true, false), str("premises", "经营场所", true, false),
			str("mainForm", "主体业态", true, false), str("scope", "经营项目", true, false),
			{Name: "centralKitchen", Label: "中央厨房", Type: catalogue.FieldBoolean},
		}}},
		{HealthBureau, catalogue.TypeInput{Code: PhysicianLicence, Name: "医师执业证书", Category: "医师执业注册", ValidityMonths: nil, Fields: []catalogue.TemplateField{
			str("name", "姓名", true, false), str("gender", "性别", true, false),
			{Name: "birthDate", Label: "出生日期", Type: catalogue.FieldDate, Required: true, Sensitive: true},
			str("practiceCategory", "执业类别", true, false), str("practiceScope", "执业范围", true, false),
			str("practiceSite", "执业地点", true, false),
		}}},
		{HousingBureau, catalogue.TypeInput{Code: BuilderQualification, Name: "建筑业企业资质证书", Category: "建筑业企业资质", ValidityMonths: months(60), Fields: []catalogue.TemplateField{
			str("enterpriseName", "企业名称", true, false), str("qualification", "资质类别及等级", true, false),
			str("technicalLead", "技术负责人", false, false),
		}}},
	}
	for _, t := range types {
		if _, err := cat.RegisterCertificateType(as(ctx, t.issuer, identity.RoleIssuer), t.in); err != nil {
			return false, fmt.Errorf("seed type %s: %w", t.in.Code, err)
		}
	}
	for _, m := range []catalogue.MatterInput{
		{Code: "350100-SP-0001", Name: "食品经营许可（新办）", RequiredTypes: []string{BusinessLicence}, HandlingUnits: []string{ServiceCentre, MarketRegistry}},
		{Code: "350100-SP-0002", Name: "食品经营许可（延续）", RequiredTypes: []string{BusinessLicence, FoodLicence}, HandlingUnits: []string{ServiceCentre, MarketRegistry}},
		{Code: "350100-WJ-0001", Name: "医疗机构执业登记", RequiredTypes: []string{BusinessLicence, PhysicianLicence}, HandlingUnits: []string{ServiceCentre, HealthBureau}},
		{Code: "350100-JS-0001", Name: "建筑工程施工许可", RequiredTypes: []string{BusinessLicence, BuilderQualification}, HandlingUnits: []string{ServiceCentre, HousingBureau}},
	} {
		if _, err := cat.RegisterMatter(office, m); err != nil {
			return false, fmt.Errorf("seed matter %s: %w", m.Code, err)
		}
	}
	if err := seedHolders(ctx, svc.Store); err != nil {
		return false, err
	}
	if err := seedLicences(ctx, svc.Licences); err != nil {
		return false, err
	}
	if svc.Cases != nil {
		if err := seedApplication(ctx, svc.Cases); err != nil {
			return false, err
		}
	}
	return true, nil
}
