package certificate

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Cond is a condition on licence fields: the store-neutral form of the
// data filters the policy produces through OPA's compile API (UCAST).
// Stores translate it to SQL or to a MongoDB filter, so the store returns
// only what the policy permits.
type Cond struct {
	Op    string // and, or, not; eq, ne, in, lt, le, gt, ge
	Field string // one of CondFields
	Value any    // string, bool, float64, or []any for in
	Args  []Cond // operands of and, or, not
}

// CondFields are the licence fields a policy filter may name, as the
// policy sees them under input.certificate.
var CondFields = map[string]bool{
	"id": true, "lineage": true, "type": true, "issuer": true, "holder": true,
	"state": true, "current": true, "version": true,
}

var fieldOps = map[string]bool{"eq": true, "ne": true, "in": true, "lt": true, "le": true, "gt": true, "ge": true, "lte": true, "gte": true}

// FromUCAST converts a UCAST tree (as OPA's compile API returns it, fields
// prefixed with "certificate.") to a Cond, refusing fields and operators a
// store does not know.
func FromUCAST(v any) (Cond, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Cond{}, fmt.Errorf("filter node is %T, not an object", v)
	}
	typ, _ := m["type"].(string)
	op, _ := m["operator"].(string)
	switch typ {
	case "compound":
		if op != "and" && op != "or" && op != "not" {
			return Cond{}, fmt.Errorf("filter operator %q is not supported", op)
		}
		var args []any
		switch x := m["value"].(type) {
		case []any:
			args = x
		case map[string]any:
			args = []any{x}
		default:
			return Cond{}, fmt.Errorf("filter %s has no operands", op)
		}
		c := Cond{Op: op}
		for _, a := range args {
			sub, err := FromUCAST(a)
			if err != nil {
				return Cond{}, err
			}
			c.Args = append(c.Args, sub)
		}
		if op == "not" && len(c.Args) != 1 {
			return Cond{}, fmt.Errorf("filter not takes one operand")
		}
		return c, nil
	case "field":
		field, _ := m["field"].(string)
		field = strings.TrimPrefix(field, "certificate.")
		if !CondFields[field] {
			return Cond{}, fmt.Errorf("filter names field %q, which stores cannot filter on", field)
		}
		if !fieldOps[op] {
			return Cond{}, fmt.Errorf("filter operator %q is not supported", op)
		}
		if op == "lte" {
			op = "le"
		} else if op == "gte" {
			op = "ge"
		}
		val, err := condValue(m["value"], op == "in")
		if err != nil {
			return Cond{}, fmt.Errorf("filter on %s: %w", field, err)
		}
		return Cond{Op: op, Field: field, Value: val}, nil
	}
	return Cond{}, fmt.Errorf("filter node type %q is not supported", typ)
}

func condValue(v any, list bool) (any, error) {
	if list {
		xs, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("in needs a list")
		}
		out := make([]any, len(xs))
		for i, x := range xs {
			s, err := condValue(x, false)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	switch x := v.(type) {
	case string, bool, float64:
		return x, nil
	case json.Number:
		return x.Float64()
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	}
	return nil, fmt.Errorf("value of type %T is not supported", v)
}

// And joins conditions.
func And(cs ...Cond) Cond { return Cond{Op: "and", Args: cs} }

// True and False are the conditions every licence meets and none does.
var (
	True  = Cond{Op: "and"}
	False = Cond{Op: "or"}
)

// IsTrue reports whether c is True: an "and" of nothing.
func (c Cond) IsTrue() bool { return c.Op == "and" && len(c.Args) == 0 }

// IsFalse reports whether c is False: an "or" of nothing. A store answers
// a simplified condition that is False without asking its database.
func (c Cond) IsFalse() bool { return c.Op == "or" && len(c.Args) == 0 }

// Simplify folds what the condition decides alone, once for every store:
// an "in" of no values and an "or" of nothing are False, an "and" with a
// False part is False, nested "and"s are one, True parts of an "and" and
// False parts of an "or" drop out, and a one-part "and" or "or" is its
// part.
func Simplify(c Cond) Cond {
	switch c.Op {
	case "and", "or":
		absorb := c.Op == "and"
		var args []Cond
		for _, a := range c.Args {
			a = Simplify(a)
			switch {
			case absorb && a.IsFalse(), !absorb && a.IsTrue():
				return a // decides the whole
			case absorb && a.IsTrue(), !absorb && a.IsFalse():
				continue // changes nothing
			case a.Op == c.Op:
				args = append(args, a.Args...)
			default:
				args = append(args, a)
			}
		}
		if len(args) == 1 {
			return args[0]
		}
		return Cond{Op: c.Op, Args: args}
	case "not":
		if len(c.Args) != 1 {
			return c
		}
		a := Simplify(c.Args[0])
		switch {
		case a.IsTrue():
			return False
		case a.IsFalse():
			return True
		}
		return Cond{Op: "not", Args: []Cond{a}}
	case "in":
		if vs, ok := c.Value.([]any); ok && len(vs) == 0 {
			return False
		}
	}
	return c
}

// Eq is field == value.
func Eq(field string, v any) Cond { return Cond{Op: "eq", Field: field, Value: v} }

// Cond turns the filter's fields into a condition (and Policy, when set),
// simplified.
func (f Filter) Cond() Cond {
	var cs []Cond
	if f.IssuerCode != "" {
		cs = append(cs, Eq("issuer", f.IssuerCode))
	}
	if f.TypeCode != "" {
		cs = append(cs, Eq("type", f.TypeCode))
	}
	if f.HolderCode != "" {
		cs = append(cs, Eq("holder", f.HolderCode))
	}
	if f.State != "" {
		cs = append(cs, Eq("state", string(f.State)))
	}
	if f.TypeCodes != nil {
		vs := make([]any, len(f.TypeCodes))
		for i, t := range f.TypeCodes {
			vs[i] = t
		}
		cs = append(cs, Cond{Op: "in", Field: "type", Value: vs})
	}
	if f.CurrentOnly {
		cs = append(cs, Eq("current", true))
	}
	if f.Policy != nil {
		cs = append(cs, *f.Policy)
	}
	return Simplify(And(cs...))
}
