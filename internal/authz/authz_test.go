package authz

import (
	"context"
	"errors"
	"testing"

	"certd/internal/apperr"
	"certd/internal/identity"
)

func TestEmbeddedPolicyTestsPass(t *testing.T) {
	mods, err := DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunTests(context.Background(), mods)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 {
		t.Fatal("the embedded policy has no tests")
	}
	for _, r := range res {
		if !r.Passed {
			t.Errorf("%s: %s", r.Name, r.Detail)
		}
	}
}

func newEngine(t testing.TB) *Engine {
	t.Helper()
	mods, err := DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(context.Background(), mods, 1)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAuthorize(t *testing.T) {
	e := newEngine(t)
	office := &identity.Principal{Subject: "o", Org: "11100000000013338W", Roles: []string{"digital_office"}}
	issuer := &identity.Principal{Subject: "i", Org: "11110000000021135M", Roles: []string{"issuer"}}
	cases := []struct {
		name     string
		p        *identity.Principal
		action   string
		resource map[string]any
		want     apperr.Code // "" for allowed
	}{
		{"anonymous", nil, "catalogue.read", nil, apperr.Unauthenticated},
		{"read", issuer, "catalogue.read", nil, ""},
		{"office registers unit", office, "unit.register", nil, ""},
		{"issuer registers unit", issuer, "unit.register", nil, apperr.Forbidden},
		{"issuer own type", issuer, "type.register", map[string]any{"issuer": issuer.Org}, ""},
		{"issuer other type", issuer, "type.register", map[string]any{"issuer": office.Org}, apperr.Forbidden},
		{"unknown action", office, "drop.everything", nil, apperr.Forbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			if c.p != nil {
				ctx = identity.WithPrincipal(ctx, c.p)
			}
			err := e.Authorize(ctx, c.action, c.resource)
			if c.want == "" {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			if !apperr.CodeIs(err, c.want) {
				t.Fatalf("want %s, got %v", c.want, err)
			}
		})
	}
}

func TestDenialCarriesReasons(t *testing.T) {
	e := newEngine(t)
	ctx := identity.WithPrincipal(context.Background(), &identity.Principal{Subject: "i", Org: "A", Roles: []string{"issuer"}})
	err := e.Authorize(ctx, "unit.register", nil)
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Details) == 0 || ae.Details[0] != "role digital_office required" {
		t.Fatalf("got %#v", err)
	}
}

func TestBadPolicyLeavesActiveUnchanged(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	bad := []Module{{Path: "authz.rego", Rego: "package certd.authz\nallow if {"}}
	var ce *CompileError
	if err := e.Load(ctx, bad, 2); !errors.As(err, &ce) {
		t.Fatalf("syntax error: got %v, want CompileError", err)
	}
	unsafe := []Module{{Path: "authz.rego", Rego: "package certd.authz\nallow if { x == 1 }"}}
	if err := e.Load(ctx, unsafe, 3); !errors.As(err, &ce) {
		t.Fatalf("unsafe variable: got %v, want CompileError", err)
	}
	if e.Version() != 1 {
		t.Fatalf("active version changed to %d", e.Version())
	}
	pctx := identity.WithPrincipal(ctx, &identity.Principal{Subject: "o", Roles: []string{"digital_office"}})
	if err := e.Authorize(pctx, "unit.register", nil); err != nil {
		t.Fatalf("old policy no longer answers: %v", err)
	}
}

func TestNonBooleanAllowIsDenial(t *testing.T) {
	ctx := context.Background()
	e, err := NewEngine(ctx, []Module{{Path: "authz.rego", Rego: "package certd.authz\nallow := \"yes\"\n"}}, 7)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Decide(ctx, Input{Action: "catalogue.read", Principal: &identity.Principal{Subject: "x"}})
	if err != nil || d.Allowed || d.PolicyVersion != 7 {
		t.Fatalf("got %+v %v, want a denial", d, err)
	}
}

func BenchmarkDecide(b *testing.B) {
	mods, _ := DefaultModules()
	e, err := NewEngine(context.Background(), mods, 1)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Action: "type.register", Principal: &identity.Principal{Subject: "i", Org: "A", Roles: []string{"issuer"}}, Resource: map[string]any{"issuer": "A"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := e.Decide(ctx, in); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

func TestNetworkBuiltinsAreRefused(t *testing.T) {
	mods := []Module{{Path: "x.rego", Rego: "package certd.authz\nallow if { http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1/\"}).status_code == 200 }\n"}}
	var ce *CompileError
	if err := Check(mods); !errors.As(err, &ce) {
		t.Fatalf("http.send compiled: %v", err)
	}
}

func TestBudget(t *testing.T) {
	ctx := WithBudget(context.Background(), 3)
	if err := Spend(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if Remaining(ctx) != 1 {
		t.Fatalf("remaining %d", Remaining(ctx))
	}
	if err := Spend(ctx, 2); !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("over budget: %v", err)
	}
	if err := Spend(ctx, 1); !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("an exhausted budget stays exhausted: %v", err)
	}
	if err := Spend(context.Background(), DefaultMaxCertificates+1); !apperr.CodeIs(err, apperr.Forbidden) {
		t.Fatalf("no budget: %v", err)
	}
}
