// Package decode maps YAML nodes onto Go structs the strict way pipeline
// files need: every unknown key, type mismatch and missing required field is
// reported, all at once, each with the line and column in the user's file.
//
// Struct fields are matched by their `yaml:"name"` tag. Supported field
// types: string, bool, ints, uints, floats, time.Duration (Go syntax, "5s"),
// slices, maps with string keys, nested structs and pointers to them,
// *yaml.Node (kept raw for a later, more specific decoder), Pos (filled
// with the position of the mapping that holds it) and types registered with
// RegisterType, which decode themselves from the node. A field tagged
// `yaml:",inline"` whose type is *yaml.Node or a registered type collects
// the keys no other field claims, as a mapping, for a second decoder (a
// connector's own config) to check. The tag option `required` makes a
// missing key an error. A `doc:"..."` tag documents a field; Fields lists
// them for generated documentation.
//
// The YAML library stays behind this package: a public package keeps a
// node in an unexported field of its own type and registers that type, so
// no exported API outside internal packages mentions yaml.
package decode

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/conveyor-etl/conveyor-wasm/internal/suggest"
)

// Pos is a position in the user's file. A struct field of type Pos with the
// tag `yaml:"-"` receives the position of the mapping being decoded.
type Pos struct {
	File      string
	Line, Col int
}

// String formats the position as file:line:col.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a problem at a position in the user's file.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// At returns the position of n in file.
func At(file string, n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: n.Line, Col: n.Column}
}

// Errorf returns an *Error at n.
func Errorf(file string, n *yaml.Node, format string, args ...any) *Error {
	return &Error{Pos: At(file, n), Msg: fmt.Sprintf(format, args...)}
}

// Decoder decodes nodes of one file, collecting errors.
type Decoder struct {
	File string
	Errs []error
}

// Err returns every collected error joined, or nil.
func (d *Decoder) Err() error { return errors.Join(d.Errs...) }

func (d *Decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.Errs = append(d.Errs, Errorf(d.File, n, format, args...))
}

var (
	nodeType     = reflect.TypeOf((*yaml.Node)(nil))
	posType      = reflect.TypeOf(Pos{})
	durationType = reflect.TypeOf(time.Duration(0))
)

// Resolve follows aliases and unwraps document nodes.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// Decode decodes n into the value pointed to by out.
func (d *Decoder) Decode(n *yaml.Node, out any) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("decode: out must be a non-nil pointer")
	}
	d.value(Resolve(n), v.Elem())
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected node"
}

func (d *Decoder) value(n *yaml.Node, v reflect.Value) {
	if n == nil {
		return
	}
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(n))
		return
	}
	if fn, ok := registered[v.Type()]; ok {
		if err := fn(d.File, n, v); err != nil {
			d.Errs = append(d.Errs, err)
		}
		return
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, "expected a duration like \"5s\", got %s", kindName(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			if i, ierr := strconv.ParseInt(n.Value, 10, 64); ierr == nil && i == 0 {
				v.SetInt(0)
				return
			}
			d.errorf(n, "invalid duration %q (use Go syntax like 500ms, 5s, 1m30s)", n.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem())
	case reflect.Struct:
		d.structValue(n, v)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(Resolve(c), s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(n, "expected a mapping, got %s", kindName(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], Resolve(n.Content[i+1])
			if v.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.errorf(k, "duplicate key %q", k.Value)
				continue
			}
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(val, e)
			v.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, "expected a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := scalar(n, func(s string) (bool, error) { return strconv.ParseBool(s) })
		if !ok {
			d.errorf(n, "expected true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := scalar(n, func(s string) (int64, error) {
			return strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, v.Type().Bits())
		})
		if !ok {
			d.errorf(n, "expected an integer, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, ok := scalar(n, func(s string) (uint64, error) {
			return strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, v.Type().Bits())
		})
		if !ok {
			d.errorf(n, "expected a non-negative integer, got %s", kindName(n))
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, ok := scalar(n, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
		if !ok {
			d.errorf(n, "expected a number, got %s", kindName(n))
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(n, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		panic("decode: unsupported field type " + v.Type().String())
	}
}

func scalar[T any](n *yaml.Node, parse func(string) (T, error)) (T, bool) {
	var zero T
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		return zero, false
	}
	x, err := parse(n.Value)
	if err != nil {
		return zero, false
	}
	return x, true
}

// DecodeFunc decodes n, from file, into v (settable, of the registered
// type). An error, preferably an *Error at n, is collected with the others.
type DecodeFunc func(file string, n *yaml.Node, v reflect.Value) error

// registered holds the types that decode themselves; written by
// RegisterType from init functions only, read-only afterwards.
var registered = map[reflect.Type]DecodeFunc{}

// RegisterType makes the decoder call fn for every value of type t instead
// of decoding it by kind (conditions, for example, keep the node to compile
// it later). Call it from an init function: the registry is not guarded.
// Registering a type twice panics.
func RegisterType(t reflect.Type, fn DecodeFunc) {
	if _, dup := registered[t]; dup {
		panic("decode: type registered twice: " + t.String())
	}
	registered[t] = fn
}

// field describes one decodable struct field.
type field struct {
	name     string
	index    int
	required bool
}

func fields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			continue
		}
		out = append(out, field{name: name, index: i, required: strings.Contains(opts, "required")})
	}
	return out
}

func (d *Decoder) structValue(n *yaml.Node, v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Type == posType && t.Field(i).Tag.Get("yaml") == "-" {
			v.Field(i).Set(reflect.ValueOf(At(d.File, n)))
		}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		n = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "expected a mapping, got %s", kindName(n))
		return
	}
	fs := fields(t)
	rest := -1 // index of an `,inline` field collecting unknown keys
	for i := 0; i < t.NumField(); i++ {
		if strings.HasSuffix(t.Field(i).Tag.Get("yaml"), ",inline") && inlineType(t.Field(i).Type) {
			rest = i
		}
	}
	var restNode *yaml.Node
	if rest >= 0 {
		restNode = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		defer d.value(restNode, v.Field(rest)) // once every unclaimed key is in
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], Resolve(n.Content[i+1])
		if seen[k.Value] {
			d.errorf(k, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		var f *field
		for j := range fs {
			if fs[j].name == k.Value {
				f = &fs[j]
				break
			}
		}
		if f == nil && restNode != nil {
			restNode.Content = append(restNode.Content, k, n.Content[i+1])
			continue
		}
		if f == nil {
			d.errorf(k, "unknown key %q%s", k.Value, suggestKey(k.Value, fs))
			continue
		}
		d.value(val, v.Field(f.index))
	}
	for _, f := range fs {
		if f.required && !seen[f.name] {
			d.errorf(n, "missing required key %q", f.name)
		}
	}
}

// inlineType reports whether a field of type t can collect unclaimed keys.
func inlineType(t reflect.Type) bool {
	_, ok := registered[t]
	return t == nodeType || ok
}

// suggestKey proposes the closest known key, if one is close enough, or lists
// the known keys.
func suggestKey(key string, fs []field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	if best := Closest(key, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known keys: " + strings.Join(names, ", ") + ")"
}

// Closest returns the candidate nearest to word by edit distance when it is
// within 2 edits (ties: the first in candidates), or "".
func Closest(word string, candidates []string) string {
	return suggest.Closest(word, candidates)
}

// FieldDoc documents one configuration field.
type FieldDoc struct {
	Name, Type, Doc, Default string
	Required                 bool
}

// Fields documents the decodable fields of the struct value cfg (whose
// current values are reported as defaults).
func Fields(cfg any) []FieldDoc {
	v := reflect.Indirect(reflect.ValueOf(cfg))
	t := v.Type()
	var out []FieldDoc
	for _, f := range fields(t) {
		sf := t.Field(f.index)
		fd := FieldDoc{Name: f.name, Type: typeName(sf.Type), Doc: sf.Tag.Get("doc"), Required: f.required}
		fv := v.Field(f.index)
		if !fv.IsZero() {
			switch x := fv.Interface().(type) {
			case time.Duration:
				fd.Default = x.String()
			default:
				fd.Default = fmt.Sprint(x)
			}
		}
		out = append(out, fd)
	}
	return out
}

// DocTyper names a self-decoding type in generated docs.
type DocTyper interface{ DocType() string }

var docTyperType = reflect.TypeOf((*DocTyper)(nil)).Elem()

func typeName(t reflect.Type) string {
	if t.Implements(docTyperType) {
		return reflect.Zero(t).Interface().(DocTyper).DocType()
	}
	if reflect.PointerTo(t).Implements(docTyperType) {
		return reflect.New(t).Interface().(DocTyper).DocType()
	}
	switch {
	case t == durationType:
		return "duration"
	case t == nodeType:
		return "any"
	}
	switch t.Kind() {
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Struct:
		return "object"
	case reflect.Interface:
		return "any"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float64, reflect.Float32:
		return "number"
	}
	return t.Kind().String()
}
