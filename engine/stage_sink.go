package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func init() {
	registerStage(&stageKind{
		typ:     StageSink,
		doc:     "writes records to a sink service; records end as delivered once written",
		service: capSink,
		traits:  stageTraits{terminal: true},
		build: func(r *Runner, n *node) (processor, error) {
			s, err := r.sink(n.stage.ServiceName)
			if err != nil {
				return nil, err
			}
			return &sinkProc{s: s}, nil
		},
	})
}

// sinkRT is a run's instance of a sink service, shared by every stage (and
// replica) that names it.
type sinkRT struct {
	mu      sync.Mutex
	name    string
	sink    connectors.Sink
	obs     Observer
	written atomic.Int64 // records the sink accepted
	errors  atomic.Int64 // failed writes and flushes
}

// sinkProc writes records to a sink service.
type sinkProc struct{ s *sinkRT }

// idle flushes the sink when its stage's queue has run dry, so that a slow
// stream reaches its output promptly while a busy one flushes only when its
// buffer fills.
func (p *sinkProc) idle(_ context.Context, _ *Runner) error {
	p.s.mu.Lock()
	err := p.s.sink.Flush()
	p.s.mu.Unlock()
	if err != nil {
		p.s.errors.Add(1)
		return fmt.Errorf("sink %q: flush: %w", p.s.name, err)
	}
	return nil
}

func (p *sinkProc) process(ctx context.Context, bc *batchCtx, in, out []*record.Record) []*record.Record {
	start := time.Now()
	p.s.mu.Lock()
	err := p.s.sink.Write(ctx, in)
	p.s.mu.Unlock()
	p.s.obs.SinkWrite(p.s.name, len(in), time.Since(start), err)
	if err != nil {
		p.s.errors.Add(1)
		for _, r := range in {
			bc.deadLetter(r, fmt.Sprintf("sink %q: %v", p.s.name, err))
		}
		return out
	}
	p.s.written.Add(int64(len(in)))
	for _, r := range in {
		end(r, record.Delivered)
	}
	return out
}
