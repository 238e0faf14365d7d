package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// A stage with replicas and two unconditional edges sends every record
// down both edges: a replica is a copy of the stage, never a picker of
// edges. (Before Core v2 each sink got half the records, and Route
// returned one target once a run had been prepared.)
func TestRunner_Run_ReplicasTakeEveryEdge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: b1
sources: [{name: in, type: generate, count: 1000}]
services: {a: {type: file, path: a.jsonl}, b: {type: file, path: b.jsonl}}
stages:
  - {id: tag, type: metadata, replicas: 2, set: {x: '"1"'}}
  - {id: sa, type: sink, service_name: a}
  - {id: sb, type: sink, service_name: b}
edges: [{from: source, to: tag}, {from: tag, to: sa}, {from: tag, to: sb}]
`))
	if err != nil {
		t.Fatal(err)
	}
	e := NewRoutingEngine()
	before, err := e.Route(p, "tag", record.New("k", []byte(`{}`)))
	if err != nil || ids(before) != "sa,sb" {
		t.Fatalf("Route before a run: %v %v", ids(before), err)
	}
	r, err := NewRunner(p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.Route(p, "tag", record.New("k", []byte(`{}`)))
	if err != nil || ids(after) != "sa,sb" {
		t.Fatalf("Route after NewRunner: %v %v", ids(after), err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.jsonl", "b.jsonl"} {
		if n := len(readLines(t, filepath.Join(dir, f))); n != 1000 {
			t.Errorf("%s has %d lines, want 1000", f, n)
		}
	}
	if sum.Delivered != 1000 || !sum.Balanced() {
		t.Fatalf("summary %s", sum)
	}
	for _, s := range sum.Sinks {
		if s.Written != 1000 {
			t.Errorf("sink %s wrote %d, want 1000", s.Name, s.Written)
		}
	}
	var edges int64
	for _, e := range sum.Edges {
		if e.From == "tag" {
			edges += e.Records
		}
	}
	if edges != 2000 {
		t.Fatalf("tag's edges carried %d records, want 2000: %+v", edges, sum.Edges)
	}
}

// One plan is shared by two runs at once and by RoutingEngine calls from
// other goroutines; under -race this finds any run state kept in the plan.
func TestPlan_SharedByConcurrentRunsAndRoute(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: shared
settings: {batch_size: 16}
sources: [{name: in, type: generate, count: 3000}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: 'record.key != "nope"', parallelism: 3}
  - {id: fan, type: fan_out, replicas: 2, fan_out: {sinks: [{sink_name: a}, {sink_name: b, condition: 'record.key != ""'}], strategy: round_robin}}
  - {id: a, type: sink, service_name: out}
  - {id: b, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: fan}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var routed atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			e := NewRoutingEngine()
			rec := record.New("k", []byte(`{}`))
			for ctx.Err() == nil {
				got, err := e.Route(p, "fan", rec)
				if err != nil || len(got) != 1 {
					t.Errorf("Route: %v %v", ids(got), err)
					return
				}
				routed.Add(1)
			}
		})
	}
	sums := make([]Summary, 2)
	errs := make([]error, 2)
	var runs sync.WaitGroup
	for i := range sums {
		r, err := NewRunner(p, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		runs.Go(func() { sums[i], errs[i] = r.Run(context.Background()) })
	}
	runs.Wait()
	cancel()
	wg.Wait()
	for i, s := range sums {
		if errs[i] != nil || s.In != 3000 || s.Delivered != 3000 || !s.Balanced() {
			t.Fatalf("run %d: %s, %v", i, s, errs[i])
		}
	}
	if routed.Load() == 0 {
		t.Fatal("Route never ran during the runs")
	}
}

// A stateless stage runs batches on several workers and still dispatches
// them in input order, with a failing batch in the middle: the records of
// that batch are dead-lettered, everything else arrives in order.
func TestExecutor_ParallelStage_KeepsOrderAroundAFailingBatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var in strings.Builder
	const n = 3000
	for i := range n {
		if i/10 == 150 { // batch 150 of 10: no "v", the condition fails
			fmt.Fprintf(&in, "{\"i\":%d}\n", i)
			continue
		}
		fmt.Fprintf(&in, "{\"i\":%d,\"v\":%d}\n", i, i%7)
	}
	writeFile(t, dir, "in.jsonl", in.String())
	sum, dl, err := runFile(t, dir, `id: order
settings: {batch_size: 10, queue_depth: 2}
sources: [{name: in, type: file, path: in.jsonl}]
services: {out: {type: file, path: out.jsonl}}
stages:
  - {id: f, type: filter, condition: 'record.payload.v >= 0', parallelism: 4}
  - {id: m, type: metadata, set: {seen: '"y"'}, parallelism: 3}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: m}, {from: m, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out.jsonl"))
	if len(lines) != n-10 || sum.DeadLettered != 10 || !sum.Balanced() {
		t.Fatalf("%d lines, summary %s", len(lines), sum)
	}
	prev := -1
	for _, l := range lines {
		var v struct{ I int }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		if v.I <= prev || v.I/10 == 150 {
			t.Fatalf("record %d after %d", v.I, prev)
		}
		prev = v.I
	}
	if c := strings.Count(dl, `no such key: v`); c != 10 {
		t.Fatalf("%d dead letters name the missing field:\n%s", c, dl)
	}
	for _, s := range sum.Stages {
		if s.ID == "f" && s.Parallelism != 4 {
			t.Fatalf("filter parallelism %d", s.Parallelism)
		}
	}
}

// Eight inputs into an event-time fan-in at default settings merge
// completely and in order (the default buffer is sized from the batch
// size; with buffer = batch size the merge crawled at ~12k records/s).
func TestFanIn_EightInputsAtDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var srcs, inputs strings.Builder
	for i := range 8 {
		name := fmt.Sprintf("s%d", i)
		writeDisordered(t, dir, name, 3000, 10*time.Millisecond, time.Second, rng)
		fmt.Fprintf(&srcs, "  - {name: %s, type: file, path: %s.jsonl, event_time: {field: ts}, watermark: {max_out_of_orderness: 1s}}\n", name, name)
		fmt.Fprintf(&inputs, "{source_name: %s},", name)
	}
	sum, dl, err := runFile(t, dir, `id: fan8
sources:
`+srcs.String()+`services: {out: {type: file, path: out.jsonl, format: envelope}}
stages:
  - {id: merge, type: fan_in, fan_in: {sources: [`+strings.TrimSuffix(inputs.String(), ",")+`]}}
  - {id: s, type: sink, service_name: out}
edges: [{from: merge, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	if sum.In != 24000 || sum.Delivered+sum.DeadLettered != 24000 || !sum.Balanced() || sum.Late != 0 {
		t.Fatalf("summary %s\n%s", sum, dl)
	}
	out := readEnvelopes(t, filepath.Join(dir, "out.jsonl"))
	for i := 1; i < len(out); i++ {
		if out[i].EventTime.Before(out[i-1].EventTime) {
			t.Fatalf("record %d at %s after %s", i, out[i].EventTime, out[i-1].EventTime)
		}
	}
}

func BenchmarkFanIn_EightInputs(b *testing.B) {
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var srcs, inputs strings.Builder
	const per = 30000
	for i := range 8 {
		name := fmt.Sprintf("s%d", i)
		writeDisordered(b, dir, name, per, 10*time.Millisecond, time.Second, rng)
		fmt.Fprintf(&srcs, "  - {name: %s, type: file, path: %s.jsonl, event_time: {field: ts}, watermark: {max_out_of_orderness: 1s}}\n", name, name)
		fmt.Fprintf(&inputs, "{source_name: %s},", name)
	}
	p, err := Load(writeFile(b, dir, "p.yaml", `id: fan8
sources:
`+srcs.String()+`services: {out: {type: discard}}
stages:
  - {id: merge, type: fan_in, fan_in: {sources: [`+strings.TrimSuffix(inputs.String(), ",")+`]}}
  - {id: s, type: sink, service_name: out}
edges: [{from: merge, to: s}]
`))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := NewRunner(p, RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := r.Run(context.Background())
		if err != nil || sum.Delivered != 8*per {
			b.Fatal(sum, err)
		}
	}
	b.ReportMetric(float64(8*per*b.N)/b.Elapsed().Seconds(), "records/s")
}

// sliceSource is a source fed from Go, for the override hook.
type sliceSource struct{ recs []string }

func (s *sliceSource) Read(ctx context.Context, out connectors.Emitter) error {
	batch := make([]*record.Record, 0, len(s.recs))
	for _, p := range s.recs {
		batch = append(batch, record.New("", []byte(p)))
	}
	return out.Emit(ctx, batch)
}

func (s *sliceSource) Close() error { return nil }

// collectSink captures what it is given, for the override hook.
type collectSink struct {
	mu   sync.Mutex
	recs []string
}

func (c *collectSink) Write(_ context.Context, b []*record.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range b {
		c.recs = append(c.recs, string(r.Payload))
	}
	return nil
}
func (c *collectSink) Flush() error { return nil }
func (c *collectSink) Close() error { return nil }

// countObserver sums what the observer hook reports.
type countObserver struct {
	NopObserver
	mu    sync.Mutex
	stage map[string][2]int
	edge  map[string]int
	dl    map[string]int
	sink  map[string]int
}

func (o *countObserver) StageBatch(stage string, in, out int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.stage[stage]
	o.stage[stage] = [2]int{c[0] + in, c[1] + out}
}

func (o *countObserver) EdgeRecords(from, to string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.edge[from+"->"+to] += n
}

func (o *countObserver) DeadLetters(stage, kind string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dl[stage+"/"+kind] += n
}

func (o *countObserver) SinkWrite(sink string, n int, _ time.Duration, err error) {
	if err == nil {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.sink[sink] += n
	}
}

// Sources and sinks can be replaced from RunOptions (a test harness, an
// embedding program), and the observer sees per stage, edge and sink what
// the summary counts.
func TestRunner_OverridesAndObserver(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: hooks
sources: [{name: in, type: file, path: does-not-exist.jsonl}]
services: {out: {type: file, path: never.jsonl}, dead: {type: file, path: never-dl.jsonl}}
settings: {dead_letter: dead}
stages:
  - {id: f, type: filter, condition: 'record.payload.n > 1'}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	out, dead := &collectSink{}, &collectSink{}
	obs := &countObserver{stage: map[string][2]int{}, edge: map[string]int{}, dl: map[string]int{}, sink: map[string]int{}}
	r, err := NewRunner(p, RunOptions{
		Sources:  map[string]connectors.Source{"in": &sliceSource{recs: []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"x":1}`}}},
		Sinks:    map[string]connectors.Sink{"out": out, "dead": dead},
		Observer: obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(out.recs, " ") != `{"n":2} {"n":3}` || len(dead.recs) != 1 || !strings.Contains(dead.recs[0], "no such key: n") {
		t.Fatalf("out %v, dead %v", out.recs, dead.recs)
	}
	for _, f := range []string{"never.jsonl", "never-dl.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Fatalf("%s was created although its sink was replaced", f)
		}
	}
	if sum.In != 4 || sum.Delivered != 2 || sum.Filtered != 1 || sum.DeadLettered != 1 {
		t.Fatalf("summary %s", sum)
	}
	want := map[string]any{
		"stage in":  [2]int{4, 4},
		"stage f":   [2]int{4, 2},
		"stage s":   [2]int{2, 0},
		"edge":      map[string]int{"in->f": 4, "f->s": 2},
		"dl":        map[string]int{"f/filter": 1},
		"sink out":  2,
		"sink dead": 1,
	}
	got := map[string]any{
		"stage in":  obs.stage["in"],
		"stage f":   obs.stage["f"],
		"stage s":   obs.stage["s"],
		"edge":      obs.edge,
		"dl":        obs.dl,
		"sink out":  obs.sink["out"],
		"sink dead": obs.sink["dead"],
	}
	for k := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(want[k]) {
			t.Errorf("%s: observer saw %v, want %v", k, got[k], want[k])
		}
	}
}

// blockingSource emits one batch, then waits for the run to stop it.
type blockingSource struct{ started chan struct{} }

func (s *blockingSource) Read(ctx context.Context, out connectors.Emitter) error {
	if err := out.Emit(ctx, []*record.Record{record.New("", []byte(`{"n":1}`))}); err != nil {
		return err
	}
	close(s.started)
	<-ctx.Done()
	return ctx.Err()
}

func (s *blockingSource) Close() error { return nil }

// Drain stops a run as a cancelled context does: what was read is
// delivered, the summary says the run was stopped, and a new run of
// another plan can follow.
func TestRunner_Drain_ThenAnotherPlan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `id: d
sources: [{name: in, type: generate, count: 1}]
services: {out: {type: discard}}
stages: [%s{id: s, type: sink, service_name: out}]
edges: [%s]
`
	p1, err := Load(writeFile(t, dir, "p1.yaml", fmt.Sprintf(src, "", "{from: in, to: s}")))
	if err != nil {
		t.Fatal(err)
	}
	out := &collectSink{}
	bs := &blockingSource{started: make(chan struct{})}
	r1, err := NewRunner(p1, RunOptions{Sources: map[string]connectors.Source{"in": bs}, Sinks: map[string]connectors.Sink{"out": out}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Summary)
	go func() {
		sum, err := r1.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- sum
	}()
	<-bs.started
	r1.Drain()
	r1.Drain() // idempotent
	sum := <-done
	if !sum.Stopped || sum.Delivered != 1 || len(out.recs) != 1 {
		t.Fatalf("drained run: %s stopped=%v, %d written", sum, sum.Stopped, len(out.recs))
	}
	p2, err := Load(writeFile(t, dir, "p2.yaml", fmt.Sprintf(src, "{id: f, type: filter, condition: 'false'}, ", "{from: in, to: f}, {from: f, to: s}")))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := NewRunner(p2, RunOptions{Sinks: map[string]connectors.Sink{"out": out}})
	if err != nil {
		t.Fatal(err)
	}
	sum2, err := r2.Run(context.Background())
	if err != nil || sum2.Filtered != 1 || sum2.Stopped || len(out.recs) != 1 {
		t.Fatalf("second run: %s stopped=%v, %v", sum2, sum2.Stopped, err)
	}
}

// Load problems are Issues, sorted by position, the same on every run.
func TestIssues_SortedAndInspectable(t *testing.T) {
	t.Parallel()
	src := `id: bad
sources: [{name: in, type: generate}]
services:
  zeta: {type: nosuch}
  alpha: {type: nosuch}
  mid: {type: nosuch}
stages:
  - {id: s, type: sink, service_name: alpha}
edges: [{from: in, to: s}]
`
	var first string
	for range 5 {
		p, err := Parse("p.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Compile()
		var is Issues
		if !errors.As(err, &is) || len(is) < 3 {
			t.Fatalf("err %v is not Issues", err)
		}
		for i := 1; i < len(is); i++ {
			if is[i].Pos.Line < is[i-1].Pos.Line {
				t.Fatalf("issues out of order: %v", err)
			}
		}
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("issues differ between runs:\n%s\n%s", first, err)
		}
	}
	if !strings.HasPrefix(first, "p.yaml:4:") {
		t.Fatalf("first issue is not zeta's (line 4):\n%s", first)
	}
}

// Blank lines are counted in the summary (they are not records, so not in
// In), and a malformed line is dead-lettered with its position.
func TestRunner_Summary_CountsBlankLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "{\"n\":1}\n\n   \n{\"n\":2}\n{bad\n\n")
	sum, dl, err := runFile(t, dir, `id: blank
sources: [{name: in, type: file, path: in.jsonl}]
services: {out: {type: file, path: out.jsonl}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	if sum.In != 3 || sum.Delivered != 2 || sum.DeadLettered != 1 || sum.Skipped != 3 || !sum.Balanced() {
		t.Fatalf("summary %s (skipped %d)", sum, sum.Skipped)
	}
	if !strings.Contains(sum.String(), "; 3 blank lines skipped") || !strings.Contains(dl, "in.jsonl:5") {
		t.Fatalf("summary %q, dead letters %s", sum, dl)
	}
}

// stuckSink blocks in Write, ignoring cancellation, until released.
type stuckSink struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stuckSink) Write(context.Context, []*record.Record) error {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return nil
}
func (s *stuckSink) Flush() error { return nil }
func (s *stuckSink) Close() error { return nil }

// A stop is bounded whatever a sink does: with a sink that ignores
// cancellation, Run returns after the drain timeout (plus a short grace),
// reports the abandoned records, and the books still balance with them in
// flight. (Before, Run stayed blocked as long as the sink did.)
func TestRunner_Run_StopIsBoundedWithAStuckSink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: stuck
settings: {batch_size: 10}
sources: [{name: in, type: generate, count: 100000, rate: 20000}]
services: {out: {type: file, path: never.jsonl}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	sink := &stuckSink{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(sink.release)
	r, err := NewRunner(p, RunOptions{Sinks: map[string]connectors.Sink{"out": sink}, DrainTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		sum Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := r.Run(ctx)
		done <- result{sum, err}
	}()
	<-sink.entered
	cancel()
	select {
	case res := <-done:
		if res.err == nil || !strings.Contains(res.err.Error(), "drain timeout (100ms) exceeded") || !strings.Contains(res.err.Error(), "abandoned") {
			t.Fatalf("err = %v", res.err)
		}
		s := res.sum
		if !s.Stopped || s.Delivered != 0 || s.InFlight <= 0 || s.In != s.Delivered+s.Filtered+s.Dropped+s.DeadLettered+s.Unprocessed+s.InFlight {
			t.Fatalf("summary %s (in flight %d, stopped %v)", s, s.InFlight, s.Stopped)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the drain timeout")
	}
}

// Lateness at a source is judged per record against the largest event
// time seen so far, so the same data gives the same late records whatever
// the batch size (it used to give 20 with batch_size 1 and 1 with 1024).
func TestSource_LatenessPerRecord_IndependentOfBatchSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var in strings.Builder
	late := 0
	for i := range 200 {
		ts := 1_767_225_600_000 + int64(i)*1000
		if i%10 == 9 {
			ts -= 5000 // 5 s behind the newest record: late with 2 s out-of-orderness
			late++
		}
		fmt.Fprintf(&in, `{"i":%d,"ts":%d}`+"\n", i, ts)
	}
	writeFile(t, dir, "in.jsonl", in.String())
	for _, bs := range []int{1, 7, 1024} {
		sum, _, err := runFile(t, dir, fmt.Sprintf(`id: late
settings: {batch_size: %d, late_records: drop}
sources: [{name: in, type: file, path: in.jsonl, event_time: {field: ts}, watermark: {max_out_of_orderness: 2s}}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, bs))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Late != int64(late) || sum.Dropped != int64(late) || sum.Delivered != int64(200-late) {
			t.Errorf("batch_size %d: %s, want %d late", bs, sum, late)
		}
	}
}

// partSource emits records on two partitions: p1 runs 100 s ahead of p2.
type partSource struct{}

func (partSource) Read(ctx context.Context, out connectors.Emitter) error {
	pe := out.(connectors.PartitionEmitter)
	mk := func(sec int) []*record.Record {
		r := record.New("", fmt.Appendf(nil, `{"sec":%d}`, sec))
		return []*record.Record{r}
	}
	for i := range 50 {
		if err := pe.EmitPartition(ctx, "p1", mk(100+i)); err != nil {
			return err
		}
		if err := pe.EmitPartition(ctx, "p2", mk(i)); err != nil {
			return err
		}
	}
	pe.EndPartition("p1")
	return nil
}

func (partSource) Close() error { return nil }

// Each partition of a partitioned source is its own watermark input: a
// partition 100 s behind another holds the combined watermark back, and
// its records are not late (they would be against the faster partition).
func TestSource_PartitionsAreWatermarkInputs(t *testing.T) {
	t.Parallel()
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: parts
settings: {late_records: drop}
sources: [{name: in, type: generate, event_time: {field: sec, unit: s}, watermark: {max_out_of_orderness: 1s}}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(p, RunOptions{Sources: map[string]connectors.Source{"in": partSource{}}})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Late != 0 || sum.Delivered != 100 {
		t.Fatalf("%s (late %d): a lagging partition's records were judged against the other partition", sum, sum.Late)
	}
}

// trickleSource emits a few batches, then waits (without ending) until the
// test has seen them delivered.
type trickleSource struct {
	release chan struct{}
}

func (s *trickleSource) Read(ctx context.Context, out connectors.Emitter) error {
	for i := range 5 {
		if err := out.Emit(ctx, []*record.Record{record.New("", fmt.Appendf(nil, `{"n":%d}`, i))}); err != nil {
			return err
		}
	}
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return nil
}

func (*trickleSource) Close() error { return nil }

// A parallel stage passes a finished batch on at once, even when no more
// input comes (a quiet stream): the last batches are not held back until
// the next input or the end.
func TestExecutor_ParallelStage_DeliversWithoutMoreInput(t *testing.T) {
	t.Parallel()
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: quiet
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: 'record.payload.n >= 0', parallelism: 4}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	src := &trickleSource{release: make(chan struct{})}
	out := &collectSink{}
	r, err := NewRunner(p, RunOptions{Sources: map[string]connectors.Source{"in": src}, Sinks: map[string]connectors.Sink{"out": out}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Summary, 1)
	go func() {
		sum, _ := r.Run(context.Background())
		done <- sum
	}()
	deadline := time.Now().Add(10 * time.Second)
	for r.Summary().Delivered < 5 {
		if time.Now().After(deadline) {
			close(src.release)
			t.Fatalf("records still held in the parallel stage while its input is quiet: %s", r.Summary())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(src.release)
	if sum := <-done; sum.Delivered != 5 {
		t.Fatalf("summary %s", sum)
	}
}
