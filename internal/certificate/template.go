package certificate

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"certd/internal/apperr"
	"certd/internal/catalogue"
)

// maxFieldLen bounds a string field's length in characters.
const maxFieldLen = 2000

// ValidateData checks licence data against a type's template — required
// fields present, values of the field's type, no fields the template does
// not have — and returns it normalised: numbers as float64, so that the
// sealed document reads the same after a round trip through any store.
func ValidateData(t catalogue.CertificateType, data map[string]any) (map[string]any, error) {
	if data == nil {
		return nil, apperr.Invalid("data must be a JSON object of the template's fields")
	}
	var unknown []string
	for k := range data {
		if _, ok := t.Field(k); !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, apperr.Invalid("data has fields the template of %s does not have: %s", t.Code, strings.Join(unknown, ", "))
	}
	out := make(map[string]any, len(data))
	for _, f := range t.Fields {
		v, present := data[f.Name]
		if !present || v == nil || v == "" {
			if f.Required {
				return nil, apperr.Invalid("field %s (%s) is required", f.Name, f.Label)
			}
			continue
		}
		nv, err := fieldValue(f, v)
		if err != nil {
			return nil, err
		}
		out[f.Name] = nv
	}
	return out, nil
}

func fieldValue(f catalogue.TemplateField, v any) (any, error) {
	bad := func(want string) error {
		return apperr.Invalid("field %s (%s) must be %s", f.Name, f.Label, want)
	}
	switch f.Type {
	case catalogue.FieldString:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a string")
		}
		if utf8.RuneCountInString(s) > maxFieldLen || !utf8.ValidString(s) {
			return nil, bad("valid text of at most 2000 characters")
		}
		if f.Required && strings.TrimSpace(s) == "" {
			return nil, apperr.Invalid("field %s (%s) is required", f.Name, f.Label)
		}
		return s, nil
	case catalogue.FieldNumber:
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case int:
			n = float64(x)
		case int64:
			n = float64(x)
		case json.Number:
			var err error
			if n, err = x.Float64(); err != nil {
				return nil, bad("a number")
			}
		default:
			return nil, bad("a number")
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, bad("a finite number")
		}
		return n, nil
	case catalogue.FieldDate:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a date YYYY-MM-DD")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, bad("a date YYYY-MM-DD")
		}
		return s, nil
	case catalogue.FieldBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, bad("true or false")
		}
		return b, nil
	}
	return nil, bad("of a known type")
}
