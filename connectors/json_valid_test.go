package connectors

import (
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// slowValid is what the file source asked of a line before validLine.
func slowValid(line []byte, maxDepth int) bool {
	return fastjson.ValidateBytes(line) == nil && checkJSONLimits(line, maxDepth) == nil
}

var validLineCases = []struct {
	line string
	fast bool // validLine answers true (else it leaves the line to the slow path)
}{
	{`{}`, true}, {`[]`, true}, {` { } `, true}, {`{"a":1}`, true}, {"\t{\"a\" :\r\n [ 1 , 2.5e-3 , -0 , true , false , null ] }\n", true},
	{`{"id":0,"user":"u495","amount":603,"country":"IT","type":"buy","ts":1767225600000}`, true},
	{`"str"`, true}, {`1`, true}, {`-1.5E+10`, true}, {`null`, true}, {`true`, true}, {`false`, true},
	{`{"a":"\"\\\/\b\f\n\r\t\u00e9\uD83D"}`, true}, {`{"é":"ünï","日本":"語"}`, true}, {`{"a":{"b":[{"c":{}}]}}`, true},
	{`[[[[]]],[[{}]]]`, true}, {`{"":""}`, true}, {`0`, true}, {`0.5`, true},
	// invalid: both say no
	{``, false}, {` `, false}, {`{`, false}, {`}`, false}, {`{"a"}`, false}, {`{"a":}`, false}, {`{"a":1,}`, false}, {`[1,]`, false},
	{`{"a":1]`, false}, {`[1}`, false}, {`{a:1}`, false}, {`{"a":01}`, false}, {`{"a":-}`, false}, {`{"a":1.}`, false},
	{`{"a":.5}`, false}, {`{"a":1e}`, false}, {`{"a":+1}`, false}, {`{"a":tru}`, false}, {`{"a":nul}`, false}, {`{"a":truex}`, false},
	{`{} {}`, false}, {`{}x`, false}, {`{"a":"\x"}`, false}, {`{"a":"\u12"}`, false}, {`{"a":"\u12G4"}`, false},
	{"{\"a\":\"\x01\"}", false}, {"{\"a\x1f\":1}", false}, {`{"a":"`, false}, {`{"a":"\`, false}, {"{\"a\":\"\xff\"}", false},
	{"{\"a\":\"\xc3\"}", false}, {"\xef\xbb\xbf{}", false}, {`{"a" 1}`, false}, {`{,}`, false}, {`[,1]`, false},
	// valid for fastjson, left to it: a control character before an escape
	{"{\"a\":\"\x01\\n\"}", false},
	// deeper than the stack or max_depth: left to the slow path
	{strings.Repeat("[", 70) + strings.Repeat("]", 70), false},
}

func TestValidLine_SameAsSlowPath(t *testing.T) {
	t.Parallel()
	for _, tt := range validLineCases {
		got := validLine([]byte(tt.line), DefaultMaxDepth)
		if got != tt.fast {
			t.Errorf("validLine(%q) = %v, want %v", tt.line, got, tt.fast)
		}
		if got && !slowValid([]byte(tt.line), DefaultMaxDepth) {
			t.Errorf("validLine(%q) = true, the slow path rejects it", tt.line)
		}
	}
}

func TestValidLine_MaxDepth(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line     string
		maxDepth int
		want     bool
	}{
		{`[[1]]`, 2, true}, {`[[1]]`, 1, false}, {`{"a":{"b":[]}}`, 3, true}, {`{"a":{"b":[]}}`, 2, false},
		{`{"a":"[[[["}`, 1, true}, {`[[1]]`, 0, true},
	} {
		if got := validLine([]byte(tt.line), tt.maxDepth); got != tt.want {
			t.Errorf("validLine(%q, %d) = %v, want %v", tt.line, tt.maxDepth, got, tt.want)
		}
		if validLine([]byte(tt.line), tt.maxDepth) && !slowValid([]byte(tt.line), tt.maxDepth) {
			t.Errorf("validLine(%q, %d) = true, the slow path rejects it", tt.line, tt.maxDepth)
		}
	}
}

// FuzzValidLine: validLine never accepts what the slow path rejects, and
// accepts every line the slow path accepts that has no byte below 0x20
// (fastjson lets some through inside strings) and no deep nesting.
func FuzzValidLine(f *testing.F) {
	for _, tt := range validLineCases {
		f.Add(tt.line, 3)
	}
	f.Fuzz(func(t *testing.T, line string, maxDepth int) {
		maxDepth %= 100
		fast, slow := validLine([]byte(line), maxDepth), slowValid([]byte(line), maxDepth)
		if fast && !slow {
			t.Fatalf("validLine(%q, %d) = true, the slow path rejects it", line, maxDepth)
		}
		if slow && !fast && !strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 }) &&
			strings.Count(line, "[")+strings.Count(line, "{") < min(64, max(maxDepth, 0)) {
			t.Fatalf("validLine(%q, %d) = false, the slow path accepts it", line, maxDepth)
		}
	})
}

func BenchmarkValidLine(b *testing.B) {
	line := []byte(`{"id":123456,"user":"u495","amount":603,"country":"IT","type":"buy","ts":1767225600000}`)
	b.Run("validLine", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if !validLine(line, DefaultMaxDepth) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("fastjson+limits", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if !slowValid(line, DefaultMaxDepth) {
				b.Fatal("invalid")
			}
		}
	})
}
