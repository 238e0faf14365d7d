package engine

import (
	"context"
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func init() {
	registerStage(&stageKind{
		typ:    StageFilter,
		doc:    "keeps the records its condition accepts; the others end as filtered",
		keys:   []string{"condition"},
		traits: stageTraits{stateless: true},
		compile: func(c *compiler, n *node) {
			s := n.stage
			if s.Condition == nil {
				c.at(s.At, "stage %q: a filter stage needs a condition", s.ID)
				return
			}
			cond, err := s.Condition.compile(c.pl.env, c.p.File)
			c.add(err)
			n.impl = cond
		},
		build: func(_ *Runner, n *node) (processor, error) {
			return filterProc{cond: n.impl.(conditions.Condition)}, nil
		},
	})
}

// filterProc keeps the records its condition accepts.
type filterProc struct{ cond conditions.Condition }

func (f filterProc) process(_ context.Context, bc *batchCtx, in, out []*record.Record) []*record.Record {
	wm := celWatermark(bc.wm)
	for _, r := range in {
		ok, err := f.cond.EvalWatermark(r, wm)
		switch {
		case err != nil:
			bc.deadLetter(r, fmt.Sprintf("filter %q: %v", bc.stage, err)) // err names the condition
		case ok:
			out = append(out, r)
		default:
			end(r, record.Filtered)
		}
	}
	return out
}
