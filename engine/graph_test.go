package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPipeline_WriteGraph(t *testing.T) {
	p := seedPipeline(t)
	var dot, mer strings.Builder
	if err := p.WriteGraph(&dot, GraphDOT); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`digraph "user-analytics"`, `"kafka-users" -> "filter";`, `"fan" -> "s3";`, `"fan" -> "kafka" [label=`,
		`"service:s3" [shape=cylinder,label="s3\n(discard sink)"];`, `"s3" -> "service:s3" [style=dotted];`,
		`"dead-letters" [shape=cylinder,color=firebrick,fontcolor=firebrick,label="dead letters\n(stderr)"];`,
		`"filter" -> "dead-letters" [style=dashed`,
	} {
		if !strings.Contains(dot.String(), want) {
			t.Errorf("dot missing %q:\n%s", want, dot.String())
		}
	}
	if err := p.WriteGraph(&mer, GraphMermaid); err != nil {
		t.Fatal(err)
	}
	m := mer.String()
	if !strings.HasPrefix(m, "flowchart LR\n") || strings.Count(m, "-->") != 4 || strings.Count(m, "-.-x") != 5 || strings.Count(m, " -.-> ") != 2 {
		t.Errorf("mermaid: want 4 routes, 5 dead-letter edges, 2 sink services:\n%s", m)
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

func TestPlan_Graph(t *testing.T) {
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: g
settings: {late_records: route, late_route: late, dead_letter: dl}
sources: [{name: in, type: generate, watermark: {}}]
services:
  out: {type: discard}
  dl: {type: discard}
  unused: {type: discard}
  users: {type: static, rows: [{key: u1, value: {tier: gold}}]}
stages:
  - {id: f, type: filter, condition: "record.payload.active == true", replicas: 2}
  - {id: enrich, type: lookup, lookup: {lookup_service: users, key_mappings: [{record_field: key, lookup_field: key}], result_field: tier}}
  - {id: s, type: sink, service_name: out}
  - {id: late, type: sink, service_name: out}
edges:
  - {from: in, to: f}
  - {from: f, to: enrich, condition: "record.key != ''"}
  - {from: enrich, to: s}
`))
	if err != nil {
		t.Fatal(err)
	}
	g := p.Graph()
	var nodes []string
	for _, n := range g.Nodes {
		nodes = append(nodes, string(n.Kind)+" "+n.ID+" "+n.Type+" "+n.Role)
	}
	wantNodes := []string{
		"source in generate ", "stage f filter ", "stage enrich lookup ", "stage s sink ", "stage late sink ",
		"service service:out discard sink", "service service:users static lookup", "dead_letter dead-letters discard ",
	}
	if strings.Join(nodes, "|") != strings.Join(wantNodes, "|") {
		t.Errorf("nodes:\n got %q\nwant %q", nodes, wantNodes)
	}
	if g.Nodes[1].Replicas != 2 || g.Nodes[7].Name != "dl" {
		t.Errorf("replicas %d, dead-letter name %q", g.Nodes[1].Replicas, g.Nodes[7].Name)
	}
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, string(e.Kind)+" "+e.From+">"+e.To+" "+e.Condition)
	}
	wantEdges := []string{
		"route in>f ", "late in>late ", "route f>enrich record.key != ''", "route enrich>s ",
		"service enrich>service:users ", "service s>service:out ", "service late>service:out ",
		"dead_letter in>dead-letters ", "dead_letter f>dead-letters ", "dead_letter enrich>dead-letters ",
		"dead_letter s>dead-letters ", "dead_letter late>dead-letters ",
	}
	if strings.Join(edges, "|") != strings.Join(wantEdges, "|") {
		t.Errorf("edges:\n got %q\nwant %q", edges, wantEdges)
	}
	b, err := json.Marshal(g)
	if err != nil || !strings.Contains(string(b), `{"from":"f","to":"enrich","kind":"route","condition":"record.key != ''"}`) {
		t.Errorf("json: %v %s", err, b)
	}
}

func TestPlan_WriteGraph_ServicesAndDeadLetters(t *testing.T) {
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: g
settings: {dead_letter: dl}
sources: [{name: in, type: generate}]
services:
  out: {type: discard}
  dl: {type: discard}
  users: {type: static, rows: [{key: u1, value: {tier: gold}}]}
stages:
  - {id: enrich, type: lookup, lookup: {lookup_service: users, key_mappings: [{record_field: key, lookup_field: key}], result_field: tier}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: enrich}, {from: enrich, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		format GraphFormat
		want   []string
	}{
		{GraphDOT, []string{
			`"service:users" [shape=cylinder,label="users\n(static lookup)"];`,
			`"enrich" -> "service:users" [style=dotted,dir=none];`,
			`"dead-letters" [shape=cylinder,color=firebrick,fontcolor=firebrick,label="dead letters\n(discard: dl)"];`,
			`"in" -> "dead-letters" [style=dashed`,
		}},
		{GraphMermaid, []string{
			`n3[("out<br/>(discard sink)")]`, `n4[("users<br/>(static lookup)")]`, `n5[("dead letters<br/>(discard: dl)")]`,
			"n1 -.- n4", "n2 -.-> n3", "n0 -.-x n5", "style n5 stroke:#b22222",
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			var b strings.Builder
			if err := p.WriteGraph(&b, tt.format); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				if !strings.Contains(b.String(), want) {
					t.Errorf("missing %q:\n%s", want, b.String())
				}
			}
		})
	}
}
