package sqlite

import (
	"fmt"
	"strings"

	"certd/internal/certificate"
)

// condColumns maps condition fields to columns.
var condColumns = map[string]string{
	"id": "id", "lineage": "lineage", "type": "type_code", "issuer": "issuer_code", "holder": "holder_code",
	"state": "state", "current": "current", "version": "version",
}

var condOps = map[string]string{"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

// condSQL translates a condition to a WHERE clause with placeholders only:
// values never become SQL text.
func condSQL(c certificate.Cond) (string, []any, error) {
	switch c.Op {
	case "and", "or":
		if len(c.Args) == 0 {
			if c.Op == "and" {
				return "1", nil, nil
			}
			return "0", nil, nil
		}
		var parts []string
		var args []any
		for _, a := range c.Args {
			s, as, err := condSQL(a)
			if err != nil {
				return "", nil, err
			}
			parts = append(parts, "("+s+")")
			args = append(args, as...)
		}
		return strings.Join(parts, " "+strings.ToUpper(c.Op)+" "), args, nil
	case "not":
		if len(c.Args) != 1 {
			return "", nil, fmt.Errorf("not takes one operand")
		}
		s, args, err := condSQL(c.Args[0])
		return "NOT (" + s + ")", args, err
	}
	col, ok := condColumns[c.Field]
	if !ok {
		return "", nil, fmt.Errorf("no column for field %q", c.Field)
	}
	if c.Op == "in" {
		vs, ok := c.Value.([]any)
		if !ok {
			return "", nil, fmt.Errorf("in needs a list")
		}
		if len(vs) == 0 {
			return "0", nil, nil
		}
		args := make([]any, len(vs))
		for i, v := range vs {
			args[i] = sqlValue(v)
		}
		return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vs)), ", ") + ")", args, nil
	}
	op, ok := condOps[c.Op]
	if !ok {
		return "", nil, fmt.Errorf("operator %q is not supported", c.Op)
	}
	return col + " " + op + " ?", []any{sqlValue(c.Value)}, nil
}

func sqlValue(v any) any {
	if b, ok := v.(bool); ok {
		if b {
			return 1
		}
		return 0
	}
	return v
}
