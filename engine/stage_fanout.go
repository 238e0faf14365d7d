package engine

import (
	"context"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func init() {
	registerStage(&stageKind{
		typ:    StageFanOut,
		doc:    "copies each record to every target whose condition holds, or to one of them with a strategy",
		keys:   []string{"fan_out"},
		traits: stageTraits{stateless: true},
		compile: func(c *compiler, n *node) {
			if n.stage.FanOut == nil {
				c.at(n.stage.At, "stage %q: a fan_out stage needs fan_out.sinks", n.stage.ID)
			}
			// The targets become routes in compiler.fanOutsAndIns.
		},
		build: func(*Runner, *node) (processor, error) { return passProc{}, nil },
	})
}

// passProc forwards records unchanged: a fan-out does its work in routing,
// which the executor runs in parallel with the processing.
type passProc struct{}

func (passProc) process(_ context.Context, _ *batchCtx, in, out []*record.Record) []*record.Record {
	return append(out, in...)
}
