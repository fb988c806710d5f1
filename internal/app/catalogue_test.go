package app_test

import (
	"strings"
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/store/ferrettest"
	"certd/internal/testkit"
)

const (
	office = demo.DigitalOffice
	market = demo.MarketRegistry
	health = demo.HealthBureau
)

func TestCatalogueOnSQLite(t *testing.T) {
	runCatalogue(t, testkit.Start(t, testkit.WithDemo()))
}

func TestCatalogueOnMongo(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB in -short mode")
	}
	runCatalogue(t, testkit.Start(t, testkit.WithDemo(), testkit.WithMongo(ferrettest.Start(t))))
}

const registerType = `mutation($in: CertificateTypeInput!) { registerCertificateType(input: $in) { code version issuer { code } createdBy fields { name sensitive } } }`

func typeInput(code string) map[string]any {
	return map[string]any{"code": code, "name": "排污许可证", "category": "生态环境", "validityMonths": 60,
		"fields": []any{
			map[string]any{"name": "entityName", "label": "单位名称", "type": "STRING", "required": true, "sensitive": false},
			map[string]any{"name": "permitNo", "label": "许可证编号", "type": "STRING", "required": true, "sensitive": false},
		}}
}

func runCatalogue(t *testing.T, s *testkit.Server) {
	officeTok := s.Token("office-1", office, identity.RoleDigitalOffice)
	marketTok := s.Token("market-1", market, identity.RoleIssuer)
	healthTok := s.Token("health-1", health, identity.RoleIssuer)

	t.Run("token lists certificate types", func(t *testing.T) {
		var out struct {
			CertificateTypes []struct {
				Code   string
				Issuer struct{ Code string }
			}
		}
		s.Do(marketTok, `{ certificateTypes { code issuer { code } } }`, nil).Decode(t, &out)
		if len(out.CertificateTypes) != 4 || out.CertificateTypes[0].Code != demo.BuilderQualification && out.CertificateTypes[0].Code != demo.BusinessLicence {
			t.Fatalf("got %+v", out.CertificateTypes)
		}
	})

	t.Run("no token is UNAUTHENTICATED", func(t *testing.T) {
		for _, q := range []string{`{ certificateTypes { code } }`, `{ units { code } }`, `{ matters { code } }`, `{ me { subject } }`} {
			if r := s.Do("", q, nil); r.Code() != "UNAUTHENTICATED" {
				t.Errorf("%s: got %+v", q, r.Errors)
			}
		}
	})

	t.Run("bad tokens are UNAUTHENTICATED", func(t *testing.T) {
		good := marketTok
		parts := strings.Split(good, ".")
		forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
		for name, tok := range map[string]string{"garbage": "not-a-jwt", "forged signature": forged, "alg none": parts[0][:0] + "eyJhbGciOiJub25lIn0." + parts[1] + "."} {
			r := s.Do(tok, `{ units { code } }`, nil)
			if r.Code() != "UNAUTHENTICATED" || r.Status != 401 {
				t.Errorf("%s: status %d, %+v", name, r.Status, r.Errors)
			}
		}
	})

	t.Run("register a unit", func(t *testing.T) {
		var out struct {
			RegisterUnit struct {
				Code, Name, CreatedBy string
				Issuing               bool
				Version               int
			}
		}
		s.Do(officeTok, `mutation { registerUnit(input: {code: "91350100MA0000001P", name: "福州某检测有限公司", issuing: true}) { code name issuing version createdBy } }`, nil).Decode(t, &out)
		if u := out.RegisterUnit; u.Code != "91350100MA0000001P" || !u.Issuing || u.Version != 1 || u.CreatedBy != "office-1" {
			t.Fatalf("got %+v", u)
		}
	})

	t.Run("invalid credit code is INVALID_INPUT and stores nothing", func(t *testing.T) {
		r := s.Do(officeTok, `mutation { registerUnit(input: {code: "91350100MA0000001X", name: "x", issuing: false}) { code } }`, nil)
		if r.Code() != "INVALID_INPUT" || !strings.Contains(r.Errors[0].Message, "GB 32100") {
			t.Fatalf("got %+v", r.Errors)
		}
		var out struct{ Unit *struct{ Code string } }
		s.Do(officeTok, `{ unit(code: "91350100MA0000001X") { code } }`, nil).Decode(t, &out)
		if out.Unit != nil {
			t.Fatal("an invalid unit was stored")
		}
	})

	t.Run("duplicate unit is CONFLICT", func(t *testing.T) {
		r := s.Do(officeTok, `mutation { registerUnit(input: {code: "`+market+`", name: "again", issuing: true}) { code } }`, nil)
		if r.Code() != "CONFLICT" {
			t.Fatalf("got %+v", r.Errors)
		}
	})

	t.Run("only the digital office registers units and matters", func(t *testing.T) {
		r := s.Do(marketTok, `mutation { registerUnit(input: {code: "91350100MA0000002T", name: "x", issuing: false}) { code } }`, nil)
		if r.Code() != "FORBIDDEN" {
			t.Fatalf("issuer registering a unit: %+v", r.Errors)
		}
		r = s.Do(marketTok, `mutation { registerMatter(input: {code: "M-1", name: "x", requiredTypes: [], handlingUnits: ["`+market+`"]}) { code } }`, nil)
		if r.Code() != "FORBIDDEN" {
			t.Fatalf("issuer registering a matter: %+v", r.Errors)
		}
	})

	t.Run("issuer registers a type for its own unit", func(t *testing.T) {
		var out struct {
			RegisterCertificateType struct {
				Code      string
				Version   int
				CreatedBy string
				Issuer    struct{ Code string }
			}
		}
		s.Do(marketTok, registerType, map[string]any{"in": typeInput(market + "101")}).Decode(t, &out)
		ct := out.RegisterCertificateType
		if ct.Code != market+"101" || ct.Version != 1 || ct.Issuer.Code != market || ct.CreatedBy != "market-1" {
			t.Fatalf("got %+v", ct)
		}
	})

	t.Run("a type code lies in the registering unit's code space", func(t *testing.T) {
		// Another city unit's prefix, and a national unit's: a unit
		// cannot claim types in another unit's code space.
		for _, code := range []string{demo.HealthBureau + "555", "11100000000013338W011"} {
			r := s.Do(marketTok, registerType, map[string]any{"in": typeInput(code)})
			if r.Code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "code space") {
				t.Errorf("registering %s as %s: %+v", code, market, r.Errors)
			}
			var got struct{ CertificateType *struct{ Code string } }
			s.Do(marketTok, `query($c: ID!) { certificateType(code: $c) { code } }`, map[string]any{"c": code}).Decode(t, &got)
			if got.CertificateType != nil {
				t.Errorf("%s was stored", code)
			}
		}
		// Its rightful owner still can.
		health := s.TokenFor(identity.TokenRequest{Subject: "health-1", Org: demo.HealthBureau, Roles: []string{identity.RoleIssuer}, AMR: []string{"pwd"}, TTL: time.Hour})
		var out struct {
			RegisterCertificateType struct{ Issuer struct{ Code string } }
		}
		s.Do(health, registerType, map[string]any{"in": typeInput(demo.HealthBureau + "555")}).Decode(t, &out)
		if out.RegisterCertificateType.Issuer.Code != demo.HealthBureau {
			t.Fatalf("the health bureau registering in its own code space: %+v", out)
		}
	})

	t.Run("type errors", func(t *testing.T) {
		cases := map[string]struct {
			tok  string
			in   map[string]any
			code string
		}{
			"duplicate":            {marketTok, typeInput(market + "101"), "CONFLICT"},
			"bad defining unit":    {marketTok, typeInput("11350100MB00000020101"), "INVALID_INPUT"},
			"short code":           {marketTok, typeInput(market + "1"), "INVALID_INPUT"},
			"operator in code":     {marketTok, typeInput(`{"$gt":""}`), "INVALID_INPUT"},
			"staff cannot":         {s.Token("s", demo.ServiceCentre, identity.RoleStaff), typeInput(demo.ServiceCentre + "001"), "FORBIDDEN"},
			"using unit as issuer": {s.Token("s", demo.ServiceCentre, identity.RoleIssuer), typeInput(demo.ServiceCentre + "001"), "FORBIDDEN"},
		}
		bad := typeInput(market + "102")
		bad["fields"] = []any{map[string]any{"name": "a", "label": "A", "type": "STRING", "required": true, "sensitive": false},
			map[string]any{"name": "a", "label": "A again", "type": "STRING", "required": true, "sensitive": false}}
		cases["repeated field"] = struct {
			tok  string
			in   map[string]any
			code string
		}{marketTok, bad, "INVALID_INPUT"}
		for name, c := range cases {
			if r := s.Do(c.tok, registerType, map[string]any{"in": c.in}); r.Code() != c.code {
				t.Errorf("%s: got %+v, want %s", name, r.Errors, c.code)
			}
		}
		// An unknown field type never reaches the service.
		in := typeInput(market + "103")
		in["fields"] = []any{map[string]any{"name": "a", "label": "A", "type": "BLOB", "required": true, "sensitive": false}}
		if r := s.Do(marketTok, registerType, map[string]any{"in": in}); r.Code() != "INVALID_INPUT" {
			t.Errorf("unknown field type: %+v", r.Errors)
		}
	})

	t.Run("update bumps the version and keeps the history", func(t *testing.T) {
		in := typeInput(market + "101")
		in["name"] = "排污许可证（2026版）"
		var out struct {
			UpdateCertificateType struct {
				Version   int
				Name      string
				UpdatedBy string
			}
		}
		s.Do(marketTok, `mutation($in: CertificateTypeInput!) { updateCertificateType(input: $in, expectVersion: 1) { version name updatedBy } }`,
			map[string]any{"in": in}).Decode(t, &out)
		if out.UpdateCertificateType.Version != 2 || out.UpdateCertificateType.UpdatedBy != "market-1" {
			t.Fatalf("got %+v", out)
		}
		if r := s.Do(marketTok, `mutation($in: CertificateTypeInput!) { updateCertificateType(input: $in, expectVersion: 1) { version } }`,
			map[string]any{"in": in}); r.Code() != "CONFLICT" {
			t.Fatalf("stale update: %+v", r.Errors)
		}
		if r := s.Do(healthTok, `mutation($in: CertificateTypeInput!) { updateCertificateType(input: $in) { version } }`,
			map[string]any{"in": in}); r.Code() != "FORBIDDEN" {
			t.Fatalf("another unit's type: %+v", r.Errors)
		}
		var hist struct {
			CatalogueChanges []struct {
				Version  int
				Action   string
				By       string
				Snapshot map[string]any
			}
		}
		s.Do(officeTok, `{ catalogueChanges(kind: CERTIFICATE_TYPE, code: "`+market+`101") { version action by at snapshot } }`, nil).Decode(t, &hist)
		h := hist.CatalogueChanges
		if len(h) != 2 || h[0].Action != "create" || h[1].Action != "update" || h[1].By != "market-1" || h[1].Snapshot["name"] != "排污许可证（2026版）" {
			t.Fatalf("history %+v", h)
		}
	})

	t.Run("matters", func(t *testing.T) {
		var out struct {
			RegisterMatter struct {
				Code          string
				RequiredTypes []struct{ Code string }
				HandlingUnits []struct{ Code string }
			}
		}
		s.Do(officeTok, `mutation { registerMatter(input: {code: "350100-HB-0001", name: "排污许可证核发", requiredTypes: ["`+demo.BusinessLicence+`", "`+market+`101"], handlingUnits: ["`+demo.ServiceCentre+`"]}) { code requiredTypes { code } handlingUnits { code } } }`, nil).Decode(t, &out)
		if len(out.RegisterMatter.RequiredTypes) != 2 || out.RegisterMatter.HandlingUnits[0].Code != demo.ServiceCentre {
			t.Fatalf("got %+v", out)
		}
		r := s.Do(officeTok, `mutation { registerMatter(input: {code: "350100-HB-0002", name: "x", requiredTypes: ["11350100MB00000025999"], handlingUnits: ["`+demo.ServiceCentre+`"]}) { code } }`, nil)
		if r.Code() != "INVALID_INPUT" {
			t.Fatalf("unknown required type: %+v", r.Errors)
		}
		r = s.Do(officeTok, `mutation { registerMatter(input: {code: "{\"$gt\":\"\"}", name: "x", requiredTypes: [], handlingUnits: ["`+demo.ServiceCentre+`"]}) { code } }`, nil)
		if r.Code() != "INVALID_INPUT" {
			t.Fatalf("operator as matter code: %+v", r.Errors)
		}
	})

	t.Run("operator strings are data", func(t *testing.T) {
		var out struct{ Unit *struct{ Code string } }
		s.Do(officeTok, `query($c: ID!) { unit(code: $c) { code } }`, map[string]any{"c": `{"$gt":""}`}).Decode(t, &out)
		if out.Unit != nil {
			t.Fatal("an operator string matched a unit")
		}
		var u struct{ RegisterUnit struct{ Name string } }
		s.Do(officeTok, `mutation($n: String!) { registerUnit(input: {code: "91350100MA0000002T", name: $n, issuing: false}) { name } }`,
			map[string]any{"n": `{"$gt":""}`}).Decode(t, &u)
		if u.RegisterUnit.Name != `{"$gt":""}` {
			t.Fatalf("name %q", u.RegisterUnit.Name)
		}
	})

	t.Run("me", func(t *testing.T) {
		var out struct {
			Me struct {
				Subject string
				Org     string
				Roles   []string
			}
		}
		s.Do(marketTok, `{ me { subject org roles } }`, nil).Decode(t, &out)
		if out.Me.Subject != "market-1" || out.Me.Org != market || len(out.Me.Roles) != 1 {
			t.Fatalf("got %+v", out.Me)
		}
	})
}
