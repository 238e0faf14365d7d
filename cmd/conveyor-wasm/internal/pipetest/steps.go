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
		sctx, cancel := context.WithTimeout(ctx, settleTimeout)
		err := d.r.WaitIdle(sctx)
		cancel()
		if err != nil {
			d.r.Drain()
			return append(fails, fmt.Sprintf("%s: %v (a merge whose buffer is full waits for a watermark only a later step brings: feed fewer records per step, or raise the fan_in buffer)", at, err))
		}
	}
	return fails
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
		return src.Do(ctx, func(ctx context.Context, out connectors.Emitter) error { return ts.Read(ctx, out) })
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
