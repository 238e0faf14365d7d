package engine

import (
	"fmt"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// compileErr loads src (written to a temporary p.yaml) and returns the
// compile error, or nil.
func compileErr(t *testing.T, src string) error {
	t.Helper()
	_, err := Load(writeFile(t, t.TempDir(), "p.yaml", src))
	return err
}

func TestPipeline_Compile_Defaults(t *testing.T) {
	for _, c := range []struct {
		name     string
		settings string
		want     Settings
	}{
		{"unset", "", Settings{BatchSize: DefaultBatchSize, QueueDepth: DefaultQueueDepth, Unmatched: UnmatchedDeadLetter, LateRecords: LateDeadLetter,
			SinkRetries: DefaultSinkRetries, SinkRetryBackoff: DefaultSinkRetryBackoff}},
		{"explicit", "settings: {batch_size: 7, queue_depth: 2, unmatched: drop, late_records: allow, allowed_lateness: 3s, sink_retries: -1, sink_retry_backoff: 1s}\n",
			Settings{BatchSize: 7, QueueDepth: 2, Unmatched: UnmatchedDrop, LateRecords: LateAllow, AllowedLateness: 3 * time.Second, SinkRetryBackoff: time.Second}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Load(writeFile(t, t.TempDir(), "p.yaml", "id: d\n"+c.settings+`sources: [{name: g, type: generate, count: 1}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: g, to: s}]
`))
			if err != nil {
				t.Fatal(err)
			}
			got := p.Settings()
			got.At = Position{}
			if got != c.want {
				t.Fatalf("settings %+v, want %+v", got, c.want)
			}
			if n := p.byID["g"]; n.unmatched != c.want.Unmatched {
				t.Fatalf("source unmatched policy %q, want %q", n.unmatched, c.want.Unmatched)
			}
		})
	}
}

// Compiling never modifies the Pipeline: defaults, compiled conditions and
// run state live in the Plan, so a pipeline compiles any number of times,
// concurrently, to equal plans.
func TestPipeline_Compile_LeavesPipelineUnchanged(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "t.jsonl", `{"id":"a","v":1}`+"\n")
	path := writeFile(t, dir, "p.yaml", `id: p
sources: [{name: in, type: generate, count: 10}]
services:
  out: {type: discard}
  tbl: {type: static, path: t.jsonl}
stages:
  - {id: keep, type: filter, condition: record.payload.active == true}
  - {id: look, type: lookup, lookup: {lookup_service: tbl, key_mappings: [{record_field: k, lookup_field: id}], result_field: r}}
  - {id: sink, type: sink, service_name: out}
edges: [{from: in, to: keep}, {from: keep, to: look}, {from: look, to: sink}]
`)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	before := fmt.Sprintf("%#v", p.Settings)
	var wg sync.WaitGroup
	plans := make([]*Plan, 4)
	errs := make([]error, len(plans))
	for i := range plans {
		wg.Go(func() {
			plans[i], errs[i] = p.Compile()
		})
	}
	wg.Wait()
	for i, pl := range plans {
		if pl == nil {
			t.Fatalf("compile %d failed: %v", i, errs[i])
		}
		if pl.Pipeline() != p || (i > 0 && pl == plans[0]) {
			t.Fatalf("plan %d: pipeline %p (want %p), same plan as the first: %v", i, pl.Pipeline(), p, pl == plans[0])
		}
		if pl.Settings().BatchSize != DefaultBatchSize {
			t.Fatalf("plan %d: batch size %d", i, pl.Settings().BatchSize)
		}
	}
	if after := fmt.Sprintf("%#v", p.Settings); after != before || p.Settings.BatchSize != 0 || p.Settings.Unmatched != "" {
		t.Fatalf("Compile modified the pipeline's settings:\n%s\n%s", before, after)
	}
	if s := p.Stages[1]; s.Lookup.MissStrategy != "" {
		t.Fatalf("Compile wrote a default miss_strategy %q into the pipeline", s.Lookup.MissStrategy)
	}
}

func TestPipeline_Compile_Plan(t *testing.T) {
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: plan
sources:
  - {name: a, type: generate, count: 1}
  - {name: b, type: generate, count: 1}
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: record.payload.active, unmatched: drop}
  - {id: s, type: sink, service_name: out}
edges:
  - {from: source, to: f}
  - {from: f, to: s}
  - {from: a, to: s, condition: 'record.key == "x"'}
`))
	if err != nil {
		t.Fatal(err)
	}
	pl := p
	if len(pl.sources) != 2 || len(pl.nodes) != 4 {
		t.Fatalf("%d sources, %d nodes", len(pl.sources), len(pl.nodes))
	}
	f, s, a, b := pl.byID["f"], pl.byID["s"], pl.byID["a"], pl.byID["b"]
	if f.unmatched != UnmatchedDrop || a.unmatched != UnmatchedDeadLetter {
		t.Fatalf("unmatched: f %q, a %q", f.unmatched, a.unmatched)
	}
	// "source" fans the edge out to every source; a's conditional edge makes
	// its routes conditional (no allRoutes), b's stay unconditional.
	if len(a.routes) != 2 || len(b.routes) != 1 || a.allRoutes != nil || len(b.allRoutes) != 1 || b.allRoutes[0] != f.stage {
		t.Fatalf("a routes %d allRoutes %v; b routes %d allRoutes %v", len(a.routes), a.allRoutes, len(b.routes), b.allRoutes)
	}
	if len(f.inputs) != 2 || len(s.inputs) != 2 || s.inputs[0] != f || s.inputs[1] != a {
		t.Fatalf("inputs: f %d, s %v", len(f.inputs), s.inputs)
	}
	if a.routes[1].cond == nil || a.routes[0].cond != nil || len(a.routeStage) != 2 || a.routeStage[1][0] != s.stage {
		t.Fatalf("a routes %+v", a.routes)
	}
}

func TestPipeline_Compile_Errors(t *testing.T) {
	const tail = `services:
  out: {type: discard}
  plug: {type: wasm, path: x.wasm}
  table: {type: static, rows: [{id: a}]}
`
	for _, c := range []struct {
		name string
		src  string
		want []string
	}{
		{"no sources", `id: x
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
`, []string{"p.yaml:1:1: the pipeline has no sources"}},
		{"cycle names the path", `id: x
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: a, type: filter, condition: "true"}
  - {id: b, type: filter, condition: "true"}
  - {id: s, type: sink, service_name: out}
edges:
  - {from: in, to: a}
  - {from: a, to: b}
  - {from: b, to: a}
  - {from: b, to: s}
`, []string{"p.yaml:11:5: cycle: a -> b -> a"}},
		{"unreachable stage", `id: x
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: s, type: sink, service_name: out}
  - {id: lonely, type: sink, service_name: out}
edges: [{from: in, to: s}]
`, []string{`p.yaml:6:5: stage "lonely" is unreachable from any source`}},
		{"no path to a sink", `id: x
sources: [{name: in, type: generate}, {name: idle, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: "true"}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: s}, {from: in, to: f}]
`, []string{`p.yaml:5:5: stage "f" has no path to a sink`, `p.yaml:2:39: source "idle" has no path to a sink`}},
		{"did you mean", `id: x
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: keep, type: filter, condition: "true"}
  - {id: sink, type: sink, service_name: out}
edges:
  - {from: in, to: kep}
  - {from: kepe, to: sink}
  - {from: in, to: somethingelse}
`, []string{`p.yaml:8:5: edge to unknown stage "kep" (did you mean "keep"?)`,
			`p.yaml:9:5: edge from unknown node "kepe" (did you mean "keep"?)`,
			`edge to unknown stage "somethingelse"` + "\n"}},
		{"source connector check", `id: x
sources:
  - name: in
    type: generate
    start: yesterday
services: {out: {type: file, path: o.jsonl, format: xml}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, []string{`p.yaml:5:12: source "in": start: `, `yesterday`, `p.yaml:6:53: service "out": unknown format "xml" (want payload or envelope)`}},
		{"unknown connector types", `id: x
sources: [{name: in, type: kafka}]
services: {out: {type: s3}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, []string{`source "in": unknown type "kafka" (known: `, `service "out": unknown type "s3" (sinks: `, `plugins: wasm)`}},
		{"sink stage needs a sink service", `id: x
sources: [{name: in, type: generate}]
` + tail + `stages:
  - {id: s1, type: sink, service_name: plug}
  - {id: s2, type: sink, service_name: table}
  - {id: s3, type: sink}
  - {id: s4, type: sink, service_name: nope}
edges: [{from: in, to: s1}, {from: in, to: s2}, {from: in, to: s3}, {from: in, to: s4}]
`, []string{`stage "s1": service "plug" is of type wasm; a sink stage needs a sink service`,
			`stage "s2": service "table" is of type static; a sink stage needs a sink service`,
			`stage "s3": a sink stage needs service_name`,
			`stage "s4": unknown service "nope"`}},
		{"transform needs a wasm service", `id: x
sources: [{name: in, type: generate}]
` + tail + `stages:
  - {id: t, type: transform, service_name: out}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: t}, {from: t, to: s}]
`, []string{`stage "t": service "out" is of type discard; a transform stage needs a transform service (wasm)`}},
		{"lookup needs a lookup service", `id: x
sources: [{name: in, type: generate}]
` + tail + `stages:
  - id: l
    type: lookup
    lookup: {lookup_service: out, key_mappings: [{record_field: key, lookup_field: id}], result_field: r}
  - id: m
    type: lookup
    lookup: {lookup_service: tabel, key_mappings: [{record_field: key, lookup_field: id}], result_field: r}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: l}, {from: l, to: m}, {from: m, to: s}]
`, []string{`stage "l": service "out" is of type discard; a lookup stage needs a lookup service (static, wasm)`,
			`stage "m": unknown lookup service "tabel"`}},
		{"dead_letter must be a sink", `id: x
settings: {dead_letter: plug}
sources: [{name: in, type: generate}]
` + tail + `stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, []string{`p.yaml:2:11: dead_letter: "plug" is not a sink service`}},
		{"dead_letter lookup service", `id: x
settings: {dead_letter: table}
sources: [{name: in, type: generate}]
` + tail + `stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, []string{`dead_letter: "table" is not a sink service`}},
		{"dead_letter unknown service", `id: x
settings: {dead_letter: nowhere}
sources: [{name: in, type: generate}]
` + tail + `stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, []string{`dead_letter: "nowhere" is not a sink service`}},
		{"fan_in", `id: x
sources: [{name: a, type: generate}, {name: b, type: generate}]
services: {out: {type: discard}}
stages:
  - id: m
    type: fan_in
    replicas: 2
    fan_in:
      sources: [{source_name: a}, {source_name: b}, {source_name: c}]
      merge_strategy: zipper
      watermark: median
      buffer: -1
  - {id: s, type: sink, service_name: out}
edges: [{from: m, to: s}]
`, []string{`p.yaml:5:5: stage "m": a fan_in stage cannot have replicas`,
			`p.yaml:9:7: stage "m": unknown merge_strategy "zipper" (want event_time, arrival or round_robin)`,
			`p.yaml:9:7: stage "m": unknown watermark "median" (want min or max)`,
			`stage "m": buffer must be positive`,
			`fan_in input "c" is not a source or stage`}},
		{"stage keys on the wrong stage type", `id: x
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - id: s
    type: sink
    service_name: out
    condition: "true"
    set: {a: "'b'"}
    fan_out: {sinks: [{sink_name: s}]}
    fan_in: {sources: [{source_name: in}]}
    lookup: {key_mappings: [{record_field: key, lookup_field: id}], result_field: r}
edges: [{from: in, to: s}]
`, []string{`p.yaml:5:5: stage "s": condition is only for filter stages`,
			`stage "s": set/remove is only for mapping and metadata stages`,
			`stage "s": fan_out is only for fan_out stages`,
			`stage "s": fan_in is only for fan_in stages`,
			`stage "s": lookup is only for lookup stages`}},
		{"stage settings missing", `id: x
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter}
  - {id: m, type: metadata}
  - {id: fo, type: fan_out}
  - {id: fi, type: fan_in}
  - {id: l, type: lookup}
  - {id: q, type: queue}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: m}, {from: m, to: fo}, {from: fo, to: s}]
`, []string{`stage "f": a filter stage needs a condition`,
			`stage "m": a metadata stage needs set or remove`,
			`stage "fo": a fan_out stage needs fan_out.sinks`,
			`stage "fi": a fan_in stage needs fan_in.sources`,
			`stage "l": a lookup stage needs lookup settings`,
			`stage "q": unknown type "queue" (known: fan_in, fan_out, filter, lookup, mapping, metadata, sink, transform)`}},
		{"names and edges", `id: x
sources: [{name: source, type: generate}, {name: in, type: generate}, {name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: source, type: sink, service_name: out}
  - {id: in, type: sink, service_name: out}
  - {id: s, type: sink, service_name: out}
  - id: fo
    type: fan_out
    fan_out: {sinks: [{sink_name: in}, {sink_name: ghost}]}
edges: [{from: in, to: s}, {from: s, to: fo}, {from: in, to: in}]
`, []string{`source name "source" is reserved (it means every source)`,
			`duplicate source name "in" (first at `,
			`stage id "source" is reserved`,
			`duplicate id "in" (first at `,
			`edge from sink stage "s": sinks have no outputs`,
			`edge to "in": a source cannot have inputs`,
			`fan_out sink "in" is not a stage`,
			`fan_out sink "ghost" is not a stage`}},
		{"settings", `id: x
settings: {batch_size: -1, unmatched: ignore, late_records: keep, allowed_lateness: -1s}
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: s, type: sink, service_name: out, unmatched: shrug}
edges: [{from: in, to: s}]
`, []string{`p.yaml:2:11: batch_size and queue_depth must be positive`,
			`p.yaml:2:11: unmatched: unknown policy "ignore" (want drop, dead_letter or error)`,
			`p.yaml:6:5: unmatched: unknown policy "shrug"`,
			`late_records: unknown policy "keep" (want dead_letter, drop, allow or route)`,
			`allowed_lateness and idle_timeout must not be negative`}},
		{"replicas and load_balance", `id: x
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: a, type: filter, condition: "true", replicas: -1}
  - {id: b, type: filter, condition: "true", load_balance: {strategy: hash}}
  - {id: c, type: filter, condition: "true", replicas: 2, load_balance: {strategy: busiest}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: a}, {from: a, to: b}, {from: b, to: c}, {from: c, to: s}]
`, []string{`stage "a": replicas must be positive`,
			`stage "b": load_balance needs replicas >= 2`,
			`stage "c": load_balance: `, `busiest`}},
		{"conditions", `id: x
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: "record.nope"}
  - {id: m, type: metadata, set: {k: "record.payload +"}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: m}, {from: m, to: s, condition: "record.zzz"}]
`, []string{`p.yaml:5:39: undeclared reference to 'record`, `p.yaml:6:55: Syntax error`, `p.yaml:8:75: undeclared reference to 'record.zzz'`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := compileErr(t, c.src)
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error() + "\n"
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing %q in:\n%s", w, msg)
				}
			}
		})
	}
}

// TestPipeline_Compile_GraphChecksWaitForOtherErrors: the cycle and
// reachability checks only run on an otherwise valid pipeline, so that a
// typo in an edge does not also report every stage behind it unreachable.
func TestPipeline_Compile_GraphChecksWaitForOtherErrors(t *testing.T) {
	err := compileErr(t, `id: x
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: "true"}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: ff}, {from: f, to: s}]
`)
	if err == nil || !strings.Contains(err.Error(), `edge to unknown stage "ff" (did you mean "f"?)`) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "no path") {
		t.Fatalf("graph errors reported on top of the edge error: %v", err)
	}
}

func TestDidYouMean_Cases(t *testing.T) {
	known := map[string]*node{"enrich": nil, "sink": nil, "filter": nil}
	for _, c := range []struct{ id, want string }{
		{"enrish", ` (did you mean "enrich"?)`},
		{"snk", ` (did you mean "sink"?)`},
		{"filter", ` (did you mean "filter"?)`},
		{"warehouse", ""},
	} {
		if got := didYouMean(c.id, known); got != c.want {
			t.Errorf("didYouMean(%q) = %q, want %q", c.id, got, c.want)
		}
	}
}

func TestCapability_String_Cases(t *testing.T) {
	for _, c := range []struct {
		c    capability
		want string
	}{
		{capTransform | capLookup, "lookup+transform"},
		{capLookup, "lookup"},
		{capSink, "sink"},
		{capNone, "nothing"},
	} {
		if got := c.c.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

func TestPipeline_Compile_WasmDefaults(t *testing.T) {
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: w
sources: [{name: in, type: generate}]
services:
  plug: {type: wasm, path: x.wasm, instances: 3}
  out: {type: discard}
stages:
  - {id: t, type: transform, service_name: plug}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: t}, {from: t, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	w := p.services["plug"].wasm
	if w == nil || w.Path != "x.wasm" || w.Instances != 3 || w.Runtime != "wazero" || w.MaxMemoryPages != plugins.DefaultMemoryPages || w.BatchTimeout != 10*time.Second {
		t.Fatalf("wasm config %+v", w)
	}
}

// Conditions whose cost can explode are refused at load, with the
// position; settings.cel_cost_limit moves the bound.
func TestPipeline_Compile_CELCostLimit(t *testing.T) {
	t.Parallel()
	chain := `record.payload.s` + strings.Repeat(`.replace("a", "aaaaaaaaaa")`, 9) + ` == ""`
	src := func(limit string) string {
		return "id: c\n" + limit + `sources: [{name: in, type: generate, count: 1}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: '` + chain + `'}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`
	}
	err := compileErr(t, src(""))
	if err == nil || !strings.Contains(err.Error(), "p.yaml:5:") || !strings.Contains(err.Error(), "exceeds the cost limit 1000000") {
		t.Fatalf("err = %v, want a cost-limit error at line 5", err)
	}
	if err := compileErr(t, src("settings: {cel_cost_limit: -1}\n")); err != nil {
		t.Fatalf("with no limit: %v", err)
	}
}

// A source that would read a sink's output (or truncate its own input),
// and two sinks on one file, are refused at compile time with positions.
func TestPipeline_Compile_SamePathRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"sink on the input", `id: s
sources: [{name: in, type: file, path: d.jsonl}]
services: {out: {type: file, path: d.jsonl}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, []string{`p.yaml:2:11: source "in" reads `, `written by service "out" (at `}},
		{"dead-letter sink on the input", `id: s
settings: {dead_letter: dl}
sources: [{name: in, type: file, path: ./data/../d.jsonl}]
services: {out: {type: discard}, dl: {type: file, path: d.jsonl}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, []string{`p.yaml:3:11: source "in" reads`, `service "dl"`}},
		{"glob matches an appending sink's output", `id: s
sources: [{name: in, type: file, path: "logs/*.jsonl"}]
services: {out: {type: file, path: logs/out.jsonl, append: true}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, []string{`source "in" reads`, `logs/out.jsonl, written by service "out"`}},
		{"two sinks on one file", `id: s
sources: [{name: in, type: generate, count: 1}]
services: {a: {type: file, path: o.jsonl}, b: {type: file, path: ./o.jsonl}}
stages: [{id: s, type: sink, service_name: a}, {id: t, type: sink, service_name: b}]
edges: [{from: in, to: s}, {from: in, to: t}]
`, []string{`p.yaml:3:47: service "b" writes `, `which service "a" writes too`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := compileErr(t, c.src)
			if err == nil {
				t.Fatal("compiled")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}
