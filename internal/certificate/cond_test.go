package certificate

import (
	"encoding/json"
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
