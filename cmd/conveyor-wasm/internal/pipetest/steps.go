package pipetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

// settleTimeout bounds how long a step waits for the pipeline to settle.
const settleTimeout = 10 * time.Second

// stepSource is one source of a case run step by step.
type stepSource struct {
	*connectors.StepSource
	ended bool
}

func newStepSource() *stepSource { return &stepSource{StepSource: connectors.NewStepSource()} }

// driver runs a case's steps against a running pipeline.
type driver struct {
	s     *suite
	r     *engine.Runner
	clk   *watermark.ManualClock
	srcs  map[string]*stepSource
	sinks map[string]*connectors.CollectSink
	dlOut *bytes.Buffer
}

// drive runs the steps in order and returns what did not hold. A step
// that cannot be carried out (the pipeline does not settle, a source
// fails) stops the case: the run is drained.
func (d *driver) drive(ctx context.Context, steps []Step) []string {
	var fails []string
	for i := range steps {
		st := &steps[i]
		at := fmt.Sprintf("step %d (line %d)", i+1, st.Line)
		k, _ := st.kind() // checked by Load
		if k == "expect" {
			fails = append(fails, d.check(at, st)...)
			continue
		}
		if err := d.do(ctx, k, st); err != nil {
			d.r.Drain()
			return append(fails, fmt.Sprintf("%s: %v", at, err))
		}
		if err := d.settle(ctx); err != nil {
			d.r.Drain()
			return append(fails, fmt.Sprintf("%s: %v", at, err))
		}
	}
	return fails
}

// settle waits until the pipeline has settled after a step.
func (d *driver) settle(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if err := d.r.WaitIdle(sctx); err != nil {
		return fmt.Errorf("%w (a merge whose buffer is full waits for a watermark only a later step brings: feed fewer records per step, or raise the fan_in buffer)", err)
	}
	return nil
}

// do carries out one step that feeds the pipeline or moves the clock.
func (d *driver) do(ctx context.Context, kind string, st *Step) error {
	src := d.srcs[st.Source]
	if kind != "advance" && src.ended {
		return fmt.Errorf("source %q has already ended", st.Source)
	}
	switch kind {
	case "records":
		ts, err := d.s.source(st.Source, st.Records)
		if err != nil {
			return err
		}
		return src.Do(ctx, func(ctx context.Context, out connectors.Emitter) error {
			if st.Partition != "" {
				pe, ok := out.(connectors.PartitionEmitter)
				if !ok {
					return errors.New("the engine's emitter takes no partitions")
				}
				out = &partitionOut{Emitter: out, pe: pe, partition: st.Partition}
			}
			return ts.Read(ctx, out)
		})
	case "watermark":
		t, _ := time.Parse(time.RFC3339Nano, st.Watermark) // checked by Load
		return src.Do(ctx, func(ctx context.Context, out connectors.Emitter) error {
			we, ok := out.(connectors.WatermarkEmitter)
			if !ok {
				return errors.New("the engine's emitter takes no watermark marks")
			}
			return we.EmitWatermark(ctx, t)
		})
	case "idle":
		return src.Do(ctx, func(ctx context.Context, out connectors.Emitter) error {
			if st.Partition != "" {
				pe, ok := out.(connectors.PartitionEmitter)
				if !ok {
					return errors.New("the engine's emitter takes no partitions")
				}
				return pe.IdlePartition(ctx, st.Partition)
			}
			we, ok := out.(connectors.WatermarkEmitter)
			if !ok {
				return errors.New("the engine's emitter takes no idle marks")
			}
			return we.MarkIdle(ctx)
		})
	case "end":
		src.ended = true
		src.End()
		select {
		case <-d.r.SourceDone(st.Source):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case "advance":
		// Activity is stamped at ticks: stamp what the steps before did at
		// the time they did it, then move the clock and look again.
		d.r.Tick()
		d.clk.Advance(st.Advance)
		d.r.Tick()
		return nil
	}
	return fmt.Errorf("unknown step %q", kind)
}

// check checks a step's expectations against what arrived so far.
func (d *driver) check(at string, st *Step) []string {
	var fails []string
	for _, name := range slices.Sorted(mapsKeys(st.Expect)) {
		got := d.sinks[d.s.sinks[name]].Records()
		for _, f := range d.s.checkSink(name, st.Expect[name], got) {
			fails = append(fails, at+": "+f)
		}
	}
	if st.DeadLetters != nil {
		for _, f := range checkDeadLetters(*st.DeadLetters, d.s.deadLetters(d.sinks, d.dlOut.Bytes())) {
			fails = append(fails, at+": "+f)
		}
	}
	return fails
}

// endAll ends the sources no step ended, so that the run completes.
func (d *driver) endAll() {
	for _, src := range d.srcs {
		if !src.ended {
			src.ended = true
			src.End()
		}
	}
}

// capture is what one source's Read did, kept to be done again, one call
// at a time, on the pipeline's emitter: a case's inputs are read first
// (files with the file connector), then fed in turns.
type capture struct {
	ops []func(context.Context, connectors.Emitter) error
}

var (
	_ connectors.Emitter        = (*capture)(nil)
	_ connectors.RecordRejecter = (*capture)(nil)
	_ connectors.SkipCounter    = (*capture)(nil)
)

// captureRead runs src's Read against a capture.
func captureRead(ctx context.Context, src connectors.Source) (*capture, error) {
	c := &capture{}
	err := src.Read(ctx, c)
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	return c, err
}

func (c *capture) Emit(_ context.Context, batch []*record.Record) error {
	c.ops = append(c.ops, func(ctx context.Context, out connectors.Emitter) error { return out.Emit(ctx, batch) })
	return nil
}

func (c *capture) Reject(_ context.Context, raw []byte, origin string, err error) error {
	c.ops = append(c.ops, func(ctx context.Context, out connectors.Emitter) error { return out.Reject(ctx, raw, origin, err) })
	return nil
}

func (c *capture) RejectRecord(_ context.Context, rec *record.Record, err error) error {
	c.ops = append(c.ops, func(ctx context.Context, out connectors.Emitter) error {
		if rr, ok := out.(connectors.RecordRejecter); ok {
			return rr.RejectRecord(ctx, rec, err)
		}
		return out.Reject(ctx, rec.Payload, rec.Origin, err)
	})
	return nil
}

func (c *capture) Skipped(n int, why string) {
	c.ops = append(c.ops, func(_ context.Context, out connectors.Emitter) error {
		if sc, ok := out.(connectors.SkipCounter); ok {
			sc.Skipped(n, why)
		}
		return nil
	})
}

// feed feeds a case's inputs in turns, one batch at a time, each once the
// pipeline has settled after the one before: next is always the source
// furthest behind in event time (the lowest watermark; sources without one
// first; ties in name order), as if they were read in step. A source whose
// input is used up ends. Read at once, two sources would race each other,
// and what is late at a merge would depend on which got ahead; fed so, a
// case gives the same result every time, and a merge's buffer never fills
// with one input while it waits for another.
func (d *driver) feed(ctx context.Context, fed map[string]*capture) []string {
	for {
		name := d.behind(fed)
		if name == "" {
			return nil
		}
		src, c := d.srcs[name], fed[name]
		var err error
		if len(c.ops) == 0 {
			err = d.do(ctx, "end", &Step{Source: name})
		} else {
			op := c.ops[0]
			c.ops = c.ops[1:]
			err = src.Do(ctx, op)
		}
		if err == nil {
			err = d.settle(ctx)
		}
		if err != nil {
			d.r.Drain()
			return []string{fmt.Sprintf("feeding source %q: %v", name, err)}
		}
	}
}

// behind is the source still open that is furthest behind, or "".
func (d *driver) behind(fed map[string]*capture) string {
	wm := map[string]time.Time{}
	for _, sp := range d.r.Summary().Sources {
		wm[sp.Source] = sp.Watermark // zero: none yet
	}
	best := ""
	for _, name := range slices.Sorted(mapsKeys(fed)) {
		if d.srcs[name].ended {
			continue
		}
		if best == "" || wm[name].Before(wm[best]) {
			best = name
		}
	}
	return best
}

// partitionOut emits a step's records on one partition of its source.
type partitionOut struct {
	connectors.Emitter
	pe        connectors.PartitionEmitter
	partition string
}

var (
	_ connectors.RecordRejecter = (*partitionOut)(nil)
	_ connectors.SkipCounter    = (*partitionOut)(nil)
)

func (p *partitionOut) Emit(ctx context.Context, batch []*record.Record) error {
	return p.pe.EmitPartition(ctx, p.partition, batch)
}

func (p *partitionOut) RejectRecord(ctx context.Context, rec *record.Record, err error) error {
	if rr, ok := p.Emitter.(connectors.RecordRejecter); ok {
		return rr.RejectRecord(ctx, rec, err)
	}
	return p.Reject(ctx, rec.Payload, rec.Origin, err)
}

func (p *partitionOut) Skipped(n int, why string) {
	if sc, ok := p.Emitter.(connectors.SkipCounter); ok {
		sc.Skipped(n, why)
	}
}
