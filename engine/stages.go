package engine

import (
	"context"
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// filterProc keeps the records its condition accepts.
type filterProc struct{ cond conditions.Condition }

func (f filterProc) process(_ context.Context, w *worker, in, out []*record.Record) []*record.Record {
	wm := celWatermark(w.wm)
	for _, r := range in {
		ok, err := f.cond.EvalWatermark(r, wm)
		switch {
		case err != nil:
			w.deadLetter(r, fmt.Sprintf("filter %q: %v", w.n.id, err)) // err names the condition
		case ok:
			out = append(out, r)
		default:
			end(r, record.Filtered)
		}
	}
	return out
}

// metadataProc sets metadata from CEL expressions and removes keys.
type metadataProc struct {
	set    []metaSetter
	remove []string
}

func (m metadataProc) process(_ context.Context, w *worker, in, out []*record.Record) []*record.Record {
next:
	for _, r := range in {
		for _, s := range m.set {
			v, err := s.val.EvalString(r)
			if err != nil {
				w.deadLetter(r, fmt.Sprintf("metadata %q: set %q: %v", w.n.id, s.key, err))
				continue next
			}
			r.Metadata.Set(s.key, v)
		}
		for _, k := range m.remove {
			r.Metadata.Delete(k)
		}
		out = append(out, r)
	}
	return out
}

// passProc forwards records unchanged: fan-out does its work in routing.
type passProc struct{}

func (passProc) process(_ context.Context, _ *worker, in, out []*record.Record) []*record.Record {
	return append(out, in...)
}

// sinkProc writes records to a sink service shared by every stage (and
// replica) that names it.
type sinkProc struct{ s *sinkRT }

// idle flushes the sink when its stage's queue has run dry, so that a slow
// stream reaches its output promptly while a busy one flushes only when its
// buffer fills.
func (p *sinkProc) idle(w *worker) {
	p.s.mu.Lock()
	err := p.s.sink.Flush()
	p.s.mu.Unlock()
	if err != nil {
		w.r.fail(fmt.Errorf("sink %q: flush: %w", p.s.name, err))
	}
}

func (p *sinkProc) process(ctx context.Context, w *worker, in, out []*record.Record) []*record.Record {
	p.s.mu.Lock()
	err := p.s.sink.Write(ctx, in)
	p.s.mu.Unlock()
	if err != nil {
		for _, r := range in {
			w.deadLetter(r, fmt.Sprintf("sink %q: %v", p.s.name, err))
		}
		return out
	}
	for _, r := range in {
		end(r, record.Delivered)
	}
	return out
}
