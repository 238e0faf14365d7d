package interp

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func env(kv ...string) Lookup {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestExpand(t *testing.T) {
	e := env("A", "x", "EMPTY", "", "N", "10")
	for _, tc := range []struct {
		in, want string
		changed  bool
		problem  string
		offset   int
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "x", changed: true},
		{in: "pre-${A}-post", want: "pre-x-post", changed: true},
		{in: "${A}${N}", want: "x10", changed: true},
		{in: "${MISSING:def}", want: "def", changed: true},
		{in: "${MISSING:}", want: "", changed: true},
		{in: "${MISSING:http://h:1/p}", want: "http://h:1/p", changed: true},
		{in: "${EMPTY:def}", want: "def", changed: true},
		{in: "${EMPTY}", want: "", changed: true},
		{in: "${A:def}", want: "x", changed: true},
		{in: "$${A}", want: "${A}", changed: true},
		{in: "cost: $$${A}", want: "cost: $${A}", changed: true}, // the $ right before ${ escapes it
		{in: "a $${A} b ${A}", want: "a ${A} b x", changed: true},
		{in: "$A and $", want: "$A and $"},
		{in: "ab ${MISSING}", want: "ab ", changed: true, problem: "environment variable MISSING is not set", offset: 3},
		{in: "é ${1X}", want: "é ", changed: true, problem: `invalid variable name "1X"`, offset: 2},
		{in: "${}", want: "", changed: true, problem: `invalid variable name ""`},
		{in: "x ${A", want: "x ${A", changed: true, problem: "unterminated ${", offset: 2},
	} {
		got, changed, ps := Expand(tc.in, e)
		if got != tc.want || changed != tc.changed {
			t.Errorf("Expand(%q) = %q, %v; want %q, %v", tc.in, got, changed, tc.want, tc.changed)
		}
		switch {
		case tc.problem == "" && len(ps) > 0:
			t.Errorf("Expand(%q): unexpected problems %+v", tc.in, ps)
		case tc.problem != "" && (len(ps) != 1 || !strings.Contains(ps[0].Msg, tc.problem) || ps[0].Offset != tc.offset):
			t.Errorf("Expand(%q): problems %+v, want one with %q at %d", tc.in, ps, tc.problem, tc.offset)
		}
	}
}

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestTree_TypesAndPositions(t *testing.T) {
	src := "a: ${N}\n" + // plain: retyped as an int
		"b: \"${N}\"\n" + // quoted: a string
		"c:\n- x\n- \"y ${MISSING}\"\n- ${A}\n" +
		"${A}: ${EMPTY:}\n" + // keys are not expanded; empty plain is null
		"d:\n  e: pre ${MISSING}\n" +
		"f: !!str ${N}\n" +
		"g: |\n  line\n  ${MISSING}\n"
	text := []byte(src)
	n := parse(t, src)
	ps := Tree(n, env("N", "10", "A", "x", "EMPTY", ""), text, nil)
	var got struct {
		A any            `yaml:"a"`
		B any            `yaml:"b"`
		C []any          `yaml:"c"`
		K map[string]any `yaml:",inline"`
		F any            `yaml:"f"`
	}
	if err := n.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.A != 10 || got.B != "10" || got.C[2] != "x" || got.F != "10" {
		t.Errorf("decoded %#v", got)
	}
	if v, ok := got.K["${A}"]; !ok || v != nil {
		t.Errorf("key expanded or empty value not null: %#v", got.K)
	}
	want := []struct{ line, col int }{{5, 6}, {9, 10}, {11, 4}} // a block scalar: at its indicator
	if len(ps) != len(want) {
		t.Fatalf("problems %+v, want %d", ps, len(want))
	}
	for i, w := range want {
		if ps[i].Line != w.line || ps[i].Col != w.col {
			t.Errorf("problem %d at %d:%d, want %d:%d (%s)", i, ps[i].Line, ps[i].Col, w.line, w.col, ps[i].Msg)
		}
	}
}

func TestTree_AliasExpandedOnce(t *testing.T) {
	n := parse(t, "a: &x \"$${A}\"\nb: *x\n")
	if ps := Tree(n, env(), nil, nil); len(ps) != 0 {
		t.Fatal(ps)
	}
	var got map[string]string
	if err := n.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["a"] != "${A}" || got["b"] != "${A}" {
		t.Errorf("got %v (an alias expanded twice would drop the escape)", got)
	}
}

func TestTree_Skip(t *testing.T) {
	n := parse(t, "a: ${MISSING}\nb: [\"${MISSING}\"]\n")
	b := n.Content[0].Content[3]
	ps := Tree(n, env(), nil, func(x *yaml.Node) bool { return x == b })
	if len(ps) != 1 || ps[0].Line != 1 {
		t.Fatalf("problems %+v, want one on line 1", ps)
	}
	if b.Content[0].Value != "${MISSING}" {
		t.Errorf("skipped node expanded: %q", b.Content[0].Value)
	}
}
