package conditions

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// parseYAML parses doc and returns the condition under the key "when" of
// the first mapping that has one.
func parseYAML(t testing.TB, doc string) (Condition, error) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	n := findKey(&root, "when")
	if n == nil {
		t.Fatal("no when key")
	}
	env := newEnv(t, WithSourceFile("pipeline.yaml", []byte(doc)))
	return ParseNode(env, "pipeline.yaml", n)
}

func findKey(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
	}
	for _, c := range n.Content {
		if f := findKey(c, key); f != nil {
			return f
		}
	}
	return nil
}

func TestParseNode_Conditions(t *testing.T) {
	r := userEvent()
	tests := []struct {
		name string
		doc  string
		want bool
		str  string
	}{
		{"cel string", `when: record.metadata["type"] == "user_event"`, true, `record.metadata["type"] == "user_event"`},
		{"cel key", "when:\n  cel: 'record.payload.user.age > 40'", false, `record.payload.user.age > 40`},
		{"cel block", "when: |\n  record.payload.user.age > 30 &&\n    record.key == \"k\"\n", true, "record.payload.user.age > 30 &&\n  record.key == \"k\"\n"},
		{"seed example", `
when:
  and:
    - metadata_equals: {key: type, value: user_event}
    - metadata_exists: user_id
`, true, `(record.metadata["type"] == "user_event") && ("user_id" in record.metadata)`},
		{"or not", `
when:
  or:
    - not: {metadata_exists: type}
    - payload: {field: user.age, op: ge, value: 36}
`, true, `(!("type" in record.metadata)) || (record.payload.user.age >= 36)`},
		{"payload default op", "when: {payload: {field: user.name, value: Ada}}", true, `record.payload.user.name == "Ada"`},
		{"payload exists", "when: {payload: {field: user.email, op: exists}}", false, `has(record.payload.user.email)`},
		{"payload in", "when: {payload: {field: user.age, op: in, value: [35, 36]}}", true, `record.payload.user.age in [35, 36]`},
		{"metadata value number", "when: {metadata_equals: {key: user_id, value: 42}}", true, `record.metadata["user_id"] == "42"`},
		{"anchor", "a: &c {metadata_exists: type}\nwhen: *c", true, `"type" in record.metadata`},
		{"mixed cel inside and", "when: {and: [{cel: 'record.key == \"k\"'}, 'size(record.metadata) == 2']}", true, `(record.key == "k") && (size(record.metadata) == 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseYAML(t, tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := c.Eval(r); err != nil || got != tt.want {
				t.Fatalf("Eval = %v, %v; want %v", got, err, tt.want)
			}
			if c.String() != tt.str {
				t.Fatalf("String() = %q, want %q", c.String(), tt.str)
			}
			// The CEL rendering of a condition means the same thing.
			p := compileT(t, c.String())
			if got, err := p.Eval(r); err != nil || got != tt.want {
				t.Fatalf("CEL rendering %s: Eval = %v, %v; want %v", c, got, err, tt.want)
			}
		})
	}
}

func TestParseNode_Errors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"bad cel", "when: recrd.key == \"x\"", []string{
			"pipeline.yaml:1:7: undeclared reference to 'recrd.key' (did you mean 'record.key'?)\n | recrd.key == \"x\"\n | ^"}},
		{"bad quoted cel", "when: 'record.key == recrd'", []string{
			"pipeline.yaml:1:22: undeclared reference to 'recrd'\n | record.key == recrd\n | ..............^"}},
		{"bad cel in block", "edges:\n  - when: |\n      record.key == \"a\" &&\n        recrd\n", []string{
			"pipeline.yaml:4:9: undeclared reference to 'recrd'\n |   recrd\n | ..^"}},
		{"not bool", "when: {cel: record.key}", []string{
			"pipeline.yaml:1:13: condition must be bool, got string\n | record.key\n | ^"}},
		{"unknown key", "when: {metadata_equal: {key: a, value: b}}", []string{
			`pipeline.yaml:1:8: unknown condition "metadata_equal": want one of cel, and, or, not, metadata_equals, metadata_exists, payload (did you mean "metadata_equals"?)`}},
		{"two keys", "when: {metadata_exists: a, not: {metadata_exists: b}}", []string{
			`pipeline.yaml:1:28: condition has both "metadata_exists" and "not": want exactly one`}},
		{"empty mapping", "when: {}", []string{
			`pipeline.yaml:1:7: empty condition: want one of cel, and, or, not, metadata_equals, metadata_exists, payload`}},
		{"empty", "when:", []string{
			`pipeline.yaml:1:6: empty condition: want a CEL expression or one of cel, and, or, not, metadata_equals, metadata_exists, payload`}},
		{"list", "when: [a]", []string{
			`pipeline.yaml:1:7: condition must be a CEL expression or a mapping, got a list`}},
		{"and not a list", "when: {and: {metadata_exists: a}}", []string{
			`pipeline.yaml:1:13: and needs a non-empty list of conditions`}},
		{"or empty", "when: {or: []}", []string{
			`pipeline.yaml:1:12: or needs a non-empty list of conditions`}},
		{"metadata_equals missing value", "when:\n  metadata_equals:\n    key: type\n", []string{
			`pipeline.yaml:3:5: metadata_equals: missing field "value"`}},
		{"metadata_equals unknown field", "when:\n  metadata_equals: {key: a, value: b, vlaue: c}\n", []string{
			`pipeline.yaml:2:39: metadata_equals: unknown field "vlaue" (want key, value) (did you mean "value"?)`}},
		{"metadata_exists list", "when: {metadata_exists: [a]}", []string{
			`pipeline.yaml:1:25: metadata_exists needs a metadata key`}},
		{"payload bad op", "when: {payload: {field: a, op: regex, value: 1}}", []string{
			`pipeline.yaml:1:32: payload: unknown op "regex" (want one of eq, ne, lt, le, gt, ge, exists, in)`}},
		{"payload missing value", "when: {payload: {field: a, op: gt}}", []string{
			`pipeline.yaml:1:17: payload: missing field "value" (only op exists takes none)`}},
		{"payload bad value", "when: {payload: {field: a, op: in, value: 3}}", []string{
			`pipeline.yaml:1:43: payload field "a": op in needs a list value, got number`}},
		{"payload bad path", "when: {payload: {field: a..b, value: 3}}", []string{
			`pipeline.yaml:1:25: payload: field "a..b" is not a dot-separated path`}},
		{"payload no field", "when: {payload: {value: 3}}", []string{
			`pipeline.yaml:1:17: payload: missing field "field"`}},
		{"all problems at once", `
when:
  and:
    - metadata_exists: type
    - recrd.key == "x"
    - payload: {field: a, op: regex, value: 1}
    - not: {bogus: 1}
    - or:
        - 'record.key + 1 == 2'
`, []string{
			"pipeline.yaml:5:7: undeclared reference to 'recrd.key' (did you mean 'record.key'?)\n | recrd.key == \"x\"\n | ^",
			`pipeline.yaml:6:31: payload: unknown op "regex" (want one of eq, ne, lt, le, gt, ge, exists, in)`,
			`pipeline.yaml:7:13: unknown condition "bogus": want one of cel, and, or, not, metadata_equals, metadata_exists, payload`,
			"pipeline.yaml:9:23: found no matching overload for '_+_' applied to '(string, int)'\n | record.key + 1 == 2\n | ...........^",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseYAML(t, tt.doc)
			if err == nil {
				t.Fatalf("want errors, got condition %s", c)
			}
			want := strings.Join(tt.want, "\n")
			if err.Error() != want {
				t.Fatalf("errors:\n%s\nwant:\n%s", err, want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T holds no *Error", err)
			}
		})
	}
}

func TestNodeSource(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("a: \"x\"\nb: |\n  y\nc: z\n"), &root); err != nil {
		t.Fatal(err)
	}
	m := root.Content[0]
	tests := []struct {
		n    *yaml.Node
		want Source
	}{
		{m.Content[1], Source{File: "f", Line: 1, Col: 4, Quoted: true}},
		{m.Content[3], Source{File: "f", Line: 2, Col: 4, Block: true}},
		{m.Content[5], Source{File: "f", Line: 4, Col: 4}},
	}
	for _, tt := range tests {
		if got := NodeSource("f", tt.n); got != tt.want {
			t.Errorf("NodeSource(%q) = %+v, want %+v", tt.n.Value, got, tt.want)
		}
	}
}

func TestParseNode_EvaluatesLikeGoAPI(t *testing.T) {
	c, err := parseYAML(t, "when: {payload: {field: user.age, op: lt, value: 40}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, age := range []string{"39", "40", "41.5"} {
		r := record.New("", []byte(`{"user":{"age":`+age+`}}`))
		want := age == "39"
		if got, err := c.Eval(r); err != nil || got != want {
			t.Fatalf("age %s: %v, %v", age, got, err)
		}
	}
}
