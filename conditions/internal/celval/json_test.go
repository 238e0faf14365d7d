package celval

import (
	"reflect"
	"testing"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"github.com/valyala/fastjson"
)

func parse(t *testing.T, s string) *fastjson.Value {
	t.Helper()
	v, err := fastjson.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJSON_Leaves(t *testing.T) {
	tests := []struct {
		json string
		want ref.Val
	}{
		{`"a\"b"`, types.String(`a"b`)},
		{`42`, types.Int(42)},
		{`-7`, types.Int(-7)},
		{`0`, types.Int(0)},
		{`123456789012345678`, types.Int(123456789012345678)},
		{`9223372036854775807`, types.Int(9223372036854775807)},
		{`-9223372036854775808`, types.Int(-9223372036854775808)},
		{`9223372036854775808`, types.Double(9223372036854775808)},
		{`4.5`, types.Double(4.5)},
		{`3.0`, types.Double(3)},
		{`1e3`, types.Double(1000)},
		{`-1E-2`, types.Double(-0.01)},
		{`true`, types.True},
		{`false`, types.False},
		{`null`, types.NullValue},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			got := JSON(parse(t, tt.json))
			if got.Type() != tt.want.Type() || got.Equal(tt.want) != types.True {
				t.Fatalf("JSON(%s) = %v (%s), want %v (%s)", tt.json, got, got.Type(), tt.want, tt.want.Type())
			}
		})
	}
}

func TestObject_Mapper(t *testing.T) {
	m := JSON(parse(t, `{"a":1,"b":{"c":"x"},"d":[1,"y"]}`)).(traits.Mapper)
	if m.Size() != types.Int(3) || m.Type() != types.MapType {
		t.Fatalf("Size = %v, Type = %v", m.Size(), m.Type())
	}
	if v, ok := m.Find(types.String("a")); !ok || v != types.Int(1) {
		t.Fatalf("Find(a) = %v, %v", v, ok)
	}
	if _, ok := m.Find(types.Int(1)); ok {
		t.Fatal("Find(1) found a non-string key")
	}
	if v := m.Get(types.String("zz")); !types.IsError(v) || v.(*types.Err).Error() != "no such key: zz" {
		t.Fatalf("Get(zz) = %v", v)
	}
	if m.Contains(types.String("b")) != types.True || m.Contains(types.String("zz")) != types.False {
		t.Fatal("Contains")
	}
	v, ok := m.(interface{ FindStringKey(string) (any, bool) }).FindStringKey("b")
	if !ok {
		t.Fatal("FindStringKey(b) not found")
	}
	if inner := v.(traits.Mapper).Get(types.String("c")); inner != types.String("x") {
		t.Fatalf("b.c = %v", inner)
	}
	var keys []string
	for it := m.Iterator(); it.HasNext() == types.True; {
		keys = append(keys, string(it.Next().(types.String)))
	}
	if !reflect.DeepEqual(keys, []string{"a", "b", "d"}) {
		t.Fatalf("keys = %v", keys)
	}
	want := map[string]any{"a": int64(1), "b": map[string]any{"c": "x"}, "d": []any{int64(1), "y"}}
	if !reflect.DeepEqual(m.Value(), want) {
		t.Fatalf("Value() = %#v", m.Value())
	}
	nat, err := m.ConvertToNative(reflect.TypeFor[map[string]any]())
	if err != nil || !reflect.DeepEqual(nat, want) {
		t.Fatalf("ConvertToNative = %#v, %v", nat, err)
	}
	if m.ConvertToType(types.TypeType) != types.MapType || m.ConvertToType(types.MapType) != m {
		t.Fatal("ConvertToType")
	}
	if !types.IsError(m.ConvertToType(types.StringType)) {
		t.Fatal("ConvertToType(string) is not an error")
	}
	same := types.DefaultTypeAdapter.NativeToValue(want)
	if m.Equal(same) != types.True || same.Equal(m) != types.True {
		t.Fatal("Equal to the same map is not true")
	}
}

func TestArray_Lister(t *testing.T) {
	l := JSON(parse(t, `[1,"a",{"k":true},2.5]`)).(traits.Lister)
	if l.Size() != types.Int(4) || l.Type() != types.ListType {
		t.Fatal("Size/Type")
	}
	tests := []struct {
		idx  ref.Val
		want ref.Val
	}{
		{types.Int(0), types.Int(1)},
		{types.Uint(1), types.String("a")},
		{types.Double(3), types.Double(2.5)},
	}
	for _, tt := range tests {
		if got := l.Get(tt.idx); got.Equal(tt.want) != types.True {
			t.Errorf("Get(%v) = %v, want %v", tt.idx, got, tt.want)
		}
	}
	for _, bad := range []ref.Val{types.Int(4), types.Int(-1), types.Double(0.5), types.String("0")} {
		if !types.IsError(l.Get(bad)) {
			t.Errorf("Get(%v) is not an error", bad)
		}
	}
	if l.Contains(types.String("a")) != types.True || l.Contains(types.Int(1)) != types.True || l.Contains(types.Double(1)) != types.True {
		t.Fatal("Contains of present elements")
	}
	if l.Contains(types.String("b")) != types.False {
		t.Fatal("Contains(b)")
	}
	n := 0
	for it := l.Iterator(); it.HasNext() == types.True; it.Next() {
		n++
	}
	if n != 4 {
		t.Fatalf("iterated %d elements", n)
	}
	sum := l.Add(types.NewDynamicList(types.DefaultTypeAdapter, []any{"z"}))
	if sum.(traits.Sizer).Size() != types.Int(5) {
		t.Fatalf("Add = %v", sum)
	}
	if !reflect.DeepEqual(l.Value(), []any{int64(1), "a", map[string]any{"k": true}, 2.5}) {
		t.Fatalf("Value() = %#v", l.Value())
	}
	if l.ConvertToType(types.TypeType) != types.ListType || l.ConvertToType(types.ListType) != l {
		t.Fatal("ConvertToType")
	}
	if l.Equal(types.DefaultTypeAdapter.NativeToValue([]any{1, "a", map[string]any{"k": true}, 2.5})) != types.True {
		t.Fatal("Equal to the same list")
	}
}

func TestJSON_NoAllocForContainers(t *testing.T) {
	v := parse(t, `{"a":{"b":[1]}}`)
	allocs := testing.AllocsPerRun(100, func() {
		o := JSON(v).(Object)
		inner, _ := o.FindStringKey("a")
		_ = inner.(Object).Get(types.String("b"))
	})
	if allocs != 0 {
		t.Fatalf("selecting through objects allocates %v times", allocs)
	}
}
