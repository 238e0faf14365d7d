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
		doc:     "writes records to a sink service; records end as delivered once the sink has flushed them",
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

// Sinks acknowledge only what is durable: a record a sink accepted with
// Write is pending until the sink's next successful Flush (which, by the
// connectors.Sink contract, makes everything written since the previous
// one durable as the sink promises); only then does it end as delivered.
// A failed Write or Flush has discarded everything since the last
// successful Flush, so the pending records are written again, with
// backoff, up to settings.sink_retries times; then they are dead-lettered
// with the sink's error.
const (
	// sinkFlushRecords and sinkFlushBytes bound what a sink holds pending
	// before the engine flushes it (it also flushes when the stage's queue
	// runs dry, and at the end of the run).
	sinkFlushRecords = 16 << 10
	sinkFlushBytes   = 1 << 20
)

// Defaults of the sink retry settings.
const (
	DefaultSinkRetries      = 3
	DefaultSinkRetryBackoff = 100 * time.Millisecond
)

// sinkRT is a run's instance of a sink service, shared by every stage (and
// replica) that names it.
type sinkRT struct {
	mu      sync.Mutex
	name    string
	sink    connectors.Sink
	obs     Observer
	retries int
	backoff time.Duration
	// pending are the records written since the last successful Flush.
	pending      []*record.Record
	pendingBytes int
	written      atomic.Int64 // records flushed
	errors       atomic.Int64 // failed writes and flushes
}

// canRetry reports whether the sink can take a failed write back, so that
// writing the pending records again does not duplicate them.
func (s *sinkRT) canRetry() bool {
	rb, ok := s.sink.(interface{ CanRollback() bool })
	return !ok || rb.CanRollback()
}

// write writes recs, flushing when enough is pending; records that end up
// neither flushed nor pending are dead-lettered through bc.
func (s *sinkRT) write(ctx context.Context, bc *batchCtx, recs []*record.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	err := s.sink.Write(ctx, recs)
	s.obs.SinkWrite(s.name, len(recs), time.Since(start), err)
	if err != nil {
		s.recover(ctx, bc, recs, err)
		return
	}
	s.pending = append(s.pending, recs...)
	for _, r := range recs {
		s.pendingBytes += len(r.Payload) + 1
	}
	if len(s.pending) >= sinkFlushRecords || s.pendingBytes >= sinkFlushBytes {
		s.flushLocked(ctx, bc)
	}
}

// flush flushes the sink and acknowledges what it held pending.
func (s *sinkRT) flush(ctx context.Context, bc *batchCtx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked(ctx, bc)
}

func (s *sinkRT) flushLocked(ctx context.Context, bc *batchCtx) {
	if len(s.pending) == 0 {
		return
	}
	if err := s.sink.Flush(); err != nil {
		s.recover(ctx, bc, nil, err)
		return
	}
	s.delivered()
}

// delivered acknowledges every pending record as delivered.
func (s *sinkRT) delivered() {
	s.written.Add(int64(len(s.pending)))
	for i, r := range s.pending {
		end(r, record.Delivered)
		s.pending[i] = nil
	}
	s.pending, s.pendingBytes = s.pending[:0], 0
}

// recover handles a failed Write (of extra) or Flush: the sink discarded
// everything since its last successful Flush, so the pending records and
// extra are written again, up to s.retries times with doubling backoff;
// if that fails too, they are dead-lettered with the error.
func (s *sinkRT) recover(ctx context.Context, bc *batchCtx, extra []*record.Record, err error) {
	s.errors.Add(1)
	s.pending = append(s.pending, extra...)
	attempts := 1
	if s.canRetry() {
		wait := s.backoff
		for ; attempts <= s.retries && ctx.Err() == nil; attempts++ {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			if ctx.Err() != nil {
				break
			}
			wait = min(2*wait, 5*time.Second)
			if err = s.sink.Write(ctx, s.pending); err == nil {
				if err = s.sink.Flush(); err == nil {
					s.delivered()
					return
				}
			}
			s.errors.Add(1)
		}
	}
	reason := fmt.Sprintf("sink %q: %v", s.name, err)
	if attempts > 1 {
		reason += fmt.Sprintf(" (%d attempts)", attempts)
	}
	for i, r := range s.pending {
		if ctx.Err() != nil {
			end(r, record.Unprocessed) // a hard stop: not written, not acknowledged
		} else {
			bc.deadLetterKind(r, reason, "sink")
		}
		s.pending[i] = nil
	}
	s.pending, s.pendingBytes = s.pending[:0], 0
}

// sinkProc writes records to a sink service.
type sinkProc struct{ s *sinkRT }

// idle flushes the sink when its stage's queue has run dry (and at the
// end of the run), so that a slow stream reaches its output, and is
// acknowledged, promptly, while a busy one flushes only when enough is
// pending.
func (p *sinkProc) idle(ctx context.Context, bc *batchCtx) {
	p.s.flush(ctx, bc)
}

func (p *sinkProc) process(ctx context.Context, bc *batchCtx, in, out []*record.Record) []*record.Record {
	p.s.write(ctx, bc, in)
	return out
}
