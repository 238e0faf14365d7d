package celval

import (
	"reflect"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// Metadata is a record's metadata seen as a CEL map(string, string). It
// points at the record's slice, so it costs no allocation to create and
// reflects the metadata at the time of each lookup.
type Metadata struct{ m *record.Metadata }

// NewMetadata returns m as a CEL map.
func NewMetadata(m *record.Metadata) Metadata { return Metadata{m: m} }

var _ traits.Mapper = Metadata{}

// FindStringKey is the interpreter's fast path for constant keys
// (record.metadata["type"]): it avoids boxing the key.
func (m Metadata) FindStringKey(key string) (any, bool) {
	v, ok := m.m.Get(key)
	if !ok {
		return nil, false
	}
	return types.String(v), true
}

// Find implements traits.Mapper.
func (m Metadata) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	v, found := m.m.Get(string(k))
	if !found {
		return nil, false
	}
	return types.String(v), true
}

// Get implements traits.Indexer.
func (m Metadata) Get(key ref.Val) ref.Val {
	if v, ok := m.Find(key); ok {
		return v
	}
	return types.NewErr("no such key: %v", key)
}

// Contains implements traits.Container: whether key is present.
func (m Metadata) Contains(key ref.Val) ref.Val {
	_, ok := m.Find(key)
	return types.Bool(ok)
}

// Size implements traits.Sizer.
func (m Metadata) Size() ref.Val { return types.Int(len(*m.m)) }

// Iterator implements traits.Iterable: it ranges over the keys in order.
func (m Metadata) Iterator() traits.Iterator {
	keys := make([]string, len(*m.m))
	for i, kv := range *m.m {
		keys[i] = kv.Key
	}
	return &keyIterator{keys: keys}
}

func (m Metadata) materialize() ref.Val {
	return types.NewStringStringMap(types.DefaultTypeAdapter, m.m.Map())
}

// ConvertToNative implements ref.Val.
func (m Metadata) ConvertToNative(t reflect.Type) (any, error) {
	return m.materialize().ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (m Metadata) ConvertToType(t ref.Type) ref.Val { return convertTo(m, types.MapType, "map", t) }

// Equal implements ref.Val.
func (m Metadata) Equal(other ref.Val) ref.Val { return m.materialize().Equal(other) }

// Type implements ref.Val.
func (m Metadata) Type() ref.Type { return types.MapType }

// Value implements ref.Val: a map[string]string.
func (m Metadata) Value() any { return m.m.Map() }
