package connectors

import (
	"context"
	"slices"
	"sync"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// memoryBatch is how many records the in-memory sources hand on per Emit.
const memoryBatch = 256

// SliceSource is a Source that emits records given in Go, then ends: a
// program embedding the engine, or a test, feeds a pipeline with it through
// engine.RunOptions.Sources. Each record is copied as it is emitted (the
// pipeline owns what it is given), so the slice may be read again
// afterwards and the source run more than once.
type SliceSource struct {
	recs []*record.Record
}

var _ Source = (*SliceSource)(nil)

// NewSliceSource returns a source that emits recs in order.
func NewSliceSource(recs ...*record.Record) *SliceSource {
	return &SliceSource{recs: recs}
}

// NewPayloadSource returns a source that emits one record per payload, with
// no key and no event time: NewSliceSource for the common case.
func NewPayloadSource(payloads ...string) *SliceSource {
	recs := make([]*record.Record, len(payloads))
	for i, p := range payloads {
		recs[i] = record.New("", []byte(p))
	}
	return NewSliceSource(recs...)
}

// Read implements Source.
func (s *SliceSource) Read(ctx context.Context, out Emitter) error {
	for chunk := range slices.Chunk(s.recs, memoryBatch) {
		batch := make([]*record.Record, len(chunk))
		for i, r := range chunk {
			batch[i] = copyRecord(r)
		}
		if err := out.Emit(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// Close implements Source.
func (s *SliceSource) Close() error { return nil }

// ChanSource is a Source that emits the records received from a channel
// until the channel is closed (the source's end) or the run is stopped: a
// program pushes records into a running pipeline with it. Records that are
// ready together are handed on in one batch; the source never waits to
// fill a batch. The pipeline owns each record it receives.
type ChanSource struct {
	ch <-chan *record.Record
}

var _ Source = (*ChanSource)(nil)

// NewChanSource returns a source that reads ch until it is closed.
func NewChanSource(ch <-chan *record.Record) *ChanSource {
	return &ChanSource{ch: ch}
}

// Read implements Source. It returns nil once the channel is closed and
// ctx.Err() when the run stops first.
func (s *ChanSource) Read(ctx context.Context, out Emitter) error {
	for {
		var first *record.Record
		var ok bool
		select {
		case first, ok = <-s.ch:
			if !ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		batch := []*record.Record{first}
		closed := false
	more:
		for len(batch) < memoryBatch {
			select {
			case r, ok := <-s.ch:
				if !ok {
					closed = true
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if err := out.Emit(ctx, batch); err != nil {
			return err
		}
		if closed {
			return nil
		}
	}
}

// Close implements Source.
func (s *ChanSource) Close() error { return nil }

// StepSource is a source driven from Go one step at a time: Do runs a
// function with the pipeline's emitter on the source's own goroutine and
// returns once it has, so a test that calls Runner.WaitIdle after each
// step knows exactly what the step did (`conveyor-wasm test` runs a case's
// steps on it). End ends the input; the run ends once every source has.
type StepSource struct {
	steps chan func(context.Context, Emitter) error
	errs  chan error
	end   sync.Once
}

var _ Source = (*StepSource)(nil)

// NewStepSource returns a StepSource waiting for its first step.
func NewStepSource() *StepSource {
	return &StepSource{steps: make(chan func(context.Context, Emitter) error), errs: make(chan error, 1)}
}

// Read implements Source: it runs the steps given to Do until End, or
// until the run stops (ctx.Err()).
func (s *StepSource) Read(ctx context.Context, out Emitter) error {
	for {
		select {
		case f, ok := <-s.steps:
			if !ok {
				return nil
			}
			s.errs <- f(ctx, out)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Do runs f with the pipeline's emitter (and the source's context) on the
// source's goroutine, once the run has started reading the source, and
// returns f's error; or ctx's, if ctx ends first. Do and End are not to be
// called concurrently.
func (s *StepSource) Do(ctx context.Context, f func(context.Context, Emitter) error) error {
	select {
	case s.steps <- f:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-s.errs:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Emit is Do for one batch of records.
func (s *StepSource) Emit(ctx context.Context, recs ...*record.Record) error {
	return s.Do(ctx, func(ctx context.Context, out Emitter) error { return out.Emit(ctx, recs) })
}

// End ends the source's input (Read returns); calling it again does
// nothing.
func (s *StepSource) End() { s.end.Do(func() { close(s.steps) }) }

// Close implements Source.
func (s *StepSource) Close() error { return nil }

// CollectSink is a Sink that keeps the records it is given, in memory: a
// program or a test reads what a pipeline delivered with Records once the
// run has returned (or while it runs: CollectSink is safe for concurrent
// use). It keeps the Sink contract: only flushed records are delivered;
// it never fails.
type CollectSink struct {
	mu      sync.Mutex
	pending []*record.Record
	done    []*record.Record
}

var _ Sink = (*CollectSink)(nil)

// NewCollectSink returns an empty CollectSink.
func NewCollectSink() *CollectSink { return &CollectSink{} }

// Write implements Sink: it copies the records (the sink may not keep the
// engine's).
func (c *CollectSink) Write(_ context.Context, batch []*record.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range batch {
		c.pending = append(c.pending, copyRecord(r))
	}
	return nil
}

// Flush implements Sink: what was written becomes delivered.
func (c *CollectSink) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = append(c.done, c.pending...)
	c.pending = nil
	return nil
}

// Close implements Sink.
func (c *CollectSink) Close() error { return c.Flush() }

// Records returns copies of the records delivered so far (written and
// flushed), in the order they were written.
func (c *CollectSink) Records() []*record.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*record.Record, len(c.done))
	for i, r := range c.done {
		out[i] = copyRecord(r)
	}
	return out
}

// Payloads returns the payloads of Records as strings.
func (c *CollectSink) Payloads() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.done))
	for i, r := range c.done {
		out[i] = string(r.Payload)
	}
	return out
}

// Reset forgets every record, so that the sink can serve another run.
func (c *CollectSink) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending, c.done = nil, nil
}

// copyRecord copies what a record is (key, payload, metadata, event time,
// source, origin), without its acknowledgement or parse state.
func copyRecord(r *record.Record) *record.Record {
	c := record.New(r.Key, slices.Clone(r.Payload))
	if r.Payload != nil && c.Payload == nil {
		c.Payload = []byte{}
	}
	c.EventTime = r.EventTime
	c.Source = r.Source
	c.Origin = r.Origin
	if len(r.Metadata) > 0 {
		c.Metadata = slices.Clone(r.Metadata)
	}
	return c
}
