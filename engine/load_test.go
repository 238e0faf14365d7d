package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validPipeline = `id: p
sources:
  - name: in
    type: generate
    count: 10
services:
  out: {type: discard}
stages:
  - id: keep
    type: filter
    condition: record.payload.active == true
  - id: sink
    type: sink
    service_name: out
edges:
  - {from: source, to: keep}
  - {from: keep, to: sink}
`

func TestLoad_Valid(t *testing.T) {
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", validPipeline))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID() != "p" || len(p.Pipeline().Stages) != 2 || p.Settings().BatchSize != DefaultBatchSize || p.Settings().Unmatched != UnmatchedDeadLetter {
		t.Fatalf("unexpected pipeline: %+v", p)
	}
}

func TestLoad_JSON(t *testing.T) {
	src := `{"id": "j", "sources": [{"name": "in", "type": "generate", "count": 1}],
  "services": {"out": {"type": "discard"}},
  "stages": [{"id": "sink", "type": "sink", "service_name": "out"}],
  "edges": [{"from": "in", "to": "sink"}]}`
	if _, err := Load(writeFile(t, t.TempDir(), "p.json", src)); err != nil {
		t.Fatal(err)
	}
}

func TestLoad_Errors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown key", strings.Replace(validPipeline, "    count: 10", "    count: 10\n    cuont: 3", 1),
			[]string{`p.yaml:6:5: unknown key "cuont" (did you mean "count"?)`}},
		{"unknown top-level key and type error", "id: p\nstagez: []\nsettings: {batch_size: lots}\n",
			[]string{`p.yaml:2:1: unknown key "stagez" (did you mean "stages"?)`, `p.yaml:3:24: expected an integer, got "lots"`}},
		{"edge to unknown stage", validPipeline + "  - {from: keep, to: snk}\n",
			[]string{`p.yaml:18:5: edge to unknown stage "snk" (did you mean "sink"?)`}},
		{"edge from unknown", validPipeline + "  - {from: nowhere, to: sink}\n",
			[]string{`p.yaml:18:5: edge from unknown node "nowhere"`}},
		{"bad CEL", strings.Replace(validPipeline, "record.payload.active == true", "record.paylod.active == true", 1),
			[]string{`p.yaml:11:16:`, `undeclared reference`, `^`}},
		{"non-bool CEL", strings.Replace(validPipeline, "record.payload.active == true", "record.key + 'x'", 1),
			[]string{`p.yaml:11:16:`, `bool`}},
		{"duplicate id", strings.Replace(validPipeline, "id: sink", "id: keep", 1),
			[]string{`p.yaml:12:5: duplicate id "keep" (first at `, `p.yaml:9:5)`}},
		{"cycle", validPipeline + `  - {from: keep, to: loop}
  - {from: loop, to: keep}
` + "# end\n", nil},
		{"unknown service and stage type", strings.Replace(strings.Replace(validPipeline, "service_name: out", "service_name: nope", 1), "type: filter", "type: filtre", 1),
			[]string{`unknown type "filtre"`, `stage "sink": unknown service "nope"`}},
		{"no path to sink", strings.Replace(validPipeline, "  - {from: keep, to: sink}\n", "", 1),
			[]string{`p.yaml:9:5: stage "keep" has no path to a sink`, `p.yaml:12:5: stage "sink" is unreachable from any source`}},
		{"filter without condition", strings.Replace(validPipeline, "    condition: record.payload.active == true\n", "", 1),
			[]string{`p.yaml:9:5: stage "keep": a filter stage needs a condition`}},
		{"unknown source type", strings.Replace(validPipeline, "type: generate", "type: kafkaa", 1),
			[]string{`p.yaml:3:5: source "in": unknown type "kafkaa"`}},
		{"yaml syntax", "id: p\nstages: [\n", []string{"p.yaml:", "syntax error"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.src
			want := c.want
			if c.name == "cycle" {
				src = strings.Replace(validPipeline, "stages:\n", "stages:\n  - id: loop\n    type: fan_out\n    fan_out: {sinks: [{sink_name: sink}]}\n", 1) +
					"  - {from: keep, to: loop}\n  - {from: loop, to: keep}\n"
				want = []string{"cycle: keep -> loop -> keep"}
			}
			_, err := Load(writeFile(t, t.TempDir(), "p.yaml", src))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoad_ReportsEveryProblem(t *testing.T) {
	src := `id: p
sources:
  - name: in
    type: generate
    colour: red
services:
  out: {type: discard}
stages:
  - id: a
    type: filter
    condition: record.nope
  - id: a
    type: sink
    service_name: out
  - id: s
    type: sink
    service_name: missing
edges:
  - {from: in, to: zz}
`
	_, err := Load(writeFile(t, t.TempDir(), "p.yaml", src))
	if err == nil {
		t.Fatal("want errors")
	}
	lines := 0
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.Contains(l, "/p.yaml:") {
			lines++
		}
	}
	if lines < 5 {
		t.Fatalf("want at least 5 positioned errors, got %d:\n%v", lines, err)
	}
}

func TestLoad_MissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "read pipeline") || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("want a not-exist error, got %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestLoad_CELPositions(t *testing.T) {
	src := `id: p
sources: [{name: in, type: generate, count: 1}]
services: {out: {type: discard}}
stages:
  - id: tag
    type: metadata
    set:
      region: record.payload.geo +
  - id: f
    type: filter
    condition: |
      record.key == "a" &&
        record.paylaod.x
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: tag}, {from: tag, to: f}, {from: f, to: s}]
`
	_, err := Load(writeFile(t, t.TempDir(), "p.yaml", src))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"p.yaml:13:9: undeclared reference to 'record.paylaod", "p.yaml:8:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// A device that never ends is refused, not read forever.
func TestLoad_DevZeroIsBounded(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Fatalf("no /dev/zero: %v", err)
	}
	_, err := Load("/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB: not a pipeline file") {
		t.Fatalf("err = %v", err)
	}
}

// A pipeline file may carry its test cases (tests:, for conveyor-wasm
// test); loading and compiling it ignores them, whatever they hold.
func TestLoad_TestsKeyIgnored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: t
sources: [{name: in, type: generate, count: 1}]
services: {out: {type: discard}}
stages: [{id: w, type: sink, service_name: out}]
edges: [{from: in, to: w}]
tests:
  - name: anything
    inputs: {in: [{payload: {n: 1}}]}
    whatever: [1, 2]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Pipeline().Stages); got != 1 {
		t.Fatalf("stages: %d", got)
	}
}
