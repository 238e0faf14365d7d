package jsonsplice

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

var removeCases = []struct {
	doc, path, want string
	removed         bool
	err             string
}{
	{`{"a":1}`, "a", `{}`, true, ""},
	{`{"a":1,"b":2}`, "a", `{"b":2}`, true, ""},
	{`{"a":1,"b":2}`, "b", `{"a":1}`, true, ""},
	{`{"a":1,"b":2,"c":3}`, "b", `{"a":1,"c":3}`, true, ""},
	{` { "a" : 1 , "b" : 2 } `, "a", ` { "b" : 2 } `, true, ""},
	{` { "a" : 1 , "b" : 2 } `, "b", ` { "a" : 1 } `, true, ""},
	{"{\n  \"a\": 1,\n  \"b\": [1, {\"a\": 2}],\n  \"c\": \"}\\\"\"\n}", "b", "{\n  \"a\": 1,\n  \"c\": \"}\\\"\"\n}", true, ""},
	{`{"a":1,"b":2,"a":3}`, "a", `{"b":2}`, true, ""},
	{`{"x\u0041":1,"y":2}`, "xA", `{"y":2}`, true, ""},
	{`{"a":1}`, "b", `{"a":1}`, false, ""},
	{`{}`, "a", `{}`, false, ""},
	{` { } `, "a", ` { } `, false, ""},
	{`{"a":{"b":1,"c":2},"d":3}`, "a.b", `{"a":{"c":2},"d":3}`, true, ""},
	{`{"a":{"b":{"c":1}}}`, "a.b.c", `{"a":{"b":{}}}`, true, ""},
	{`{"a":{"b":1},"a":{"c":2}}`, "a.c", `{"a":{"b":1},"a":{"c":2}}`, false, ""},
	{`{"a":5}`, "a.b", `{"a":5}`, false, ""},
	{`{"a":[{"b":1}]}`, "a.b", `{"a":[{"b":1}]}`, false, ""},
	{`{"q":1}`, "a.b", `{"q":1}`, false, ""},
	{`[1]`, "a", "", false, "not an object"},
	{`"a"`, "a", "", false, "not an object"},
	{``, "a", "", false, "not an object"},
	{`{"a":1`, "a", "", false, "unterminated object"},
	{`{"a" 1}`, "a", "", false, "expected ':' at offset 5"},
	{`{1:2}`, "a", "", false, "unexpected '1' at offset 1"},
	{`{"a":{"b":1`, "a.b", "", false, "unterminated"},
}

func TestPath_AppendRemove_Cases(t *testing.T) {
	for _, tt := range removeCases {
		p := MustParsePath(tt.path)
		got, removed, err := p.AppendRemove([]byte("prefix:"), []byte(tt.doc))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || string(got) != "prefix:" {
				t.Errorf("AppendRemove(%s, %s) = %q, %v; want error %q", tt.doc, tt.path, got, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != "prefix:"+tt.want || removed != tt.removed {
			t.Errorf("AppendRemove(%s, %s) = %q, %v, %v; want %q, %v", tt.doc, tt.path, got, removed, err, tt.want, tt.removed)
		}
	}
}

func TestPath_AppendRemove_ErrorTypes(t *testing.T) {
	_, _, err := MustParsePath("a").AppendRemove(nil, []byte(`[]`))
	var ne *NotObjectError
	if !errors.As(err, &ne) || ne.Path != "" {
		t.Fatalf("err = %#v, want a *NotObjectError for the document", err)
	}
	_, _, err = MustParsePath("a").AppendRemove(nil, []byte(`{"a":"x`))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 5 {
		t.Fatalf("err = %#v, want a *SyntaxError at 5", err)
	}
}

func TestPath_AppendRemove_NoAllocation(t *testing.T) {
	p := MustParsePath("user.b")
	doc := []byte(`{"id":1,"user":{"a":1,"b":2,"c":3},"z":true}`)
	dst := make([]byte, 0, len(doc))
	if n := testing.AllocsPerRun(100, func() { _, _, _ = p.AppendRemove(dst[:0], doc) }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// canonical writes a parsed value in one form (names and strings quoted by
// strconv, members in order, numbers as written), so that two documents
// can be compared whatever fastjson did to them while reading.
func canonical(b []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeObject:
		b = append(b, '{')
		v.GetObject().Visit(func(k []byte, e *fastjson.Value) {
			b = strconv.AppendQuote(b, string(k))
			b = canonical(append(b, ':'), e)
			b = append(b, ',')
		})
		return append(b, '}')
	case fastjson.TypeArray:
		b = append(b, '[')
		for _, e := range v.GetArray() {
			b = append(canonical(b, e), ',')
		}
		return append(b, ']')
	case fastjson.TypeString:
		return strconv.AppendQuote(b, string(v.GetStringBytes()))
	}
	return append(b, v.String()...)
}

// FuzzPath_AppendRemove checks, for any document and path: no panic; on
// valid JSON input, valid JSON output (encoding/json.Valid) or a
// NotObjectError for a document that is not an object; the same document
// as deleting the member from fastjson's tree; removing twice is removing
// once; and removed says whether anything changed.
func FuzzPath_AppendRemove(f *testing.F) {
	for _, tt := range removeCases {
		f.Add(tt.doc, tt.path)
	}
	for _, s := range []string{`{}`, ` {"a" : {"b": [1, "]}"], "c": 2}, "c": null } `, `{"a":1,"a":2,"b":3}`, `{"\u0061":"x","a":1}`} {
		f.Add(s, "a.b")
		f.Add(s, "a")
		f.Add(s, "c")
	}
	f.Fuzz(func(t *testing.T, doc, path string) {
		p, err := ParsePath(path)
		if err != nil {
			return
		}
		got, removed, err := p.AppendRemove(nil, []byte(doc))
		if err == nil && !removed && !bytes.Equal(got, []byte(doc)) {
			t.Fatalf("AppendRemove(%q, %q) = %q: changed but removed is false", doc, path, got)
		}
		if !json.Valid([]byte(doc)) {
			return
		}
		if err != nil {
			var ne *NotObjectError
			if !errors.As(err, &ne) || strings.HasPrefix(strings.TrimSpace(doc), "{") {
				t.Fatalf("AppendRemove(%q, %q): %v on valid JSON", doc, path, err)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("AppendRemove(%q, %q) = %q: not JSON", doc, path, got)
		}
		again, removedAgain, err := p.AppendRemove(nil, got)
		if err != nil || removedAgain || !bytes.Equal(again, got) {
			t.Fatalf("AppendRemove twice (%q, %q) = %q, %v, %v; once: %q", doc, path, again, removedAgain, err, got)
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
			t.Fatalf("AppendRemove(%q, %q) = %q: fastjson: %v", doc, path, got, err)
		}
		segs := p.Segments()
		if o := v.GetObject(segs[:len(segs)-1]...); o != nil {
			for o.Get(segs[len(segs)-1]) != nil {
				o.Del(segs[len(segs)-1])
			}
		}
		if want, have := canonical(nil, v), canonical(nil, w); !bytes.Equal(want, have) {
			t.Fatalf("AppendRemove(%q, %q) = %q\nreads as %s\nwant     %s", doc, path, got, have, want)
		}
	})
}

func BenchmarkPath_AppendRemove(b *testing.B) {
	p := MustParsePath("type")
	dst := make([]byte, 0, len(benchDoc))
	b.SetBytes(int64(len(benchDoc)))
	for b.Loop() {
		dst, _, _ = p.AppendRemove(dst[:0], benchDoc)
	}
}
