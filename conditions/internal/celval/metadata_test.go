package celval

import (
	"reflect"
	"testing"

	"cel.dev/cel-go/common/types"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func TestMetadata_Mapper(t *testing.T) {
	md := record.Metadata{{Key: "type", Value: "user_event"}, {Key: "id", Value: "42"}}
	m := NewMetadata(&md)
	if m.Size() != types.Int(2) || m.Type() != types.MapType {
		t.Fatal("Size/Type")
	}
	if v, ok := m.Find(types.String("type")); !ok || v != types.String("user_event") {
		t.Fatalf("Find(type) = %v, %v", v, ok)
	}
	if _, ok := m.Find(types.Int(1)); ok {
		t.Fatal("Find(1) found something")
	}
	if v, ok := m.FindStringKey("id"); !ok || v != types.String("42") {
		t.Fatalf("FindStringKey(id) = %v, %v", v, ok)
	}
	if _, ok := m.FindStringKey("nope"); ok {
		t.Fatal("FindStringKey(nope) found something")
	}
	if v := m.Get(types.String("nope")); !types.IsError(v) {
		t.Fatalf("Get(nope) = %v", v)
	}
	if m.Contains(types.String("id")) != types.True || m.Contains(types.String("x")) != types.False {
		t.Fatal("Contains")
	}
	var keys []string
	for it := m.Iterator(); it.HasNext() == types.True; {
		keys = append(keys, string(it.Next().(types.String)))
	}
	if !reflect.DeepEqual(keys, []string{"type", "id"}) {
		t.Fatalf("keys = %v", keys)
	}
	want := map[string]string{"type": "user_event", "id": "42"}
	if !reflect.DeepEqual(m.Value(), want) {
		t.Fatalf("Value() = %v", m.Value())
	}
	if nat, err := m.ConvertToNative(reflect.TypeFor[map[string]string]()); err != nil || !reflect.DeepEqual(nat, want) {
		t.Fatalf("ConvertToNative = %v, %v", nat, err)
	}
	if m.Equal(types.NewStringStringMap(types.DefaultTypeAdapter, want)) != types.True {
		t.Fatal("Equal")
	}
	if m.ConvertToType(types.TypeType) != types.MapType || !types.IsError(m.ConvertToType(types.IntType)) {
		t.Fatal("ConvertToType")
	}
	// Changes to the record's metadata are visible.
	md.Set("type", "other")
	if v, _ := m.Find(types.String("type")); v != types.String("other") {
		t.Fatalf("after Set: %v", v)
	}
}
