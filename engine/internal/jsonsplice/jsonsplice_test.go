package jsonsplice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/buger/jsonparser"
	"github.com/valyala/fastjson"
)

// setCases are engine/lookup_test.go's TestAppendSet cases, where the
// splicer came from, and a few more.
var setCases = []struct {
	doc, path, val, want, err string
}{
	{`{}`, "a", `1`, `{"a":1}`, ""},
	{` { } `, "a", `1`, ` {"a":1 } `, ""},
	{`{"a":1}`, "b", `2`, `{"a":1,"b":2}`, ""},
	{`{"a" : 1 , "b":[1,{"b":2}] }`, "b", `"x"`, `{"a" : 1 , "b":"x" }`, ""},
	{`{"a":"}\"","b":1}`, "b", `null`, `{"a":"}\"","b":null}`, ""},
	{`{"x\u0041":1}`, "xA", `2`, `{"x\u0041":2}`, ""},
	{`{"a":1,"a":2}`, "a", `3`, `{"a":3,"a":2}`, ""},
	{`{"a":{"b":{}}}`, "a.b.c", `true`, `{"a":{"b":{"c":true}}}`, ""},
	{`{"a":{"z":0}}`, "a.b.c", `true`, `{"a":{"z":0,"b":{"c":true}}}`, ""},
	{`{"q":0}`, "a.b.c", `[]`, `{"q":0,"a":{"b":{"c":[]}}}`, ""},
	{`{"a":[1]}`, "a.b", `1`, "", `"a" holds a value that is not an object`},
	{`{"a":{"b":5}}`, "a.b.c", `1`, "", `"a.b" holds a value that is not an object`},
	{`[1]`, "a", `1`, "", `not an object`},
	{`{"a":1`, "b", `1`, "", `unterminated object`},
	{`{"we\"ird":1}`, `we"ird`, `2`, `{"we\"ird":2}`, ""},
	{`{}`, `we"ird`, `2`, `{"we\"ird":2}`, ""},
	// More: nesting, whitespace, values of every kind on the way.
	{"{\n \"a\": {\"b\": 1}\n}\n", "a.b", `{"x":[1,2]}`, "{\n \"a\": {\"b\": {\"x\":[1,2]}}\n}\n", ""},
	{`{"s":"a,b}","n":-1.5e3,"t":true,"f":false,"z":null,"l":[{"a":1}],"a":0}`, "a", `1`,
		`{"s":"a,b}","n":-1.5e3,"t":true,"f":false,"z":null,"l":[{"a":1}],"a":1}`, ""},
	{`{"a":{"a":{"a":1}}}`, "a.a.a", `2`, `{"a":{"a":{"a":2}}}`, ""},
	{`{"a":"x"}`, "a.b", `1`, "", `"a" holds a value that is not an object`},
	{`{"a":null}`, "a.b", `1`, "", `"a" holds a value that is not an object`},
	{`{"ctl":1}`, "new\tline", `1`, `{"ctl":1,"new\tline":1}`, ""},
	{`{"é":1}`, "é", `2`, `{"é":2}`, ""},
	{``, "a", `1`, "", `not an object`},
	{`{"a" 1}`, "a", `1`, "", `expected ':' at offset 5`},
	{`{1:2}`, "a", `1`, "", `unexpected '1' at offset 1`},
	{`{"a":`, "a", `1`, "", `missing value at offset 5`},
	{`{"a`, "a", `1`, "", `unterminated string`},
}

func TestPath_AppendSet_Cases(t *testing.T) {
	for _, tt := range setCases {
		p := MustParsePath(tt.path)
		got, err := p.AppendSet([]byte("prefix:"), []byte(tt.doc), []byte(tt.val))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || string(got) != "prefix:" {
				t.Errorf("AppendSet(%s, %s) = %q, %v; want error %q", tt.doc, tt.path, got, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != "prefix:"+tt.want {
			t.Errorf("AppendSet(%s, %s, %s) = %s, %v; want prefix:%s", tt.doc, tt.path, tt.val, got, err, tt.want)
		}
	}
}

func TestPath_AppendSet_ErrorTypes(t *testing.T) {
	tests := []struct {
		doc, path string
		notObject string // NotObjectError.Path; "-" for a SyntaxError
		offset    int
	}{
		{`[1]`, "a", "", 0},
		{` "x"`, "a", "", 0},
		{`{"a":{"b":[]}}`, "a.b.c", "a.b", 0},
		{`{"a":1`, "b", "-", 6},
		{`{"a":1,"b"}`, "c", "-", 10},
	}
	for _, tt := range tests {
		_, err := MustParsePath(tt.path).AppendSet(nil, []byte(tt.doc), []byte(`1`))
		var ne *NotObjectError
		var se *SyntaxError
		switch {
		case tt.notObject == "-":
			if !errors.As(err, &se) || se.Offset != tt.offset {
				t.Errorf("AppendSet(%s, %s): err = %#v, want a SyntaxError at %d", tt.doc, tt.path, err, tt.offset)
			}
		case !errors.As(err, &ne) || ne.Path != tt.notObject:
			t.Errorf("AppendSet(%s, %s): err = %#v, want NotObjectError{%q}", tt.doc, tt.path, err, tt.notObject)
		}
	}
}

func TestParsePath_Errors(t *testing.T) {
	for _, path := range []string{"", ".", "a.", ".a", "a..b", "a.\xff"} {
		if _, err := ParsePath(path); err == nil {
			t.Errorf("ParsePath(%q): no error", path)
		}
	}
	p, err := ParsePath("a.b.c")
	if err != nil || p.String() != "a.b.c" || strings.Join(p.Segments(), "|") != "a|b|c" {
		t.Fatalf("ParsePath(a.b.c) = %v, %v", p, err)
	}
}

func TestPath_AppendNew_SameJSONAsAppendSet(t *testing.T) {
	for _, tt := range setCases {
		if tt.err != "" {
			continue
		}
		v, err := fastjson.Parse(tt.doc)
		if err != nil {
			t.Fatal(err)
		}
		p := MustParsePath(tt.path)
		o := v.GetObject()
		if o.Get(p.Segments()[0]) != nil || strings.Contains(tt.doc, `\`) {
			continue // AppendNew is for a missing first member
		}
		got := p.AppendNew(nil, []byte(tt.doc), o.Len() == 0, []byte(tt.val))
		if compact(t, got) != compact(t, []byte(tt.want)) {
			t.Errorf("AppendNew(%s, %s, %s) = %s; want the JSON of %s", tt.doc, tt.path, tt.val, got, tt.want)
		}
	}
}

func TestPath_Overhead_NoAllocation(t *testing.T) {
	doc, val := []byte(`{"id":1,"q":{"r":2}}`), []byte(`{"name":"x"}`)
	for _, path := range []string{"a", "q.r", "q.s.t.u", `we"ird.x`, "é.ü"} {
		p := MustParsePath(path)
		dst := make([]byte, 0, len(doc)+len(val)+p.Overhead())
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := p.AppendSet(dst, doc, val); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations with Overhead() spare bytes", path, allocs)
		}
	}
}

func compact(t testing.TB, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return buf.String()
}

// FuzzPath_AppendSet checks, for any document and path: no panic; on valid
// JSON input, valid JSON output (encoding/json.Valid) or a NotObjectError;
// the value at the path (as the engine's parser reads it); every other
// top-level member unchanged; setting twice is setting once; and the same
// bytes as the splicer engine/lookup.go had.
func FuzzPath_AppendSet(f *testing.F) {
	for _, tt := range setCases {
		f.Add(tt.doc, tt.path)
	}
	for _, s := range []string{`{}`, `{"a":1}`, ` {"a" : {"b": [1, "]}"]}, "c": null } `, `{"a":{"b":{}}}`, `{"\u0061":"x"}`, `{"a":1,"a":2}`} {
		f.Add(s, "a.b")
		f.Add(s, "a")
		f.Add(s, "c")
	}
	val := []byte(`{"set":true}`)
	f.Fuzz(func(t *testing.T, doc, path string) {
		p, err := ParsePath(path)
		if err != nil {
			return
		}
		got, err := p.AppendSet(nil, []byte(doc), val)
		want, refErr := refAppendSet(nil, []byte(doc), p.Segments(), val)
		if (err == nil) != (refErr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("AppendSet(%q, %q) = %q, %v; the old splicer: %q, %v", doc, path, got, err, want, refErr)
		}
		if !json.Valid([]byte(doc)) {
			return
		}
		if err != nil {
			var ne *NotObjectError
			if !errors.As(err, &ne) {
				t.Fatalf("AppendSet(%q, %q): %v on valid JSON", doc, path, err)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("AppendSet(%q, %q) = %q: not JSON", doc, path, got)
		}
		again, err := p.AppendSet(nil, got, val)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("AppendSet twice (%q, %q) = %q, %v; once: %q", doc, path, again, err, got)
		}
		if strings.Contains(doc, `\`) {
			return // escaped names: fastjson's Get and Visit may disagree on duplicates
		}
		var pa, pb fastjson.Parser
		v, err := pa.Parse(doc)
		if err != nil {
			return // fastjson is stricter than encoding/json in places
		}
		w, err := pb.ParseBytes(got)
		if err != nil {
			t.Fatalf("AppendSet(%q, %q) = %q: fastjson: %v", doc, path, got, err)
		}
		if !w.GetBool(append(p.Segments(), "set")...) {
			t.Fatalf("AppendSet(%q, %q) = %q: value not at the path", doc, path, got)
		}
		v.GetObject().Visit(func(k []byte, old *fastjson.Value) {
			if string(k) == p.Segments()[0] {
				return
			}
			if nv := w.Get(string(k)); nv == nil || nv.String() != v.Get(string(k)).String() {
				t.Fatalf("AppendSet(%q, %q) = %q: member %q changed", doc, path, got, k)
			}
		})
	})
}

// The benchmarks store a 40-byte document in a ~90-byte event, as the
// lookup stage does (result_field "profile"; scale.sh's lookup pipeline),
// at a new top-level member, over an existing one, and two levels deep.
var (
	benchDoc = []byte(`{"id":1234567,"user":"u495","amount":603,"country":"IT","type":"buy","ts":1767225600000}`)
	benchVal = []byte(`{"id":"u495","name":"user 495","tier":"basic","since":2019}`)
	benchOld = []byte(`{"id":1234567,"user":"u495","profile":{"id":"u1"},"amount":603,"country":"IT","type":"buy","ts":1767225600000}`)
)

var benchCases = []struct {
	name string
	doc  []byte
	path string
}{
	{"new", benchDoc, "profile"},
	{"replace", benchOld, "profile"},
	{"nested", benchOld, "profile.more.x"},
}

func BenchmarkPath_AppendSet(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			p := MustParsePath(bc.path)
			dst := make([]byte, 0, 512)
			for b.Loop() {
				var err error
				if dst, err = p.AppendSet(dst[:0], bc.doc, benchVal); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPath_AppendNew is the lookup stage's path when it has parsed
// the payload already and the member is new.
func BenchmarkPath_AppendNew(b *testing.B) {
	p := MustParsePath("profile")
	dst := make([]byte, 0, 512)
	for b.Loop() {
		dst = p.AppendNew(dst[:0], benchDoc, false, benchVal)
	}
}

// BenchmarkRefAppendSet is the splicer as engine/lookup.go had it.
func BenchmarkRefAppendSet(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			segs := strings.Split(bc.path, ".")
			dst := make([]byte, 0, 512)
			for b.Loop() {
				var err error
				if dst, err = refAppendSet(dst[:0], bc.doc, segs, benchVal); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJSONParserSet is github.com/buger/jsonparser.Set on the same
// cases; it allocates its result (and copies doc when it inserts).
func BenchmarkJSONParserSet(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			segs := strings.Split(bc.path, ".")
			for b.Loop() {
				if _, err := jsonparser.Set(bc.doc, benchVal, segs...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExamplePath_AppendSet() {
	p, err := ParsePath("user.profile")
	if err != nil {
		panic(err)
	}
	out, err := p.AppendSet(nil, []byte(`{"id":1, "user":{"name":"ann"}}`), []byte(`{"tier":"gold"}`))
	fmt.Println(string(out), err)
	_, err = p.AppendSet(nil, []byte(`{"user":"ann"}`), []byte(`1`))
	fmt.Println(err)
	// Output:
	// {"id":1, "user":{"name":"ann","profile":{"tier":"gold"}}} <nil>
	// "user" holds a value that is not an object
}
