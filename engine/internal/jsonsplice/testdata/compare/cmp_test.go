package jsonsplice // copied next to jsonsplice.go in a scratch module: see ../../README.md

import (
	"fmt"
	"strings"
	"testing"

	"github.com/buger/jsonparser"
	"github.com/tidwall/sjson"
)

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

func BenchmarkSplice(b *testing.B) {
	for _, bc := range benchCases {
		p := MustParsePath(bc.path)
		segs := strings.Split(bc.path, ".")
		b.Run("jsonsplice/"+bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 512)
			for b.Loop() {
				dst, _ = p.AppendSet(dst[:0], bc.doc, benchVal)
			}
		})
		b.Run("jsonsplice-alloc/"+bc.name, func(b *testing.B) {
			for b.Loop() {
				p.AppendSet(nil, bc.doc, benchVal)
			}
		})
		b.Run("jsonparser/"+bc.name, func(b *testing.B) {
			for b.Loop() {
				jsonparser.Set(bc.doc, benchVal, segs...)
			}
		})
		b.Run("sjson/"+bc.name, func(b *testing.B) {
			for b.Loop() {
				sjson.SetRawBytes(bc.doc, bc.path, benchVal)
			}
		})
		b.Run("sjson-inplace/"+bc.name, func(b *testing.B) {
			buf := make([]byte, len(bc.doc), 512)
			for b.Loop() {
				buf = append(buf[:0], bc.doc...)
				sjson.SetRawBytesOptions(buf, bc.path, benchVal, &sjson.Options{ReplaceInPlace: true})
			}
		})
	}
}

func TestCompare(t *testing.T) {
	cases := []struct{ doc, path string }{
		{` { } `, "a"}, {`{"a":1,"a":2}`, "a"}, {`{"x\u0041":1}`, "xA"}, {`{"a":[1]}`, "a.b"},
		{`{"a":{"b":5}}`, "a.b.c"}, {`{"a" : 1 , "b":[1,{"b":2}] }`, "b"}, {`{}`, "a.b.c"},
		{`{"we\"ird":1}`, `we"ird`}, {`{"a.b":1}`, "a.b"}, {`{}`, "a*"}, {`{"a":{}}`, "a.0"}, {`{"a":[1,2]}`, "a.1"},
	}
	for _, c := range cases {
		val := []byte(`true`)
		mine, err1 := MustParsePath(c.path).AppendSet(nil, []byte(c.doc), val)
		jp, err2 := jsonparser.Set([]byte(c.doc), val, strings.Split(c.path, ".")...)
		sj, err3 := sjson.SetRawBytes([]byte(c.doc), c.path, val)
		fmt.Printf("%-32s %-8s | jsonsplice %-30s %v | jsonparser %-30s %v | sjson %-30s %v\n", c.doc, c.path, mine, err1, jp, err2, sj, err3)
	}
}
