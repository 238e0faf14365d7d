// Package celval adapts conveyor-wasm record data to CEL values without
// copying it up front: a parsed JSON payload (fastjson) and the record's
// metadata are exposed as lazy ref.Val maps and lists whose entries are
// converted only when an expression reads them.
//
// The hot paths (field selection, index, in, size) work directly on the
// underlying data. Rarely used operations (iteration over objects,
// equality of whole objects or lists, conversion to native Go types)
// materialize the value into CEL's generic types and delegate to them.
package celval

import (
	"fmt"
	"math"
	"reflect"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"github.com/valyala/fastjson"
)

// JSON returns v as a CEL value: objects become maps with string keys,
// arrays become lists, strings become strings, numbers become int when
// their literal is an integer that fits int64 and double otherwise, true
// and false become bool and null becomes null.
func JSON(v *fastjson.Value) ref.Val {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return Object{o: o}
	case fastjson.TypeArray:
		return Array{v: v}
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return types.String(b)
	case fastjson.TypeNumber:
		return Number(v)
	case fastjson.TypeTrue:
		return types.True
	case fastjson.TypeFalse:
		return types.False
	default:
		return types.NullValue
	}
}

// Number converts a JSON number: an integer literal (optional minus sign
// and digits only) that fits int64 becomes types.Int; anything else (a
// fraction, an exponent, an integer too large for int64) becomes
// types.Double.
func Number(v *fastjson.Value) ref.Val {
	f, err := v.Float64()
	if err != nil {
		return types.WrapErr(fmt.Errorf("invalid JSON number: %w", err))
	}
	// Only an integral value can have been written as an integer; asking
	// first keeps fractions off Int64's error path, which allocates.
	if f == math.Trunc(f) && f >= -1<<63 && f <= 1<<63 {
		if i, err := v.Int64(); err == nil {
			return types.Int(i)
		}
	}
	return types.Double(f)
}

// Native converts v into plain Go values: map[string]any, []any, string,
// int64, float64, bool and nil, following the same number rule as JSON.
func Native(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		m := make(map[string]any, o.Len())
		o.Visit(func(k []byte, e *fastjson.Value) { m[string(k)] = Native(e) })
		return m
	case fastjson.TypeArray:
		a, _ := v.Array()
		l := make([]any, len(a))
		for i, e := range a {
			l[i] = Native(e)
		}
		return l
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNumber:
		switch n := Number(v).(type) {
		case types.Int:
			return int64(n)
		case types.Double:
			return float64(n)
		}
		f, _ := v.Float64()
		return f
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	default:
		return nil
	}
}

// Object is a JSON object seen as a CEL map(string, dyn).
type Object struct{ o *fastjson.Object }

var _ traits.Mapper = Object{}

// FindStringKey is the interpreter's fast path for field selection
// (record.payload.user): it avoids boxing the key.
func (m Object) FindStringKey(key string) (any, bool) {
	v := m.o.Get(key)
	if v == nil {
		return nil, false
	}
	return JSON(v), true
}

// Find implements traits.Mapper.
func (m Object) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	v := m.o.Get(string(k))
	if v == nil {
		return nil, false
	}
	return JSON(v), true
}

// Get implements traits.Indexer.
func (m Object) Get(key ref.Val) ref.Val {
	if v, ok := m.Find(key); ok {
		return v
	}
	return types.NewErr("no such key: %v", key)
}

// Contains implements traits.Container: whether key is present.
func (m Object) Contains(key ref.Val) ref.Val {
	_, ok := m.Find(key)
	return types.Bool(ok)
}

// Size implements traits.Sizer.
func (m Object) Size() ref.Val { return types.Int(m.o.Len()) }

// Iterator implements traits.Iterable: it ranges over the keys in document
// order.
func (m Object) Iterator() traits.Iterator {
	keys := make([]string, 0, m.o.Len())
	m.o.Visit(func(k []byte, _ *fastjson.Value) { keys = append(keys, string(k)) })
	return &keyIterator{keys: keys}
}

func (m Object) materialize() ref.Val {
	nat := make(map[string]any, m.o.Len())
	m.o.Visit(func(k []byte, e *fastjson.Value) { nat[string(k)] = Native(e) })
	return types.DefaultTypeAdapter.NativeToValue(nat)
}

// ConvertToNative implements ref.Val.
func (m Object) ConvertToNative(t reflect.Type) (any, error) {
	return m.materialize().ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (m Object) ConvertToType(t ref.Type) ref.Val { return convertTo(m, types.MapType, "map", t) }

// Equal implements ref.Val.
func (m Object) Equal(other ref.Val) ref.Val { return m.materialize().Equal(other) }

// Type implements ref.Val.
func (m Object) Type() ref.Type { return types.MapType }

// Value implements ref.Val: a map[string]any.
func (m Object) Value() any {
	nat := make(map[string]any, m.o.Len())
	m.o.Visit(func(k []byte, e *fastjson.Value) { nat[string(k)] = Native(e) })
	return nat
}

// Array is a JSON array seen as a CEL list(dyn).
type Array struct{ v *fastjson.Value }

var _ traits.Lister = Array{}

func (l Array) elems() []*fastjson.Value {
	a, _ := l.v.Array()
	return a
}

// Get implements traits.Indexer.
func (l Array) Get(index ref.Val) ref.Val {
	a := l.elems()
	i, ok := toIndex(index)
	if !ok {
		return types.NewErr("unsupported index type '%s' in list", index.Type())
	}
	if i < 0 || i >= int64(len(a)) {
		return types.NewErr("index out of range: %d", i)
	}
	return JSON(a[i])
}

func toIndex(v ref.Val) (int64, bool) {
	switch n := v.(type) {
	case types.Int:
		return int64(n), true
	case types.Uint:
		return int64(n), true
	case types.Double:
		if i := int64(n); float64(i) == float64(n) {
			return i, true
		}
	}
	return 0, false
}

// Contains implements traits.Container (the in operator).
func (l Array) Contains(v ref.Val) ref.Val {
	for _, e := range l.elems() {
		if JSON(e).Equal(v) == types.True {
			return types.True
		}
	}
	return types.False
}

// Size implements traits.Sizer.
func (l Array) Size() ref.Val { return types.Int(len(l.elems())) }

// Iterator implements traits.Iterable.
func (l Array) Iterator() traits.Iterator { return &arrayIterator{elems: l.elems()} }

// Add implements traits.Adder (list concatenation).
func (l Array) Add(other ref.Val) ref.Val {
	m, ok := l.materialize().(traits.Adder)
	if !ok {
		return types.NoSuchOverloadErr()
	}
	return m.Add(other)
}

func (l Array) materialize() ref.Val {
	return types.DefaultTypeAdapter.NativeToValue(Native(l.v))
}

// ConvertToNative implements ref.Val.
func (l Array) ConvertToNative(t reflect.Type) (any, error) {
	return l.materialize().ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (l Array) ConvertToType(t ref.Type) ref.Val { return convertTo(l, types.ListType, "list", t) }

// Equal implements ref.Val.
func (l Array) Equal(other ref.Val) ref.Val { return l.materialize().Equal(other) }

// Type implements ref.Val.
func (l Array) Type() ref.Type { return types.ListType }

// Value implements ref.Val: a []any.
func (l Array) Value() any { return Native(l.v) }

// iterator is the ref.Val part shared by the iterators; CEL never compares
// or converts iterators, so these methods only satisfy the interface.
type iterator struct{}

func (iterator) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("type conversion on iterators not supported")
}
func (iterator) ConvertToType(ref.Type) ref.Val { return types.NewErr("no such overload") }
func (iterator) Equal(ref.Val) ref.Val          { return types.NewErr("no such overload") }
func (iterator) Type() ref.Type                 { return types.IteratorType }
func (iterator) Value() any                     { return nil }

type keyIterator struct {
	iterator
	keys []string
	i    int
}

func (it *keyIterator) HasNext() ref.Val { return types.Bool(it.i < len(it.keys)) }
func (it *keyIterator) Next() ref.Val {
	if it.i >= len(it.keys) {
		return nil
	}
	k := it.keys[it.i]
	it.i++
	return types.String(k)
}

type arrayIterator struct {
	iterator
	elems []*fastjson.Value
	i     int
}

func (it *arrayIterator) HasNext() ref.Val { return types.Bool(it.i < len(it.elems)) }
func (it *arrayIterator) Next() ref.Val {
	if it.i >= len(it.elems) {
		return nil
	}
	e := it.elems[it.i]
	it.i++
	return JSON(e)
}

// convertTo implements ConvertToType for a lazy container view of the CEL
// type kind: it converts to its own type and to type, nothing else.
func convertTo(self ref.Val, kind *types.Type, name string, t ref.Type) ref.Val {
	switch t {
	case kind:
		return self
	case types.TypeType:
		return kind
	}
	return types.NewErr("type conversion error from %s to '%s'", name, t)
}
