package conditions

import (
	"fmt"
	"reflect"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/celval"
	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/jsonscan"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// valueVars is the activation of value expressions (ValueProgram): the
// record, with record.payload read lazily (scanPayload) where that is
// exact. A mapping such as total = price * qty reads two top-level numbers
// of a ~100-byte payload: scanning for them costs a fraction of the parse.
type valueVars record.Record

func (a *valueVars) ResolveName(name string) (any, bool) {
	r := (*record.Record)(a)
	if name == VarPayload && !r.Parsed() && r.JSONValidated() && isObjectText(r.Payload) {
		return scanPayload{r: r}, true
	}
	return resolve(r, NoWatermark, name)
}

func (a *valueVars) Parent() interpreter.Activation { return nil }

// isObjectText reports whether the (valid JSON) document is an object.
func isObjectText(doc []byte) bool {
	for _, c := range doc {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

// scanPayload is record.payload of a record whose source validated the
// payload, an object, and that nobody has parsed: a top-level member
// holding a string, a number, a bool or null is read from the bytes by
// jsonscan, which converts exactly as the parse does (celval). Anything
// else — an object or an array member, a missing member, a key or a string
// jsonscan cannot decode exactly, any operation on the whole payload —
// parses the payload and asks the parsed object, so results and errors
// are the parse's own.
type scanPayload struct{ r *record.Record }

var _ traits.Mapper = scanPayload{}

// parsed is the payload as the parse sees it.
func (p scanPayload) parsed() ref.Val {
	v, err := p.r.JSON()
	if err != nil {
		return types.WrapErr(fmt.Errorf("record.payload: malformed JSON: %w", err))
	}
	return celval.JSON(v)
}

func (p scanPayload) mapper() (traits.Mapper, ref.Val) {
	v := p.parsed()
	if m, ok := v.(traits.Mapper); ok {
		return m, nil
	}
	return nil, v
}

// FindStringKey is the interpreter's fast path for field selection.
func (p scanPayload) FindStringKey(key string) (any, bool) {
	if !p.r.Parsed() && jsonscan.PathOK([]string{key}) {
		var buf [scanBuf]byte
		switch v := jsonscan.Get(p.r.Payload, []string{key}, buf[:]); v.Kind {
		case jsonscan.String:
			return types.String(strings.Clone(v.Str)), true
		case jsonscan.Int:
			return types.Int(v.Int), true
		case jsonscan.Double:
			return types.Double(v.Float), true
		case jsonscan.Bool:
			return types.Bool(v.Bool), true
		case jsonscan.Null:
			return types.NullValue, true
		}
	}
	m, bad := p.mapper()
	if m == nil {
		return bad, true
	}
	if f, ok := m.(interface{ FindStringKey(string) (any, bool) }); ok {
		return f.FindStringKey(key)
	}
	return m.Find(types.String(key))
}

// Find implements traits.Mapper.
func (p scanPayload) Find(key ref.Val) (ref.Val, bool) {
	if k, ok := key.(types.String); ok {
		v, found := p.FindStringKey(string(k))
		if !found {
			return nil, false
		}
		return v.(ref.Val), true
	}
	m, bad := p.mapper()
	if m == nil {
		return bad, true
	}
	return m.Find(key)
}

// The rest works on the parsed object.

func (p scanPayload) whole() traits.Mapper {
	if m, _ := p.mapper(); m != nil {
		return m
	}
	return nil
}

// Get implements traits.Indexer.
func (p scanPayload) Get(key ref.Val) ref.Val {
	if v, ok := p.Find(key); ok {
		return v
	}
	return types.NewErr("no such key: %v", key)
}

// Contains implements traits.Container.
func (p scanPayload) Contains(key ref.Val) ref.Val {
	if m := p.whole(); m != nil {
		return m.Contains(key)
	}
	return p.parsed()
}

// Size implements traits.Sizer.
func (p scanPayload) Size() ref.Val {
	if m := p.whole(); m != nil {
		return m.Size()
	}
	return p.parsed()
}

// Iterator implements traits.Iterable.
func (p scanPayload) Iterator() traits.Iterator {
	if m := p.whole(); m != nil {
		return m.Iterator()
	}
	return types.NewStringList(types.DefaultTypeAdapter, nil).Iterator()
}

// ConvertToNative implements ref.Val.
func (p scanPayload) ConvertToNative(t reflect.Type) (any, error) {
	return p.parsed().ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (p scanPayload) ConvertToType(t ref.Type) ref.Val { return p.parsed().ConvertToType(t) }

// Equal implements ref.Val.
func (p scanPayload) Equal(other ref.Val) ref.Val { return p.parsed().Equal(other) }

// Type implements ref.Val.
func (p scanPayload) Type() ref.Type { return types.MapType }

// Value implements ref.Val.
func (p scanPayload) Value() any { return p.parsed().Value() }

// JSONValue is the payload for celval.AppendJSON, which writes a parsed
// payload in its member order.
func (p scanPayload) JSONValue() ref.Val { return p.parsed() }
