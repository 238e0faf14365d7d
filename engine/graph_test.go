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
