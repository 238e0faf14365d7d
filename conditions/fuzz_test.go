package conditions

import (
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func FuzzEnv_Compile(f *testing.F) {
	for _, s := range []string{
		`record.key == "x"`, `recrd.key`, `record.payload.a.b[0] > 1.5`, "a &&\n b", `"é" == recrd`,
		`record.metadata["t"] in ["a"]`, `has(record.payload.x)`, `1 +`, `)(`, "\"\\u00", `record.payload.?a.orValue(1) == 1`,
	} {
		f.Add(s, 3, 7, false, false)
	}
	env, err := NewEnv(WithSourceFile("p.yaml", []byte("when: |\n  x\n")))
	if err != nil {
		f.Fatal(err)
	}
	r := record.New("k", []byte(`{"a":{"b":[1,2]},"x":"y"}`))
	f.Fuzz(func(t *testing.T, expr string, line, col int, quoted, block bool) {
		p, err := env.Compile(expr, Source{File: "p.yaml", Line: line, Col: col, Quoted: quoted, Block: block})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		_, _ = p.EvalWatermark(r, 0)
	})
}

func FuzzParseNode(f *testing.F) {
	for _, s := range []string{
		"when: record.key == 'x'",
		"when: {and: [{metadata_exists: a}, {not: {cel: 'true'}}]}",
		"when: {payload: {field: a.b, op: in, value: [1, x, null]}}",
		"when: |\n  recrd\n",
		"when: {metadata_equals: {key: [], value: {}}}",
		"when: &a {or: [*a]}",
		"when:\n  payload:\n    field: a\n    op: exists\n",
	} {
		f.Add(s)
	}
	env, err := NewEnv()
	if err != nil {
		f.Fatal(err)
	}
	r := record.New("k", []byte(`{"a":{"b":1}}`))
	r.Metadata.Set("a", "1")
	f.Fuzz(func(t *testing.T, doc string) {
		var n yaml.Node
		if yaml.Unmarshal([]byte(doc), &n) != nil {
			return
		}
		fenv := &Env{cel: env.cel, files: map[string][]byte{"p.yaml": []byte(doc)}}
		c, err := ParseNode(fenv, "p.yaml", &n)
		if err != nil {
			return
		}
		_, _ = c.Eval(r)
		_ = c.String()
	})
}

// FuzzFastPath_MatchesInterpreter evaluates every fast-path expression of
// the differential test on a fuzzed payload, scanned and interpreted, and
// fails on any difference in result or error.
func FuzzFastPath_MatchesInterpreter(f *testing.F) {
	for _, pl := range scanPayloads() {
		f.Add(pl)
	}
	env, err := NewEnv()
	if err != nil {
		f.Fatal(err)
	}
	var progs []*Program
	for _, c := range scanExprs {
		if !c.fast {
			continue
		}
		p, err := env.Compile(c.expr, Source{})
		if err != nil {
			f.Fatal(err)
		}
		progs = append(progs, p)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		for _, p := range progs {
			checkFastMatches(t, p, payload)
		}
	})
}
