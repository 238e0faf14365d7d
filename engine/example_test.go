package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// The seed's pipeline, built in Go: records go through a filter, then a
// fan-out copies them to s3, and to kafka when they are user events with a
// user id.
func ExampleRoutingEngine_Route() {
	p := &engine.Pipeline{
		ID:       "user-analytics",
		Sources:  []engine.Source{{Name: "kafka-users", Type: "generate"}},
		Services: map[string]engine.Service{"s3": {Type: "discard"}, "kafka": {Type: "discard"}},
		Stages: []engine.Stage{
			{ID: "filter", Type: engine.StageFilter, Condition: engine.When(`record.payload.active`)},
			{ID: "fan", Type: engine.StageFanOut, FanOut: &engine.FanOutConfig{Sinks: []engine.FanOutSink{
				{SinkName: "s3"},
				{SinkName: "kafka", Condition: engine.WhenCondition(conditions.And(
					conditions.MetadataEquals("type", "user_event"),
					conditions.MetadataExists("user_id"),
				))},
			}}},
			{ID: "s3", Type: engine.StageSink, ServiceName: "s3"},
			{ID: "kafka", Type: engine.StageSink, ServiceName: "kafka"},
		},
		Edges: []engine.Edge{{From: "source", To: "filter"}, {From: "filter", To: "fan"}},
	}
	plan, err := p.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	re := engine.NewRoutingEngine()
	r := record.New("u1", []byte(`{"active": true}`))
	r.Metadata.Set("type", "user_event")
	r.Metadata.Set("user_id", "u1")
	for _, from := range []string{"source", "filter", "fan"} {
		next, _ := re.Route(plan, from, r)
		for _, s := range next {
			fmt.Printf("%s -> %s\n", from, s.ID)
		}
	}
	// Output:
	// source -> filter
	// filter -> fan
	// fan -> s3
	// fan -> kafka
}

// Run a pipeline file: read JSON lines, keep the active ones, write them.
func ExampleRunner_Run() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte("{\"n\":1,\"active\":true}\n{\"n\":2,\"active\":false}\nnot json\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(`
id: example
sources: [{name: in, type: file, path: in.jsonl}]
services: {out: {type: file, path: out.jsonl}}
stages:
  - {id: active, type: filter, condition: record.payload.active}
  - {id: write, type: sink, service_name: out}
edges: [{from: in, to: active}, {from: active, to: write}]
`), 0o644)
	p, err := engine.Load(filepath.Join(dir, "p.yaml"))
	if err != nil {
		fmt.Println(err)
		return
	}
	var deadLetters bytes.Buffer
	r, _ := engine.NewRunner(p, engine.RunOptions{DeadLetterOut: &deadLetters})
	sum, _ := r.Run(context.Background())
	out, _ := os.ReadFile(filepath.Join(dir, "out.jsonl"))
	fmt.Print(string(out))
	fmt.Println(sum.In, sum.Delivered, sum.Filtered, sum.DeadLettered, sum.Balanced())
	// Output:
	// {"n":1,"active":true}
	// 3 1 1 1 true
}

// A pipeline built in Go: a file source and a file sink, configured with
// the keys a pipeline file would give them.
func ExampleConfigOf() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte("{\"n\":1}\n{\"n\":2}\n"), 0o644)
	p := &engine.Pipeline{
		ID: "from-go",
		Sources: []engine.Source{{Name: "in", Type: "file",
			Config: engine.ConfigOf(map[string]any{"path": filepath.Join(dir, "in.jsonl")})}},
		Services: map[string]engine.Service{"out": {Type: "file",
			Config: engine.ConfigOf(map[string]any{"path": filepath.Join(dir, "out.jsonl")})}},
		Stages: []engine.Stage{
			{ID: "big", Type: engine.StageFilter, Condition: engine.When(`record.payload.n > 1`)},
			{ID: "write", Type: engine.StageSink, ServiceName: "out"},
		},
		Edges: []engine.Edge{{From: "in", To: "big"}, {From: "big", To: "write"}},
	}
	plan, err := p.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := engine.NewRunner(plan, engine.RunOptions{})
	if _, err := r.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out.jsonl"))
	fmt.Print(string(out))

	// A key the connector does not have is reported when the pipeline is
	// compiled, at the source that holds it.
	p.Sources[0].Config = engine.ConfigOf(map[string]any{"pth": "in.jsonl"})
	_, err = p.Compile()
	fmt.Println(err)
	// Output:
	// {"n":2}
	// pipeline: source "in": missing required key "path"
	// pipeline: source "in": unknown key "pth" (did you mean "path"?)
}
