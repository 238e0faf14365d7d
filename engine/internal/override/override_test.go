package override

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const pipeline = `id: p
settings:
sources:
  - name: in
    type: file
    path: a.jsonl
stages:
  - id: keep
    type: filter
edges:
  - from: in
    to: keep
`

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		set  string
		path []string // where to read the result
		want any
	}{
		{"settings.batch_size=10", []string{"settings", "batch_size"}, 10},
		{"settings.batch_size='10'", []string{"settings", "batch_size"}, "10"},
		{"sources.in.path=b.jsonl", []string{"sources", "0", "path"}, "b.jsonl"},
		{"sources.0.path=c.jsonl", []string{"sources", "0", "path"}, "c.jsonl"},
		{"stages.keep.condition=key == \"x\"", []string{"stages", "0", "condition"}, `key == "x"`},
		{"edges.0.to=other", []string{"edges", "0", "to"}, "other"},
		{"id=", []string{"id"}, nil},
		{"sources.in.tags=[a, b]", []string{"sources", "0", "tags"}, []any{"a", "b"}},
		{"settings.new.deep=true", []string{"settings", "new", "deep"}, true},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(pipeline), &doc); err != nil {
			t.Fatal(err)
		}
		if err := Apply(&doc, tc.set, 7); err != nil {
			t.Errorf("Apply(%q): %v", tc.set, err)
			continue
		}
		var x any
		if err := doc.Decode(&x); err != nil {
			t.Fatal(err)
		}
		for _, k := range tc.path {
			switch v := x.(type) {
			case map[string]any:
				x = v[k]
			case []any:
				x = v[0]
			}
		}
		if !equal(x, tc.want) {
			t.Errorf("Apply(%q): %#v, want %#v", tc.set, x, tc.want)
		}
	}
}

func equal(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestApply_Positions(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(pipeline), &doc); err != nil {
		t.Fatal(err)
	}
	if err := Apply(&doc, "settings.batchsize=x", 7); err != nil {
		t.Fatal(err)
	}
	m := doc.Content[0].Content[3] // settings' value
	k, v := m.Content[0], m.Content[1]
	if k.Value != "batchsize" || k.Line != 7 || k.Column != 10 || v.Line != 7 || v.Column != 20 {
		t.Errorf("key %q at %d:%d, value at %d:%d; want 7:10 and 7:20", k.Value, k.Line, k.Column, v.Line, v.Column)
	}
}

func TestApply_Errors(t *testing.T) {
	for _, tc := range []struct {
		set  string
		col  int
		want string
	}{
		{"no-equals", 1, "expected path=value"},
		{"=x", 1, "expected path=value"},
		{"sources.nope.path=x", 9, `sources has no element named "nope"`},
		{"sources.3.path=x", 9, `"3" is not an index below 1`},
		{"id.x=1", 4, `id is a scalar`},
		{"settings..x=1", 10, "empty key"},
		{"id=[unclosed", 4, "invalid YAML value"},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(pipeline), &doc); err != nil {
			t.Fatal(err)
		}
		err := Apply(&doc, tc.set, 1)
		var e *Error
		if !errors.As(err, &e) || e.Col != tc.col || !strings.Contains(e.Msg, tc.want) {
			t.Errorf("Apply(%q) = %v, want col %d and %q", tc.set, err, tc.col, tc.want)
		}
	}
}
