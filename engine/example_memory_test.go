package engine_test

import (
	"context"
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine"
)

// Embedding the engine: records pushed from Go, a filter, records
// collected in Go. No file is read or written: the in-memory source and
// sink replace the pipeline's by name.
func ExampleRunOptions_inMemory() {
	p := &engine.Pipeline{
		ID:       "embedded",
		Sources:  []engine.Source{{Name: "in", Type: "generate"}},
		Services: map[string]engine.Service{"out": {Type: "discard"}},
		Stages: []engine.Stage{
			{ID: "big", Type: engine.StageFilter, Condition: engine.When(`record.payload.n > 1`)},
			{ID: "write", Type: engine.StageSink, ServiceName: "out"},
		},
		Edges: []engine.Edge{{From: "in", To: "big"}, {From: "big", To: "write"}},
	}
	plan, _ := p.Compile()
	out := connectors.NewCollectSink()
	r, _ := engine.NewRunner(plan, engine.RunOptions{
		Sources: map[string]connectors.Source{"in": connectors.NewPayloadSource(`{"n":1}`, `{"n":2}`, `{"n":3}`)},
		Sinks:   map[string]connectors.Sink{"out": out},
	})
	sum, _ := r.Run(context.Background())
	fmt.Println(out.Payloads(), sum.Delivered, sum.Filtered)
	// Output: [{"n":2} {"n":3}] 2 1
}
