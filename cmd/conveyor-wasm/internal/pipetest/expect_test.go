package pipetest

import (
	"strings"
	"testing"
)

func TestIsSubset(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		want, got string
		ok        bool
	}{
		{"equal scalars", `1`, `1.0`, true},
		{"object subset", `{"a":1}`, `{"a":1,"b":2}`, true},
		{"nested", `{"a":{"b":[1,{"c":2}]}}`, `{"a":{"b":[1,{"c":2,"d":3}],"e":1}}`, true},
		{"missing key", `{"z":1}`, `{"a":1}`, false},
		{"array length differs", `[1]`, `[1,2]`, false},
		{"type differs", `{"a":"1"}`, `{"a":1}`, false},
		{"null is a value", `{"a":null}`, `{}`, false},
		{"text payloads", `"x"`, `"x"`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := isSubset(canonical([]byte(c.want)), canonical([]byte(c.got))); got != c.ok {
				t.Fatalf("isSubset(%s, %s) = %v", c.want, c.got, got)
			}
		})
	}
}

func TestDiffLines(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		want, got []string
		ordered   bool
		diff      string
	}{
		{"equal", []string{"a", "b"}, []string{"a", "b"}, true, ""},
		{"any order equal", []string{"a", "b"}, []string{"b", "a"}, false, ""},
		{"any order differs", []string{"a", "b", "b"}, []string{"b", "c", "a"}, false, "- b|+ c|  (2 more records as wanted)"},
		{"in order swapped", []string{"a", "b"}, []string{"b", "a"}, true, "- a|  b|+ a"},
		{"in order missing", []string{"a", "b", "c"}, []string{"a", "c"}, true, "  a|- b|  c"},
		{"none got", []string{"a"}, nil, false, "- a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := diffLines(c.want, c.got, c.ordered)
			var lines []string
			for _, l := range strings.Split(d, "\n") {
				lines = append(lines, strings.TrimPrefix(l, "    "))
			}
			if got := strings.Join(lines, "|"); d != "" && got != c.diff || d == "" && c.diff != "" {
				t.Fatalf("diff %q, want %q", got, c.diff)
			}
		})
	}
}

func TestCheckDeadLetters(t *testing.T) {
	t.Parallel()
	dl := func(reason, stage string) deadLetter {
		return deadLetter{Reason: reason, Stage: stage, Record: []byte(`{"payload":{"n":1}}`)}
	}
	one := 1
	got := []deadLetter{dl("malformed JSON: x", "in"), dl("no such key: n", "f"), dl("no such key: m", "f")}
	if f := checkDeadLetters([]DeadLetterExpect{{ReasonContains: "malformed"}, {Stage: "f"}}, got); len(f) != 0 {
		t.Fatalf("failures %q", f)
	}
	f := checkDeadLetters([]DeadLetterExpect{{ReasonContains: "no such key", Count: &one}}, got)
	if len(f) != 2 || !strings.Contains(f[0], "2 match") || !strings.Contains(f[1], "1 unexpected") {
		t.Fatalf("failures %q", f)
	}
	if f := checkDeadLetters(nil, nil); len(f) != 0 {
		t.Fatalf("failures %q", f)
	}
	if f := checkDeadLetters(nil, got[:1]); len(f) != 1 || !strings.Contains(f[0], "malformed JSON") {
		t.Fatalf("no expectation, one dead letter: %q", f)
	}
}
