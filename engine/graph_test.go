package engine

import (
	"strings"
	"testing"
)

func TestPipeline_WriteGraph(t *testing.T) {
	p := seedPipeline(t)
	var dot, mer strings.Builder
	if err := p.WriteGraph(&dot, GraphDOT); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`digraph "user-analytics"`, `"kafka-users" -> "filter";`, `"fan" -> "s3";`, `"fan" -> "kafka" [label=`, `shape=cylinder`} {
		if !strings.Contains(dot.String(), want) {
			t.Errorf("dot missing %q:\n%s", want, dot.String())
		}
	}
	if err := p.WriteGraph(&mer, GraphMermaid); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mer.String(), "flowchart LR\n") || strings.Count(mer.String(), "-->") != 4 {
		t.Errorf("mermaid:\n%s", mer.String())
	}
	if err := p.WriteGraph(&dot, "svg"); err == nil {
		t.Error("unknown format must fail")
	}
}

func TestPipeline_WriteGraph_LateRoutesAreMarked(t *testing.T) {
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: g
settings: {late_records: route, late_route: late}
sources: [{name: in, type: generate, watermark: {}}]
services: {out: {type: discard}}
stages:
  - {id: s, type: sink, service_name: out}
  - {id: late, type: sink, service_name: out}
edges: [{from: in, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	var dot, mer strings.Builder
	p.WriteGraph(&dot, GraphDOT)
	p.WriteGraph(&mer, GraphMermaid)
	if !strings.Contains(dot.String(), `"in" -> "late" [label="late records",style=dashed];`) || !strings.Contains(mer.String(), "-.->|late records|") {
		t.Fatalf("late route not marked:\n%s\n%s", dot.String(), mer.String())
	}
}
