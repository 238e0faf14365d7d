package decode

import (
	"reflect"
	"strings"
	"time"
)

// Schema builds JSON Schema (draft 2020-12) objects for the values the
// Decoder accepts, from the same struct tags it reads: `yaml` names the
// properties (`required` ones are listed as such), `doc` describes them.
// What reflection cannot know is given: the schemas of registered types,
// the values of enumerated types and fields, and the defaults.
type Schema struct {
	// Types maps a registered type (or any other) to its schema.
	Types map[reflect.Type]map[string]any
	// Enums maps a named type (a string kind) to its values.
	Enums map[reflect.Type][]string
	// FieldEnums maps a struct type's field (by YAML name) to its values.
	FieldEnums map[reflect.Type]map[string][]string
	// Defaults maps a struct type to a value holding its defaults (its
	// non-zero fields are reported as defaults).
	Defaults map[reflect.Type]any
}

// Object returns the schema of the struct pointed to (or held) by cfg; its
// non-zero fields are the defaults. A struct with an `,inline` field that
// collects unclaimed keys gets no additionalProperties: the caller says
// what else it accepts.
func (s *Schema) Object(cfg any) map[string]any {
	v := reflect.Indirect(reflect.ValueOf(cfg))
	return s.object(v.Type(), v)
}

func (s *Schema) object(t reflect.Type, defaults reflect.Value) map[string]any {
	if !defaults.IsValid() {
		if d, ok := s.Defaults[t]; ok {
			defaults = reflect.Indirect(reflect.ValueOf(d))
		}
	}
	props := map[string]any{}
	var required []string
	for _, f := range fields(t) {
		sf := t.Field(f.index)
		p := s.of(sf.Type)
		if vals, ok := s.FieldEnums[t][f.name]; ok {
			p = enum(vals)
		}
		if doc := sf.Tag.Get("doc"); doc != "" {
			p["description"] = doc
		}
		if defaults.IsValid() {
			if d, ok := jsonDefault(defaults.Field(f.index)); ok {
				p["default"] = d
			}
		}
		props[f.name] = p
		if f.required {
			required = append(required, f.name)
		}
	}
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	inline := false
	for i := 0; i < t.NumField(); i++ {
		if strings.HasSuffix(t.Field(i).Tag.Get("yaml"), ",inline") && inlineType(t.Field(i).Type) {
			inline = true
		}
	}
	if !inline {
		o["additionalProperties"] = false
	}
	return o
}

func enum(vals []string) map[string]any {
	return map[string]any{"type": "string", "enum": append([]string(nil), vals...)}
}

// durationPattern matches Go durations (time.ParseDuration).
const durationPattern = `^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$`

// of returns the schema of a value of type t. Null is accepted wherever
// the decoder accepts it (pointers, lists, mappings, structs).
func (s *Schema) of(t reflect.Type) map[string]any {
	if sch, ok := s.Types[t]; ok {
		return copyMap(sch)
	}
	if vals, ok := s.Enums[t]; ok {
		return enum(vals)
	}
	switch t {
	case durationType:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string", "pattern": durationPattern},
			map[string]any{"const": 0},
		}}
	case nodeType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		sch := s.of(t.Elem())
		if _, ok := sch["type"]; !ok {
			return sch
		}
		return orNull(sch)
	case reflect.Struct:
		return orNull(s.object(t, reflect.Value{}))
	case reflect.Slice:
		return map[string]any{"type": []any{"array", "null"}, "items": s.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": s.of(t.Elem())}
	case reflect.String:
		// Any scalar: the decoder takes a number's or a boolean's text.
		return map[string]any{"type": []any{"string", "number", "boolean"}}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{}
	}
	panic("decode: no schema for type " + t.String())
}

// orNull makes sch (with a single "type") accept null too.
func orNull(sch map[string]any) map[string]any {
	if t, ok := sch["type"].(string); ok {
		sch["type"] = []any{t, "null"}
	}
	return sch
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// jsonDefault returns a field's default as a JSON value, when it has one.
func jsonDefault(v reflect.Value) (any, bool) {
	if v.IsZero() {
		return nil, false
	}
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String(), true
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			out := make([]any, v.Len())
			for i := range out {
				out[i] = v.Index(i).String()
			}
			return out, true
		}
	}
	return nil, false
}
