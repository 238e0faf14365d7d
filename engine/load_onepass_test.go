package engine

import (
	"strings"
	"testing"
)

// A value that does not decode does not hide what Compile finds elsewhere;
// what follows from it (a misspelt required key read as missing, an edge to
// a stage whose id did not decode, an unreachable stage) is left out.
func TestLoad_DecodeAndCompileIssues_OnePass(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		want      []string
	}{
		{"key typos and a CEL error", `id: a
settings: {batch_sise: 3}
sources:
  - {name: in, type: generate, count: 3}
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condtion: "true"}
  - {id: g, type: filter, condition: "record.payload.x >"}
  - {id: s, type: sink, servce_name: out}
  - {id: t, type: sinkk, service_name: out}
edges:
  - {from: in, to: f}
  - {from: f, to: g}
  - {from: g, to: s}
  - {form: g, to: s}
`, []string{
			`p.yaml:2:12: unknown key "batch_sise" (did you mean "batch_size"?)`,
			`p.yaml:7:27: unknown key "condtion" (did you mean "condition"?)`,
			`p.yaml:8:57: Syntax error: mismatched input '<EOF>'`,
			`p.yaml:9:25: unknown key "servce_name" (did you mean "service_name"?)`,
			`p.yaml:10:5: stage "t": unknown type "sinkk"`,
			`p.yaml:15:5: missing required key "from"`,
			`p.yaml:15:6: unknown key "form" (did you mean "from"?)`,
		}},
		{"lists that did not decode", `id: b
sources: 5
services: {out: {type: discard}}
stages:
  - oops
  - {id: s, type: sink, service_name: out}
edges:
  - {from: in, to: s}
  - {from: in, to: oops}
`, []string{
			`p.yaml:2:10: expected a list, got "5"`,
			`p.yaml:5:5: expected a mapping, got "oops"`,
		}},
		{"an id that did not decode", `id: c
sources: [{name: in, type: generate, count: 3}]
services: {out: {type: discard}}
stages:
  - {ide: f, type: filter, condition: "true"}
  - {id: g, type: filter, condition: "true", replicas: x}
  - {id: s, type: sink, service_name: outt}
edges:
  - {from: in, to: f}
  - {from: f, to: g}
  - {from: g, to: s}
`, []string{
			`p.yaml:5:5: missing required key "id"`,
			`p.yaml:5:6: unknown key "ide" (did you mean "id"?)`,
			`p.yaml:6:56: expected an integer, got "x"`,
			`p.yaml:7:5: stage "s": unknown service "outt" (did you mean "out"?)`,
		}},
		{"names that decoded are still checked", `id: d
sources: [{name: in, type: generate, count: 3}]
services: {out: {type: discard}}
stages:
  - {id: g, type: filter, condition: "true", replicas: x}
  - {id: s, type: sink, service_name: out}
edges:
  - {from: in, to: g}
  - {from: g, to: s}
  - {from: g, to: nowhere}
`, []string{
			`p.yaml:5:56: expected an integer, got "x"`,
			`p.yaml:10:5: edge to unknown stage "nowhere"`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, err := Load(writeFile(t, dir, "p.yaml", c.src))
			var lines []string
			if err != nil {
				for _, x := range err.(Issues) {
					lines = append(lines, strings.TrimPrefix(x.Pos.String(), dir+"/")+": "+x.Msg)
				}
			}
			if len(lines) != len(c.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(c.want, "\n"))
			}
			for i, w := range c.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("issue %d: got %s, want %s", i, lines[i], w)
				}
			}
		})
	}
}
