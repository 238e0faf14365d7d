package decode

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

type inner struct {
	At   Pos    `yaml:"-"`
	Name string `yaml:"name,required"`
	N    int    `yaml:"n"`
}

type outer struct {
	ID      string            `yaml:"id,required" doc:"identifier"`
	Every   time.Duration     `yaml:"every"`
	On      bool              `yaml:"on"`
	Ratio   float64           `yaml:"ratio"`
	Items   []inner           `yaml:"items"`
	Labels  map[string]string `yaml:"labels"`
	Raw     *yaml.Node        `yaml:"raw"`
	Nested  *inner            `yaml:"nested"`
	Size    uint32            `yaml:"size"`
	Anyword any               `yaml:"any"`
}

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestDecoder_Decode_Valid(t *testing.T) {
	n := parse(t, `
id: x
every: 1m30s
on: true
ratio: 0.5
items:
  - name: a
    n: 2
labels: {k: v}
raw: {anything: [1, 2]}
nested: {name: b}
size: 1_024
any: [1, "two"]
`)
	d := &Decoder{File: "p.yaml"}
	var o outer
	d.Decode(n, &o)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if o.ID != "x" || o.Every != 90*time.Second || !o.On || o.Ratio != 0.5 || o.Size != 1024 {
		t.Fatalf("scalars: %+v", o)
	}
	if len(o.Items) != 1 || o.Items[0].Name != "a" || o.Items[0].N != 2 || o.Items[0].At.Line != 7 || o.Items[0].At.Col != 5 {
		t.Fatalf("items: %+v", o.Items)
	}
	if o.Labels["k"] != "v" || o.Raw == nil || o.Raw.Kind != yaml.MappingNode || o.Nested.Name != "b" {
		t.Fatalf("labels/raw/nested: %+v", o)
	}
	if l, ok := o.Anyword.([]any); !ok || len(l) != 2 {
		t.Fatalf("any: %#v", o.Anyword)
	}
}

func TestDecoder_Decode_AllErrors(t *testing.T) {
	n := parse(t, `id: x
evry: 5s
on: maybe
items:
  - n: "3"
every: soon
`)
	d := &Decoder{File: "p.yaml"}
	var o outer
	d.Decode(n, &o)
	got := d.Err().Error()
	for _, want := range []string{
		`p.yaml:2:1: unknown key "evry" (did you mean "every"?)`,
		`p.yaml:3:5: expected true or false, got "maybe"`,
		`p.yaml:5:5: missing required key "name"`,
		`p.yaml:5:8: expected an integer, got "3"`,
		`p.yaml:6:8: invalid duration "soon"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(d.Errs) != 5 {
		t.Errorf("got %d errors, want 5:\n%s", len(d.Errs), got)
	}
}

func TestDecoder_Decode_DuplicateKey(t *testing.T) {
	n := parse(t, "labels: {a: 1, a: 2}\n")
	d := &Decoder{File: "f"}
	var o struct {
		Labels map[string]string `yaml:"labels"`
	}
	d.Decode(n, &o)
	if d.Err() == nil || !strings.Contains(d.Err().Error(), `duplicate key "a"`) {
		t.Fatalf("want duplicate key error, got %v", d.Err())
	}
}

func TestFields_Docs(t *testing.T) {
	fs := Fields(&outer{Every: time.Second})
	if fs[0].Name != "id" || !fs[0].Required || fs[0].Doc != "identifier" || fs[0].Type != "string" {
		t.Fatalf("first field: %+v", fs[0])
	}
	if fs[1].Type != "duration" || fs[1].Default != "1s" {
		t.Fatalf("every: %+v", fs[1])
	}
}

type withRest struct {
	Type string     `yaml:"type"`
	Rest *yaml.Node `yaml:",inline"`
}

func TestDecoder_Decode_InlineRest(t *testing.T) {
	n := parse(t, "type: file\npath: a.jsonl\nformat: envelope\n")
	d := &Decoder{File: "f"}
	var w withRest
	d.Decode(n, &w)
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	if w.Type != "file" || len(w.Rest.Content) != 4 || w.Rest.Content[0].Value != "path" {
		t.Fatalf("rest: %+v", w.Rest)
	}
	var cfg struct {
		Path string `yaml:"path"`
	}
	d.Decode(w.Rest, &cfg)
	if got := d.Err(); got == nil || !strings.Contains(got.Error(), `f:3:1: unknown key "format"`) {
		t.Fatalf("second pass must report the unclaimed key with its position, got %v", got)
	}
}

type selfDecoding struct{ got string }

// rawish keeps a node in an unexported field, as the engine's Config does.
type rawish struct{ n *yaml.Node }

func init() {
	RegisterType(reflect.TypeOf(selfDecoding{}), func(file string, n *yaml.Node, v reflect.Value) error {
		if n.Value == "bad" {
			return Errorf(file, n, "bad value")
		}
		v.Set(reflect.ValueOf(selfDecoding{got: n.Value}))
		return nil
	})
	RegisterType(reflect.TypeOf(rawish{}), func(_ string, n *yaml.Node, v reflect.Value) error {
		v.Set(reflect.ValueOf(rawish{n: n}))
		return nil
	})
}

func TestDecoder_Decode_RegisteredType(t *testing.T) {
	var o struct {
		A selfDecoding  `yaml:"a"`
		B selfDecoding  `yaml:"b"`
		C *selfDecoding `yaml:"c"`
	}
	d := &Decoder{File: "f"}
	d.Decode(parse(t, "a: ok\nb: bad\nc: fine\n"), &o)
	if o.A.got != "ok" || o.C == nil || o.C.got != "fine" || d.Err() == nil || d.Err().Error() != "f:2:4: bad value" {
		t.Fatalf("got %+v, err %v", o, d.Err())
	}
}

func TestDecoder_Decode_RegisteredNull(t *testing.T) {
	var o struct {
		R rawish `yaml:"r"`
	}
	d := &Decoder{File: "f"}
	d.Decode(parse(t, "r: null\n"), &o)
	if d.Err() != nil || o.R.n == nil || o.R.n.Tag != "!!null" {
		t.Fatalf("a registered type gets null nodes too: %+v, %v", o.R.n, d.Err())
	}
}

func TestDecoder_Decode_InlineRegistered(t *testing.T) {
	var w struct {
		Type string `yaml:"type"`
		Rest rawish `yaml:",inline"`
	}
	d := &Decoder{File: "f"}
	d.Decode(parse(t, "type: file\npath: a.jsonl\n"), &w)
	if d.Err() != nil || w.Type != "file" || w.Rest.n == nil || len(w.Rest.n.Content) != 2 || w.Rest.n.Content[0].Value != "path" {
		t.Fatalf("rest: %+v, %v", w.Rest.n, d.Err())
	}
	if w.Rest.n.Line != 1 || w.Rest.n.Column != 1 {
		t.Fatalf("the collected mapping is where the struct is: %d:%d", w.Rest.n.Line, w.Rest.n.Column)
	}
}

func TestRegisterType_Twice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering a type twice must panic")
		}
	}()
	RegisterType(reflect.TypeOf(rawish{}), nil)
}

type documented struct{}

func (*documented) DocType() string { return "special" }

func TestFields_DocType(t *testing.T) {
	var cfg struct {
		A *documented            `yaml:"a"`
		B map[string]*documented `yaml:"b"`
	}
	fs := Fields(&cfg)
	if fs[0].Type != "special" || fs[1].Type != "map of special" {
		t.Fatalf("types: %+v", fs)
	}
}
