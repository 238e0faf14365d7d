package pipetest

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// WriteJSONSchema writes the JSON Schema (draft 2020-12) of test files,
// for editors (`# yaml-language-server: $schema=...`), made from the same
// structs the test files are decoded into, so the two cannot disagree.
func WriteJSONSchema(w io.Writer) error {
	defs := map[string]any{}
	root := schemaOf(reflect.TypeFor[File](), defs)
	s := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://github.com/conveyor-etl/conveyor-wasm/pipeline_test.schema.json",
		"title":       "conveyor-wasm pipeline test file",
		"description": "cases for conveyor-wasm test: records in per source (or steps), expectations per sink and for the dead letters",
		"$ref":        root["$ref"],
		"$defs":       defs,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	nodeType     = reflect.TypeFor[yaml.Node]()
	exprType     = reflect.TypeFor[Expr]()
)

// schemaOf is the schema of values of type t; structs go to defs, by name.
func schemaOf(t reflect.Type, defs map[string]any) map[string]any {
	switch t {
	case durationType:
		return map[string]any{"type": "string", "pattern": `^-?([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`, "description": "a Go duration: 500ms, 10s, 1m30s"}
	case nodeType:
		return map[string]any{"description": "any YAML value (a string is the payload's text)"}
	case exprType:
		return map[string]any{"type": "string", "description": "a CEL expression"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), defs)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs)}
	case reflect.Struct:
		name := t.Name()
		if _, ok := defs[name]; !ok {
			defs[name] = nil // taken: recursion ends here
			props := map[string]any{}
			for i := range t.NumField() {
				f := t.Field(i)
				key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if key == "" || key == "-" || !f.IsExported() {
					continue
				}
				props[key] = schemaOf(f.Type, defs)
			}
			defs[name] = map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	return map[string]any{}
}
