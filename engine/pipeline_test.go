package engine

import (
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"go.yaml.in/yaml/v3"
)

// yamlNode parses src and returns its root value node.
func yamlNode(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func newTestEnv(t *testing.T) *conditions.Env {
	t.Helper()
	env, err := conditions.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestCondition_String_Cases(t *testing.T) {
	for _, c := range []struct {
		name string
		c    *Condition
		want string
	}{
		{"nil is always", nil, "true"},
		{"cel", When(`record.key == "a"`), `record.key == "a"`},
		{"built", WhenCondition(conditions.MetadataExists("k")), `"k" in record.metadata`},
		{"built and", WhenCondition(conditions.And(conditions.MetadataEquals("a", "b"), conditions.Not(conditions.MetadataExists("c")))),
			`(record.metadata["a"] == "b") && (!("c" in record.metadata))`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.c.String(); got != c.want {
				t.Fatalf("String() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestCondition_decodeNode_Cases(t *testing.T) {
	env := newTestEnv(t)
	match := record.New("a", []byte(`{"n":2}`))
	match.Metadata.Set("type", "user_event")
	miss := record.New("b", []byte(`{"n":0}`))
	for _, c := range []struct {
		name     string
		src      string
		wantExpr string // Expr after decoding
		wantStr  string // String after compiling
	}{
		{"scalar", `record.payload.n > 1`, `record.payload.n > 1`, `record.payload.n > 1`},
		{"structured", `{metadata_equals: {key: type, value: user_event}}`, "", `record.metadata["type"] == "user_event"`},
		{"structured and", "and:\n  - metadata_exists: type\n  - 'record.key == \"a\"'", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cond Condition
			if err := cond.decodeNode("f.yaml", yamlNode(t, c.src)); err != nil {
				t.Fatal(err)
			}
			if cond.Expr != c.wantExpr {
				t.Fatalf("Expr = %q, want %q", cond.Expr, c.wantExpr)
			}
			cc, err := cond.compile(env, "other.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if c.wantStr != "" && cc.String() != c.wantStr {
				t.Fatalf("String() = %q, want %q", cc.String(), c.wantStr)
			}
			if ok, err := cc.Eval(match); !ok || err != nil {
				t.Fatalf("Eval(match) = %v, %v", ok, err)
			}
			if ok, err := cc.Eval(miss); ok || err != nil {
				t.Fatalf("Eval(miss) = %v, %v", ok, err)
			}
		})
	}
}

func TestCondition_Compile_Errors(t *testing.T) {
	env := newTestEnv(t)
	for _, c := range []struct {
		name string
		cond func(t *testing.T) *Condition
		want string
	}{
		{"when uses the pipeline file", func(*testing.T) *Condition { return When("record.payload +") }, "pipe.yaml"},
		{"decoded uses its own file and line", func(t *testing.T) *Condition {
			var c Condition
			if err := c.decodeNode("f.yaml", yamlNode(t, "\n\nrecord.nope.x")); err != nil {
				t.Fatal(err)
			}
			return &c
		}, "f.yaml:3:"},
		{"structured positions", func(t *testing.T) *Condition {
			var c Condition
			if err := c.decodeNode("f.yaml", yamlNode(t, "metadata_equals: {key: a}\n")); err != nil {
				t.Fatal(err)
			}
			return &c
		}, "f.yaml:1:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.cond(t).compile(env, "pipe.yaml")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// compile returns a Go-built condition as it is, and never stores a
// compiled CEL condition in the Condition (which belongs to the user's
// Pipeline).
func TestCondition_Compile_LeavesConditionUnchanged(t *testing.T) {
	env := newTestEnv(t)
	built := conditions.MetadataExists("k")
	w := WhenCondition(built)
	if got, err := w.compile(env, ""); err != nil || got != built {
		t.Fatalf("WhenCondition compile: %v, got another condition %v", err, got != built)
	}
	c := When("record.key == 'a'")
	first, err := c.compile(env, "")
	if err != nil || first == nil {
		t.Fatal(err)
	}
	if c.cond != nil {
		t.Fatal("compile stored the compiled condition in the Condition")
	}
	if ok, err := first.Eval(record.New("a", nil)); !ok || err != nil {
		t.Fatalf("Eval = %v, %v", ok, err)
	}
}

func TestExpr_decodeNode_Cases(t *testing.T) {
	for _, c := range []struct {
		name    string
		src     string
		wantSrc string
		wantErr string
	}{
		{"scalar", `record.payload.geo`, "record.payload.geo", ""},
		{"quoted", `"'a' + record.key"`, "'a' + record.key", ""},
		{"mapping", "\n  a: b", "", "f.yaml:2:3: expected a CEL expression (a string)"},
		{"sequence", `[1, 2]`, "", "f.yaml:1:1: expected a CEL expression (a string)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e Expr
			err := e.decodeNode("f.yaml", yamlNode(t, c.src))
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || e.Src != c.wantSrc || e.file != "f.yaml" || e.node == nil {
				t.Fatalf("Expr %+v, err %v", e, err)
			}
		})
	}
}

func TestExpr_Compile_Cases(t *testing.T) {
	env := newTestEnv(t)
	rec := record.New("k1", []byte(`{"geo":"eu"}`))
	var decoded Expr
	if err := decoded.decodeNode("f.yaml", yamlNode(t, "\n\"'x-' + record.payload.geo\"")); err != nil {
		t.Fatal(err)
	}
	var bad Expr
	if err := bad.decodeNode("f.yaml", yamlNode(t, "\n\nrecord.key +")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		e       *Expr
		want    string
		wantErr string
	}{
		{"expression", Expression(`record.key + "!"`), "k1!", ""},
		{"decoded", &decoded, "x-eu", ""},
		{"error in Go uses the pipeline file", Expression("record.key +"), "", "pipe.yaml"},
		{"error in a file uses its line", &bad, "", "f.yaml:3:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vp, err := c.e.compile(env, "pipe.yaml")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := vp.EvalString(rec); err != nil || got != c.want {
				t.Fatalf("EvalString = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestDocType_Strings(t *testing.T) {
	if got := (*Expr)(nil).DocType(); got != "CEL expression" {
		t.Errorf("Expr.DocType() = %q", got)
	}
	if got := (*Condition)(nil).DocType(); got != "condition (CEL string or and/or/not/metadata_equals/metadata_exists/payload)" {
		t.Errorf("Condition.DocType() = %q", got)
	}
}

func TestStage_String_Cases(t *testing.T) {
	for _, c := range []struct {
		s    Stage
		want string
	}{
		{Stage{ID: "f", Type: StageFilter}, `filter stage "f"`},
		{Stage{ID: "out", Type: StageSink}, `sink stage "out"`},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

func TestPipeline_Pos_Cases(t *testing.T) {
	for _, c := range []struct {
		file string
		at   Position
		want string
	}{
		{"", Position{}, "pipeline"},
		{"p.yaml", Position{Line: 3, Col: 5}, "p.yaml:3:5"},
		{"p.yaml", Position{File: "other.yaml", Line: 1, Col: 1}, "other.yaml:1:1"},
		{"", Position{Line: 2, Col: 1}, "pipeline:2:1"},
	} {
		p := &Pipeline{File: c.file}
		if got := p.pos(c.at).String(); got != c.want {
			t.Errorf("pos(%+v) in %q = %q, want %q", c.at, c.file, got, c.want)
		}
	}
}
