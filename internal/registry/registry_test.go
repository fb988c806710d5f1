package registry_test

import (
	"context"
	"strings"
	"testing"

	"certd/internal/apperr"
	"certd/internal/registry"
	"certd/internal/store/sqlite"
)

func TestLoadAndCheck(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := registry.Load(ctx, st, strings.NewReader(`{"code":"321083197812162119","name":"示例个人甲","kind":"PERSON"}
{"code":"91310110666007217T","name":"上海某科技有限公司","kind":"ORGANIZATION"}
`), "population")
	if err != nil || n != 2 {
		t.Fatalf("jsonl: %d %v", n, err)
	}
	n, err = registry.Load(ctx, st, strings.NewReader("\ufeffcode,name,kind\n33010219200403064X,示例个人乙,person\n"), "population")
	if err != nil || n != 1 {
		t.Fatalf("csv: %d %v", n, err)
	}
	if _, err := registry.Load(ctx, st, strings.NewReader("code,name\nx,y\n"), "x"); err == nil {
		t.Fatal("a CSV without kind was accepted")
	}
	c := registry.NewChecker(st)
	cases := []struct {
		code, name, kind string
		ok               bool
	}{
		{"321083197812162119", "示例个人甲", "PERSON", true},
		{"321083197812162119", "示例个人丁", "PERSON", false},       // name differs from the registry
		{"321083197812162119", "示例个人甲", "ORGANIZATION", false}, // kind differs
		{"321083197812162118", "示例个人甲", "PERSON", false},       // check digit
		{"11010519491231002X", "示例个人丙", "PERSON", true},        // valid, unknown to the registry
		{"91310110666007217T", "上海某科技有限公司", "ORGANIZATION", true},
		{"91310110666007217T", "另一家公司", "ORGANIZATION", false},
		{"91310110666007217X", "x", "ORGANIZATION", false},
		{"33010219200403064X", "示例个人乙", "PERSON", true},
		{"33010219200403064X", " ", "PERSON", false},
	}
	for _, tc := range cases {
		err := c.Check(ctx, tc.code, tc.name, tc.kind)
		if tc.ok != (err == nil) || (err != nil && !apperr.CodeIs(err, apperr.InvalidInput)) {
			t.Errorf("%s %s %s: %v", tc.code, tc.name, tc.kind, err)
		}
	}
}

func TestCheckAllMatchesCheck(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := registry.Load(ctx, st, strings.NewReader("code,name,kind\n321083197812162119,示例个人甲,PERSON\n"), "population"); err != nil {
		t.Fatal(err)
	}
	c := registry.NewChecker(st)
	hs := []registry.Holder{
		{Code: "321083197812162119", Name: "示例个人甲", Kind: "PERSON"},
		{Code: "321083197812162119", Name: "示例个人丁", Kind: "PERSON"},
		{Code: "321083197812162118", Name: "示例个人甲", Kind: "PERSON"},
		{Code: "11010519491231002X", Name: "示例个人丙", Kind: "PERSON"},
	}
	errs, err := c.CheckAll(ctx, hs)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		one := c.Check(ctx, h.Code, h.Name, h.Kind)
		if (one == nil) != (errs[i] == nil) {
			t.Errorf("%+v: Check %v, CheckAll %v", h, one, errs[i])
		}
	}
	if errs[0] != nil || errs[1] == nil || errs[2] == nil || errs[3] != nil {
		t.Fatalf("CheckAll: %v", errs)
	}
}
