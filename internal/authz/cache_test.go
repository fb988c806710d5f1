package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"certd/internal/identity"
)

// claimsPolicy allows, shows and filters only for one exact principal and
// resource: every claim and every resource value decides.
const claimsPolicy = `package certd.authz

import rego.v1

default max_certificates := 100

exact if {
	input.principal.sub == "s1"
	input.principal.org == "o1"
	input.principal.roles == ["staff", "issuer"]
	input.principal.holder == "h1"
	input.principal.amr == ["pwd"]
}

allow if {
	exact
	input.resource.case.unit == "u1"
	input.resource.case.types == ["t1", "t2"]
}

good_case if {
	input.case.unit == "u1"
	input.case.types == ["t1", "t2"]
}

hidden_fields contains "secret" if not exact
hidden_fields contains "secret" if not good_case
`

const claimsFilters = `package certd.filters

import rego.v1

include if {
	data.certd.authz.exact
	input.case.unit == "u1"
	input.case.types == ["t1", "t2"]
	input.certificate.holder == input.principal.holder
}
`

func engineWith(t *testing.T, version int, authz, filters string) *Engine {
	t.Helper()
	e, err := NewEngine(context.Background(), []Module{{Path: "authz.rego", Rego: authz}, {Path: "filters.rego", Rego: filters}}, version)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func base() *identity.Principal {
	return &identity.Principal{Subject: "s1", Org: "o1", Roles: []string{"staff", "issuer"}, Holder: "h1", AMR: []string{"pwd"}}
}

// variants are principals that differ from base in exactly one claim the
// policy reads, some only in how the claim's strings are split.
func variants() map[string]*identity.Principal {
	out := map[string]*identity.Principal{}
	add := func(name string, f func(p *identity.Principal)) {
		p := base()
		f(p)
		out[name] = p
	}
	add("sub", func(p *identity.Principal) { p.Subject = "s2" })
	add("org", func(p *identity.Principal) { p.Org = "o2" })
	add("org moved into sub", func(p *identity.Principal) { p.Subject, p.Org = "s1o", "1" })
	add("one role less", func(p *identity.Principal) { p.Roles = []string{"staff"} })
	add("roles joined", func(p *identity.Principal) { p.Roles = []string{"staffissuer"} })
	add("roles in another order", func(p *identity.Principal) { p.Roles = []string{"issuer", "staff"} })
	add("holder", func(p *identity.Principal) { p.Holder = "h2" })
	add("no holder", func(p *identity.Principal) { p.Holder = "" })
	add("amr", func(p *identity.Principal) { p.AMR = []string{"pwd", "cert"} })
	return out
}

func resourceOf(unit string, types ...any) map[string]any {
	return map[string]any{"case": map[string]any{"unit": unit, "types": types}}
}

// TestCachedDecisionsAreNotShared: principals differing only in one claim,
// and resources differing only in one value, each get their own decision,
// whichever asks first, for allow, hidden fields and data filters.
func TestCachedDecisionsAreNotShared(t *testing.T) {
	ctx := context.Background()
	ask := func(e *Engine, p *identity.Principal, res map[string]any) (allowed bool, hidden []string, filtered bool) {
		d, err := e.Decide(ctx, Input{Action: "case.read", Principal: p, Resource: res})
		if err != nil {
			t.Fatal(err)
		}
		pctx := identity.WithPrincipal(ctx, p)
		h, hideAll := e.HiddenFields(pctx, "case.certificates", res)
		if hideAll {
			t.Fatal("hidden fields: evaluation failed")
		}
		f, err := e.Filter(pctx, "case.certificates", res)
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed, h, !f.None
	}
	good := resourceOf("u1", "t1", "t2")
	for name, other := range variants() {
		for _, baseFirst := range []bool{true, false} {
			e := engineWith(t, 1, claimsPolicy, claimsFilters)
			order := []*identity.Principal{base(), other}
			if !baseFirst {
				slices.Reverse(order)
			}
			for range 2 { // the second round is served from the cache
				for _, p := range order {
					allowed, hidden, filtered := ask(e, p, good)
					want := reflect.DeepEqual(p, base())
					if allowed != want || filtered != want || (len(hidden) == 0) != want {
						t.Errorf("%s (base first %v): principal %+v: allowed %v, hidden %v, filtered %v; want allowed %v",
							name, baseFirst, p, allowed, hidden, filtered, want)
					}
				}
			}
		}
	}
	e := engineWith(t, 1, claimsPolicy, claimsFilters)
	for range 2 {
		for name, res := range map[string]map[string]any{
			"another unit":         resourceOf("u2", "t1", "t2"),
			"types joined":         resourceOf("u1", "t1t2"),
			"a string for a list":  {"case": map[string]any{"unit": "u1", "types": "t1t2"}},
			"a case of no types":   {"case": map[string]any{"unit": "u1", "types": nil}},
			"a number for strings": resourceOf("u1", "t1", json.Number("2")),
			"no case":              {},
		} {
			if allowed, hidden, filtered := ask(e, base(), res); allowed || filtered || len(hidden) == 0 {
				t.Errorf("%s: allowed %v, hidden %v, filtered %v; want neither, and hidden", name, allowed, hidden, filtered)
			}
		}
		if allowed, hidden, filtered := ask(e, base(), good); !allowed || !filtered || len(hidden) > 0 {
			t.Errorf("the exact principal and resource: allowed %v, hidden %v, filtered %v", allowed, hidden, filtered)
		}
	}
}

// TestPolicyChangeInvalidatesCachedDecisions: every decision comes from
// the active policy, whether the new one has another version number or,
// loaded again under the same number, other rules.
func TestPolicyChangeInvalidatesCachedDecisions(t *testing.T) {
	ctx := identity.WithPrincipal(context.Background(), base())
	e := engineWith(t, 1, claimsPolicy, claimsFilters)
	res := resourceOf("u1", "t1", "t2")
	check := func(stage string, wantAllowed, wantHidden, wantFiltered bool) {
		t.Helper()
		for range 2 {
			d, err := e.Decide(ctx, Input{Action: "case.read", Principal: base(), Resource: res})
			if err != nil {
				t.Fatal(err)
			}
			h, _ := e.HiddenFields(ctx, "case.certificates", res)
			f, err := e.Filter(ctx, "case.certificates", res)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != wantAllowed || (len(h) > 0) != wantHidden || f.None == wantFiltered {
				t.Fatalf("%s: allowed %v, hidden %v, filter %+v; want allowed %v, hidden %v, filtered %v",
					stage, d.Allowed, h, f, wantAllowed, wantHidden, wantFiltered)
			}
		}
	}
	check("version 1", true, false, true)

	denyAll := `package certd.authz

import rego.v1

hidden_fields contains "secret" if true
`
	noFilter := "package certd.filters\n"
	if err := e.Load(context.Background(), []Module{{Path: "authz.rego", Rego: denyAll}, {Path: "filters.rego", Rego: noFilter}}, 2); err != nil {
		t.Fatal(err)
	}
	check("version 2", false, true, false)

	if err := e.Load(context.Background(), []Module{{Path: "authz.rego", Rego: claimsPolicy}, {Path: "filters.rego", Rego: claimsFilters}}, 2); err != nil {
		t.Fatal(err)
	}
	check("version 2 loaded again with other rules", true, false, true)
}

// TestKeyCoversEveryClaimInTheInput: whatever claim of a principal
// reaches the policy's input, changing it changes the cache key, so a
// claim added to the input one day cannot be left out of the key.
func TestKeyCoversEveryClaimInTheInput(t *testing.T) {
	full := func() *identity.Principal {
		p := &identity.Principal{}
		v := reflect.ValueOf(p).Elem()
		for i := range v.NumField() {
			set(t, v.Field(i), "a")
		}
		return p
	}
	key := func(p *identity.Principal) []byte {
		k, ok := decisionKey(kindAllow, 1, "x", p, extraResource, nil)
		if !ok {
			t.Fatal("no key")
		}
		return bytes.Clone(*k)
	}
	typ := reflect.TypeFor[identity.Principal]()
	for i := range typ.NumField() {
		a, b := full(), full()
		set(t, reflect.ValueOf(b).Elem().Field(i), "b")
		inA, inB := Input{Principal: a}.value(), Input{Principal: b}.value()
		if reflect.DeepEqual(inA, inB) {
			continue // not in the input: the key may leave it out
		}
		if bytes.Equal(key(a), key(b)) {
			t.Errorf("principals differing in %s have the same cache key though their inputs differ", typ.Field(i).Name)
		}
	}
}

// set gives a field of a Principal a value derived from s.
func set(t *testing.T, f reflect.Value, s string) {
	t.Helper()
	if !f.CanSet() {
		return
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			t.Fatalf("cannot set a %s claim", f.Type())
		}
		f.Set(reflect.ValueOf([]string{s, s + "2"}).Convert(f.Type()))
	case reflect.Bool:
		f.SetBool(s == "b")
	case reflect.Int, reflect.Int64:
		f.SetInt(int64(len(s) + int(s[0])))
	case reflect.Struct, reflect.Pointer, reflect.Map:
		// time.Time and the like: zero in both; a claim of such a type
		// reaching the input would show as equal keys for different inputs
		// only if the input ignores it, which the check above allows.
	default:
		t.Fatalf("cannot set a %s claim", f.Type())
	}
}

// TestKeysOfDifferentValuesDiffer covers the value encoding: values that
// JSON writes differently get different keys (nil maps and slices are
// null, as in JSON).
func TestKeysOfDifferentValuesDiffer(t *testing.T) {
	values := []any{
		nil, true, false, "", "a", "ab", 1, int64(2), 1.5, json.Number("1"),
		[]any{}, []any(nil), []any{"a", "b"}, []any{"ab"}, []any{[]any{"a"}, "b"},
		[]string{"a"}, map[string]any{}, map[string]any(nil), map[string]any{"a": "b"}, map[string]any{"ab": ""},
		map[string]any{"a": map[string]any{"b": 1}}, map[string]string{"a": "b"}, struct{ A int }{1},
	}
	seen := map[string]any{}
	for _, v := range values {
		b, ok := appendValue(nil, map[string]any{"v": v})
		if !ok {
			t.Fatalf("%#v: not encoded", v)
		}
		if prev, dup := seen[string(b)]; dup {
			j1, _ := json.Marshal(prev)
			j2, _ := json.Marshal(v)
			if !bytes.Equal(j1, j2) {
				t.Errorf("%#v and %#v have the same key", prev, v)
			}
		}
		seen[string(b)] = v
	}
	a, _ := appendValue(nil, map[string]any{"x": 1, "y": 2, "z": []any{"q"}})
	for range 20 {
		b, _ := appendValue(nil, map[string]any{"z": []any{"q"}, "y": 2, "x": 1})
		if !bytes.Equal(a, b) {
			t.Fatal("the same map encodes differently")
		}
	}
	if _, ok := appendValue(nil, map[string]any{"f": func() {}}); ok {
		t.Error("a function was encoded")
	}
}

// BenchmarkHiddenFieldsCached is a cached decision of a case read: the
// key's encoding and the lookup.
func BenchmarkHiddenFieldsCached(b *testing.B) {
	e := newEngine(b)
	ctx := identity.WithPrincipal(context.Background(), &identity.Principal{Subject: "clerk", Org: "11350100MB0000004B",
		Roles: []string{"staff"}, AMR: []string{"pwd"}})
	known := map[string]any{
		"case": map[string]any{"id": "0123456789abcdef0123456789abcdef", "unit": "11350100MB0000004B", "holder": "91350100MA0000001P",
			"matter": "350100-SP-0002", "open": true, "required_types": []any{"11350100MB00000025001"}, "disclosed": []any{}},
		"type": map[string]any{"code": "11350100MB00000025001", "sensitive": []any{"legalRepresentativeId"}},
	}
	e.HiddenFields(ctx, "case.certificates", known)
	b.ReportAllocs()
	for b.Loop() {
		if _, hideAll := e.HiddenFields(ctx, "case.certificates", known); hideAll {
			b.Fatal("hide all")
		}
	}
}
