package certificate

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestFromUCAST(t *testing.T) {
	var tree any
	_ = json.Unmarshal([]byte(`{"operator":"and","type":"compound","value":[
		{"field":"certificate.holder","operator":"eq","type":"field","value":"H1"},
		{"field":"certificate.type","operator":"in","type":"field","value":["T1","T2"]},
		{"field":"certificate.version","operator":"gte","type":"field","value":2},
		{"operator":"not","type":"compound","value":{"field":"certificate.state","operator":"eq","type":"field","value":"REVOKED"}}]}`), &tree)
	c, err := FromUCAST(tree)
	if err != nil {
		t.Fatal(err)
	}
	if c.Op != "and" || len(c.Args) != 4 || c.Args[0].Field != "holder" || c.Args[1].Op != "in" || len(c.Args[1].Value.([]any)) != 2 ||
		c.Args[2].Op != "ge" || c.Args[2].Value != 2.0 || c.Args[3].Op != "not" || c.Args[3].Args[0].Value != "REVOKED" {
		t.Fatalf("got %+v", c)
	}
	for _, bad := range []string{
		`{"type":"field","operator":"eq","field":"certificate.data.secret","value":"x"}`,
		`{"type":"field","operator":"regex","field":"certificate.holder","value":"x"}`,
		`{"type":"field","operator":"eq","field":"certificate.holder","value":{"$gt":""}}`,
		`{"type":"compound","operator":"xor","value":[]}`,
		`{"type":"document","operator":"exists","value":"x"}`,
		`"x"`,
	} {
		var v any
		_ = json.Unmarshal([]byte(bad), &v)
		if _, err := FromUCAST(v); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestSimplify(t *testing.T) {
	in := func(vs ...any) Cond { return Cond{Op: "in", Field: "type", Value: vs} }
	a, b := Eq("issuer", "a"), Eq("state", "VALID")
	for name, tc := range map[string]struct {
		c, want Cond
	}{
		"empty in is false":         {in(), False},
		"and with false is false":   {And(a, in()), False},
		"or drops false":            {Cond{Op: "or", Args: []Cond{in(), a}}, a},
		"or with true is true":      {Cond{Op: "or", Args: []Cond{a, And()}}, True},
		"nested and flattens":       {And(a, And(b, True)), And(a, b)},
		"not of false is true":      {Cond{Op: "not", Args: []Cond{in()}}, True},
		"one part is the part":      {And(a), a},
		"untouched leaf":            {in("x"), in("x")},
		"empty or stays false":      {Cond{Op: "or"}, False},
		"and of nothing stays true": {And(), True},
	} {
		got := Simplify(tc.c)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
			t.Errorf("%s: Simplify = %+v, want %+v", name, got, tc.want)
		}
	}
	if !(Filter{TypeCodes: []string{}}).Cond().IsFalse() || (Filter{IssuerCode: "x"}).Cond().IsFalse() {
		t.Error("a filter of no types matches nothing; one of an issuer does")
	}
}
