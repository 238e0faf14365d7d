package jsonscan

import (
	"math"
	"strings"
	"testing"

	"cel.dev/cel-go/common/types"
	"github.com/valyala/fastjson"

	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/celval"
)

// checkGet compares Get with the parsed path (fastjson, then celval) for
// path in doc: where Get decides, it must give the same value.
func checkGet(t *testing.T, doc string, path []string) {
	t.Helper()
	root, err := fastjson.Parse(doc)
	if err != nil {
		return // Get is only for well-formed documents
	}
	var buf [16]byte
	got := Get([]byte(doc), path, buf[:])
	want := root.Get(path...)
	if want == nil {
		if got.Kind != Invalid {
			t.Fatalf("Get(%s, %v) = %+v, the parse finds nothing", doc, path, got)
		}
		return
	}
	if got.Kind == Invalid {
		return // the caller falls back: always correct
	}
	wantVal := celval.JSON(want)
	switch got.Kind {
	case String:
		if s, ok := wantVal.(types.String); !ok || string(s) != got.Str {
			t.Fatalf("Get(%s, %v) = string %q, the parse gives %v", doc, path, got.Str, wantVal)
		}
	case Int:
		if i, ok := wantVal.(types.Int); !ok || int64(i) != got.Int {
			t.Fatalf("Get(%s, %v) = int %d, the parse gives %v (%T)", doc, path, got.Int, wantVal, wantVal)
		}
	case Double:
		if d, ok := wantVal.(types.Double); !ok || math.Float64bits(float64(d)) != math.Float64bits(got.Float) {
			t.Fatalf("Get(%s, %v) = double %v, the parse gives %v (%T)", doc, path, got.Float, wantVal, wantVal)
		}
	case Bool:
		if b, ok := wantVal.(types.Bool); !ok || bool(b) != got.Bool {
			t.Fatalf("Get(%s, %v) = bool %v, the parse gives %v", doc, path, got.Bool, wantVal)
		}
	case Null:
		if wantVal != types.NullValue {
			t.Fatalf("Get(%s, %v) = null, the parse gives %v", doc, path, wantVal)
		}
	case Object:
		if want.Type() != fastjson.TypeObject {
			t.Fatalf("Get(%s, %v) = object, the parse gives %v", doc, path, want.Type())
		}
	case Array:
		if want.Type() != fastjson.TypeArray {
			t.Fatalf("Get(%s, %v) = array, the parse gives %v", doc, path, want.Type())
		}
	}
}

var getDocs = []string{
	`{"a":1}`, `{"a":-0}`, `{"a":1e300}`, `{"a":9007199254740993}`, `{"a":9223372036854775808}`, `{"a":1.5e-7}`,
	`{"a":"x"}`, `{"a":"\u0041\n\t\"\\\/"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud800x"}`, `{"a":"` + strings.Repeat("y", 40) + `"}`,
	`{"a":"` + strings.Repeat("y", 40) + `\n"}`, `{"a":"é\u00e9"}`, `{"a":true}`, `{"a":false}`, `{"a":null}`,
	`{"a":{"b":2}}`, `{"a":[1,{"b":3}]}`, `{"b":{"a":1},"a":2}`, `{"b":[{"a":1}],"a":2}`, `{"a":1,"a":2}`,
	`{"\u0061":5}`, `{"a\u0062":6,"ab":7}`, `{ "a" : { "b" : "sp" } }`, `[{"a":1}]`, `"a"`, `{}`, `{"x":"a\"}","a":9}`,
	`{"x":"{\"a\":1}","a":{"b":"\u0000"}}`, `{"":1,"[0]":2,"é":3}`, `{"x":[1,[2,{"a":"]"}]],"a":{"b":[]}}`,
	` { "a" : [ ] , "b" : { } } `, `{"a":"\\"}`, `{"x":"\\","a":1}`,
}

func TestGet_MatchesParse(t *testing.T) {
	for _, doc := range getDocs {
		for _, path := range [][]string{{"a"}, {"a", "b"}, {"b"}, {"ab"}, {"x"}, {""}, {"[0]"}, {"é"}} {
			checkGet(t, doc, path)
		}
	}
}

func TestGet_Decides(t *testing.T) {
	tests := []struct {
		doc  string
		want Value
	}{
		{`{"a":501}`, Value{Kind: Int, Int: 501}},
		{`{"a":-0}`, Value{Kind: Int}},
		{`{"a":500.0}`, Value{Kind: Double, Float: 500}},
		{`{"a":9223372036854775808}`, Value{Kind: Double, Float: 1 << 63}},
		{`{"a":"D\u0045"}`, Value{Kind: String, Str: "DE"}},
		{`{"a":"\ud83d\ude00"}`, Value{}},                      // a surrogate pair: the parse decides
		{`{"a":"` + strings.Repeat("y", 20) + `\n"}`, Value{}}, // longer than the buffer
		{`{"a":null}`, Value{Kind: Null}},
		{`{"b":1}`, Value{}},
	}
	for _, tt := range tests {
		var buf [16]byte
		if got := Get([]byte(tt.doc), []string{"a"}, buf[:]); got != tt.want {
			t.Errorf("Get(%s) = %+v, want %+v", tt.doc, got, tt.want)
		}
	}
}

func TestPathOK(t *testing.T) {
	tests := []struct {
		path []string
		want bool
	}{
		{[]string{"a", "b_c"}, true},
		{nil, false},
		{[]string{"[0]"}, true},
		{[]string{"a", ""}, true},
		{[]string{"é"}, true},
		{[]string{`a"b`}, false},
		{[]string{`a\b`}, false},
		{[]string{"a\n"}, false},
	}
	for _, tt := range tests {
		if got := PathOK(tt.path); got != tt.want {
			t.Errorf("PathOK(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func FuzzGet(f *testing.F) {
	for _, d := range getDocs {
		f.Add(d, "a", "b")
	}
	f.Fuzz(func(t *testing.T, doc, k1, k2 string) {
		for _, path := range [][]string{{k1}, {k1, k2}} {
			if PathOK(path) {
				checkGet(t, doc, path)
			}
		}
	})
}

// checkGetTop compares GetTop with Get, key by key: the one pass must
// give each key exactly what Get gives without a buffer.
func checkGetTop(t *testing.T, doc string, keys []string) {
	t.Helper()
	if fastjson.Validate(doc) != nil {
		return // for well-formed documents only
	}
	out := make([]Value, len(keys))
	GetTop([]byte(doc), keys, out)
	for k, key := range keys {
		if want := Get([]byte(doc), []string{key}, nil); out[k] != want {
			t.Fatalf("GetTop(%s, %q)[%d] = %+v, Get gives %+v", doc, keys, k, out[k], want)
		}
	}
}

func TestGetTop_MatchesGet(t *testing.T) {
	t.Parallel()
	keySets := [][]string{
		{"a"}, {"a", "b"}, {"b", "a"}, {"a", "a"}, {"x", "a", "ab"}, {"zz"}, {"", "[0]", "é", "a"}, {},
	}
	for _, doc := range getDocs {
		for _, keys := range keySets {
			checkGetTop(t, doc, keys)
		}
	}
}

func TestGetTop_Decides(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"id":7,"s":"plain","e":"a\nb","price":1.50,"qty":3,"o":{"price":9},"qty":4}`)
	out := make([]Value, 5)
	GetTop(doc, []string{"qty", "price", "s", "e", "missing"}, out)
	want := []Value{
		{Kind: Int, Int: 3}, // the first of the duplicates, as Get
		{Kind: Double, Float: 1.5},
		{Kind: String, Str: "plain"},
		{}, // an escape: no buffer to decode it in
		{},
	}
	for k := range want {
		if out[k] != want[k] {
			t.Errorf("out[%d] = %+v, want %+v", k, out[k], want[k])
		}
	}
}

func FuzzGetTop(f *testing.F) {
	for _, d := range getDocs {
		f.Add(d, "a", "b")
	}
	f.Fuzz(func(t *testing.T, doc, k1, k2 string) {
		if PathOK([]string{k1, k2}) {
			checkGetTop(t, doc, []string{k1, k2, k1})
		}
	})
}

var benchOrder = []byte(`{"id":12345,"user_id":"u345","sku":"sku-2345","price":145.45,"qty":7,"ts":1767225612345,"pad":"xxxxxxxx"}`)

// BenchmarkGetTop reads price and qty of a ~100-byte order in one pass;
// BenchmarkGet_TwoKeys reads them with two Gets.
func BenchmarkGetTop(b *testing.B) {
	keys := []string{"price", "qty"}
	var out [2]Value
	for b.Loop() {
		GetTop(benchOrder, keys, out[:])
	}
	if out[1].Int != 7 {
		b.Fatal(out)
	}
}

func BenchmarkGet_TwoKeys(b *testing.B) {
	var buf [16]byte
	var p, q Value
	for b.Loop() {
		p = Get(benchOrder, []string{"price"}, buf[:])
		q = Get(benchOrder, []string{"qty"}, buf[:])
	}
	if p.Float != 145.45 || q.Int != 7 {
		b.Fatal(p, q)
	}
}
