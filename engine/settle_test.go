package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

// stepSource is connectors.StepSource with test helpers.
type stepSource struct{ *connectors.StepSource }

func newStepSource() *stepSource { return &stepSource{connectors.NewStepSource()} }

// do runs f on the source's goroutine and waits for it.
func (s *stepSource) do(t *testing.T, f func(connectors.Emitter) error) {
	t.Helper()
	if err := s.Do(context.Background(), func(_ context.Context, out connectors.Emitter) error { return f(out) }); err != nil {
		t.Fatal(err)
	}
}

// emit emits records with the given payloads in one batch.
func (s *stepSource) emit(t *testing.T, payloads ...string) {
	t.Helper()
	var recs []*record.Record
	for _, p := range payloads {
		recs = append(recs, record.New("", []byte(p)))
	}
	if err := s.Emit(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
}

// settledRun starts a run of src with its sources in memory and the
// sink service out collected; it returns the runner, the sink, and a
// function that ends the sources and returns the summary.
func settledRun(t *testing.T, src string, clock watermark.Clock) (*Runner, map[string]*stepSource, *connectors.CollectSink, func() Summary) {
	t.Helper()
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string]*stepSource{}
	sources := map[string]connectors.Source{}
	for _, s := range plan.Pipeline().Sources {
		srcs[s.Name] = newStepSource()
		sources[s.Name] = srcs[s.Name]
	}
	out := connectors.NewCollectSink()
	var dl strings.Builder
	r, err := NewRunner(plan, RunOptions{
		Sources:       sources,
		Sinks:         map[string]connectors.Sink{"out": out},
		DeadLetterOut: &dl,
		Clock:         clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Summary, 1)
	go func() {
		sum, err := r.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- sum
	}()
	end := func() Summary {
		for _, s := range srcs {
			s.End()
		}
		sum := <-done
		if n := r.inflight.Load(); n != 0 {
			t.Errorf("%d batches still counted in flight after the run", n)
		}
		if !sum.Balanced() {
			t.Errorf("unbalanced: %s; dead letters: %s", sum, dl.String())
		}
		return sum
	}
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			r.Drain()
		}
	})
	return r, srcs, out, end
}

func waitIdle(t *testing.T, r *Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

const twoInputMerge = `id: settle
settings: {%s}
sources:
  - {name: a, type: generate, event_time: {field: ts, unit: ms}, watermark: {}}
  - {name: b, type: generate, event_time: {field: ts, unit: ms}, watermark: {}}
services: {out: {type: discard}}
stages:
  - {id: keep, type: filter, condition: "record.payload.keep == true"}
  - {id: merge, type: fan_in, fan_in: {sources: [{source_name: keep}, {source_name: b}]}}
  - {id: write, type: sink, service_name: out}
edges: [{from: a, to: keep}, {from: keep, to: merge}, {from: merge, to: write}]
`

func payloadTimes(t *testing.T, out *connectors.CollectSink) string {
	t.Helper()
	var ts []string
	for _, r := range out.Records() {
		ts = append(ts, fmt.Sprint(time.Unix(0, r.EventTime).UnixMilli()))
	}
	return strings.Join(ts, " ")
}

// A filter that drops a whole batch still passes its input's watermark on:
// the merge behind it releases the other input's records without waiting
// for a record on that path (or for its end). Before, the merge held
// everything until the filtered source ended.
func TestRunner_Run_FilteredBatchForwardsTheWatermark(t *testing.T) {
	t.Parallel()
	r, srcs, out, end := settledRun(t, fmt.Sprintf(twoInputMerge, ""), nil)
	srcs["b"].emit(t, `{"ts":2000}`, `{"ts":3000}`)
	srcs["a"].emit(t, `{"ts":1000,"keep":false}`, `{"ts":5000,"keep":false}`)
	waitIdle(t, r)
	// The merge watermark is min(a: 4999, b: 2999) ms.
	if got := payloadTimes(t, out); got != "2000" {
		t.Fatalf("released %q while a is open, want 2000", got)
	}
	end()
	if got := payloadTimes(t, out); got != "2000 3000" {
		t.Fatalf("after the end: %q", got)
	}
}

// A source's watermark mark (connectors.WatermarkEmitter) moves the merge
// on without a record.
func TestRunner_Run_SourceWatermarkMark(t *testing.T) {
	t.Parallel()
	r, srcs, out, end := settledRun(t, fmt.Sprintf(twoInputMerge, ""), nil)
	srcs["b"].emit(t, `{"ts":2000}`, `{"ts":3000}`)
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "" {
		t.Fatalf("released %q before a said anything", got)
	}
	srcs["a"].do(t, func(out connectors.Emitter) error {
		return out.(connectors.WatermarkEmitter).EmitWatermark(context.Background(), time.UnixMilli(10_000))
	})
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "2000" {
		t.Fatalf("released %q after a's mark, want 2000", got)
	}
	// Once b moves on too, the combined watermark is a's mark: a record
	// of a behind it is late at the source (dead-lettered by default).
	srcs["b"].emit(t, `{"ts":20000}`)
	srcs["a"].emit(t, `{"ts":9000,"keep":true}`)
	waitIdle(t, r)
	sum := end()
	if sum.DeadLettered != 1 || sum.Late != 1 {
		t.Fatalf("the record behind the mark: %s", sum)
	}
}

// With a manual clock, idleness follows the clock and Tick, not the wall:
// an input silent past idle_timeout stops holding the merge back at the
// Tick after the clock moved, and not before.
func TestRunner_Tick_ManualClockIdlesAnInput(t *testing.T) {
	t.Parallel()
	clk := watermark.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, srcs, out, end := settledRun(t, fmt.Sprintf(twoInputMerge, "idle_timeout: 5s"), clk)
	srcs["a"].emit(t, `{"ts":1000,"keep":true}`)
	srcs["b"].emit(t, `{"ts":2000}`, `{"ts":3000}`)
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "" {
		t.Fatalf("released %q with both inputs active", got)
	}
	r.Tick() // activity is stamped at ticks: stamp it before the clock moves
	clk.Advance(4 * time.Second)
	r.Tick()
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "" {
		t.Fatalf("released %q before the idle timeout", got)
	}
	// The wall clock's own ticks (every idle_timeout/4) change nothing
	// while the manual clock stands still.
	time.Sleep(1500 * time.Millisecond)
	if got := payloadTimes(t, out); got != "" {
		t.Fatalf("released %q with the manual clock stopped", got)
	}
	srcs["b"].emit(t, `{"ts":4000}`) // b stays active; a has been silent 4s
	r.Tick()
	clk.Advance(2 * time.Second)
	r.Tick()
	waitIdle(t, r)
	// a is idle: the merge follows b alone (3999 ms).
	if got := payloadTimes(t, out); got != "1000 2000 3000" {
		t.Fatalf("released %q after a idled, want 1000 2000 3000", got)
	}
	for _, s := range r.Summary().Sources {
		if want := map[string]string{"a": "idle", "b": "active"}[s.Source]; s.State != want {
			t.Errorf("source %s is %s in the tracker, want %s", s.Source, s.State, want)
		}
	}
	end()
	if got := payloadTimes(t, out); got != "1000 2000 3000 4000" {
		t.Fatalf("after the end: %q", got)
	}
}

// use_processing_time and max_future read the run's clock.
func TestRunner_Run_ProcessingTimeFromTheRunClock(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	src := `id: clock
sources:
  - {name: a, type: generate, event_time: {field: ts, unit: ms, missing: use_processing_time}}
  - {name: b, type: generate, event_time: {field: ts, unit: ms}, watermark: {max_future: 1m, future: dead_letter}}
services: {out: {type: discard}}
stages: [{id: write, type: sink, service_name: out}]
edges: [{from: a, to: write}, {from: b, to: write}]
`
	r, srcs, out, end := settledRun(t, src, watermark.NewManualClock(now))
	srcs["a"].emit(t, `{"n":1}`)
	srcs["b"].emit(t, fmt.Sprintf(`{"ts":%d}`, now.Add(30*time.Second).UnixMilli()), fmt.Sprintf(`{"ts":%d}`, now.Add(2*time.Minute).UnixMilli()))
	waitIdle(t, r)
	sum := end()
	var stamped []time.Time
	for _, rec := range out.Records() {
		stamped = append(stamped, time.Unix(0, rec.EventTime).UTC())
	}
	if len(stamped) != 2 || !stamped[0].Equal(now) && !stamped[1].Equal(now) {
		t.Fatalf("event times %v: want one stamped with the run clock's %v", stamped, now)
	}
	if sum.DeadLettered != 1 {
		t.Fatalf("the record 2m ahead of the run clock (max_future 1m): %s", sum)
	}
}

// A source's idle mark (connectors.WatermarkEmitter.MarkIdle) frees the
// merge at once, through the stage between them, with no idle timeout
// configured; the source's next records make it hold again.
func TestRunner_Run_SourceIdleMark(t *testing.T) {
	t.Parallel()
	r, srcs, out, end := settledRun(t, fmt.Sprintf(twoInputMerge, ""), nil)
	srcs["b"].emit(t, `{"ts":2000}`, `{"ts":3000}`)
	srcs["a"].emit(t, `{"ts":1000,"keep":true}`)
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "" {
		t.Fatalf("released %q while a holds the merge at 999 ms", got)
	}
	state := func(name string) string {
		for _, s := range r.Summary().Sources {
			if s.Source == name {
				return s.State
			}
		}
		return "missing"
	}
	srcs["a"].do(t, func(out connectors.Emitter) error {
		return out.(connectors.WatermarkEmitter).MarkIdle(context.Background())
	})
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "1000 2000" {
		t.Fatalf("released %q after a's idle mark, want 1000 2000 (b holds at 2999 ms)", got)
	}
	if got := state("a"); got != "idle" {
		t.Errorf("a is %s in the tracker, want idle", got)
	}
	// a is back; once its record has reached the merge, a holds it again.
	// (Had b's next record reached the merge first, the merge would have
	// moved past 4000 without a, and a's record would be late there.)
	srcs["a"].emit(t, `{"ts":4000,"keep":true}`)
	waitIdle(t, r)
	srcs["b"].emit(t, `{"ts":5000}`)
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "1000 2000 3000" {
		t.Fatalf("released %q once a is back, want 1000 2000 3000 (a holds at 3999 ms)", got)
	}
	if got := state("a"); got != "active" {
		t.Errorf("a is %s in the tracker after its records, want active", got)
	}
	sum := end()
	if got := payloadTimes(t, out); got != "1000 2000 3000 4000 5000" {
		t.Fatalf("after the end: %q (%s)", got, sum)
	}
}

// Idleness travels through merges: a merge whose inputs are all idle, and
// that holds nothing back, says so, and the merge behind it follows its
// other input alone. One that still holds records does not (they would be
// late behind the next merge).
func TestRunner_Run_IdleThroughAMerge(t *testing.T) {
	t.Parallel()
	src := `id: nested
sources:
  - {name: a, type: generate, event_time: {field: ts, unit: ms}, watermark: {}}
  - {name: b, type: generate, event_time: {field: ts, unit: ms}, watermark: {}}
  - {name: c, type: generate, event_time: {field: ts, unit: ms}, watermark: {}}
services: {out: {type: discard}}
stages:
  - {id: inner, type: fan_in, fan_in: {sources: [{source_name: a}, {source_name: b}]}}
  - {id: outer, type: fan_in, fan_in: {sources: [{source_name: inner}, {source_name: c}]}}
  - {id: write, type: sink, service_name: out}
edges: [{from: outer, to: write}]
`
	r, srcs, out, end := settledRun(t, src, nil)
	srcs["a"].emit(t, `{"ts":1000}`)
	srcs["b"].emit(t, `{"ts":1500}`)
	srcs["c"].emit(t, `{"ts":2000}`, `{"ts":3000}`)
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "" {
		t.Fatalf("released %q while a holds both merges", got)
	}
	step := func(name, what string, f func(connectors.WatermarkEmitter) error, want string) {
		t.Helper()
		srcs[name].do(t, func(out connectors.Emitter) error { return f(out.(connectors.WatermarkEmitter)) })
		waitIdle(t, r)
		if got := payloadTimes(t, out); got != want {
			t.Fatalf("after %s %s: released %q, want %q", name, what, got, want)
		}
	}
	idle := func(e connectors.WatermarkEmitter) error { return e.MarkIdle(context.Background()) }
	mark := func(e connectors.WatermarkEmitter) error {
		return e.EmitWatermark(context.Background(), time.UnixMilli(1600))
	}
	// inner follows b (1499 ms): 1000 reaches outer (c at 2999).
	step("a", "idles", idle, "1000")
	// inner's inputs are all idle, but it holds 1500: it stays in outer.
	step("b", "idles", idle, "1000")
	// b's mark releases 1500 through both merges.
	step("b", "marks 1600", mark, "1000 1500")
	// Now inner is all idle and empty, and says so: outer follows c.
	step("b", "idles again", idle, "1000 1500 2000")
	end()
	if got := payloadTimes(t, out); got != "1000 1500 2000 3000" {
		t.Fatalf("after the end: %q", got)
	}
}

// An idle partition stops holding its source's watermark back, in the
// tracker and downstream; the source's other partitions go on.
func TestRunner_Run_IdlePartition(t *testing.T) {
	t.Parallel()
	r, srcs, out, end := settledRun(t, fmt.Sprintf(twoInputMerge, ""), nil)
	part := func(p, payload string) func(connectors.Emitter) error {
		return func(out connectors.Emitter) error {
			return out.(connectors.PartitionEmitter).EmitPartition(context.Background(), p, []*record.Record{record.New("", []byte(payload))})
		}
	}
	srcs["a"].do(t, part("p1", `{"ts":1000,"keep":true}`))
	srcs["a"].do(t, part("p2", `{"ts":5000,"keep":true}`))
	srcs["b"].emit(t, `{"ts":2000}`, `{"ts":3000}`)
	waitIdle(t, r)
	if got := payloadTimes(t, out); got != "" {
		t.Fatalf("released %q while p1 holds a at 999 ms", got)
	}
	srcs["a"].do(t, func(out connectors.Emitter) error {
		return out.(connectors.PartitionEmitter).IdlePartition(context.Background(), "p1")
	})
	waitIdle(t, r)
	// a follows p2 (4999 ms); b holds the merge at 2999.
	if got := payloadTimes(t, out); got != "1000 2000" {
		t.Fatalf("released %q after p1 idled, want 1000 2000", got)
	}
	end()
	if got := payloadTimes(t, out); got != "1000 2000 3000 5000" {
		t.Fatalf("after the end: %q", got)
	}
}
