package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

func init() {
	registerStage(&stageKind{
		typ:    StageFanIn,
		doc:    "merges several inputs into one stream, by event time (default), arrival or round robin",
		keys:   []string{"fan_in"},
		traits: stageTraits{inputsSeparate: true},
		compile: func(c *compiler, n *node) {
			s := n.stage
			if s.FanIn == nil {
				c.at(s.At, "stage %q: a fan_in stage needs fan_in.sources", s.ID)
				return
			}
			checkFanIn(c, s)
			if s.Replicas > 1 {
				c.at(s.At, "stage %q: a fan_in stage cannot have replicas (the merge is one ordered stream)", s.ID)
			}
			if s.Parallelism > 1 {
				c.at(s.At, "stage %q: a fan_in stage cannot have parallelism (the merge is one ordered stream)", s.ID)
			}
			if s.FanIn.Buffer < 0 {
				c.at(s.FanIn.At, "stage %q: buffer must be positive", s.ID)
			}
			// Inputs become routes in compiler.fanOutsAndIns; late policies
			// are set in compileEventTime.
		},
		build: func(r *Runner, n *node) (processor, error) { return &fanInProc{}, nil },
	})
}

func checkFanIn(c *compiler, s *Stage) {
	fi := s.FanIn
	switch fi.MergeStrategy {
	case "", MergeEventTime, MergeArrival, MergeRoundRobin:
	default:
		c.at(fi.At, "stage %q: unknown merge_strategy %q (want event_time, arrival or round_robin)%s", s.ID, fi.MergeStrategy,
			didYouMeanIn(string(fi.MergeStrategy), []string{"event_time", "arrival", "round_robin"}))
	}
	switch fi.Watermark {
	case "", FanInWatermarkMin, FanInWatermarkMax:
	default:
		c.at(fi.At, "stage %q: unknown watermark %q (want min or max)%s", s.ID, fi.Watermark,
			didYouMeanIn(string(fi.Watermark), []string{"min", "max"}))
	}
}

// fanInBuffer is an input's buffer in records: the configured buffer, or
// by default four batches, and never less than two batches, so that an
// input always has room for a whole batch and the merge advances batch by
// batch, never record by record (with the buffer equal to the batch size,
// eight inputs merged at about 12k records/s instead of 600k+).
func fanInBuffer(configured, batchSize int) int {
	if configured == 0 {
		return 4 * batchSize
	}
	return max(configured, 2*batchSize)
}

// fanInProc is the fan_in stage's processor: it merges its inputs itself
// (inputRunner), so process is never called.
type fanInProc struct{}

func (*fanInProc) process(_ context.Context, _ *batchCtx, in, out []*record.Record) []*record.Record {
	return append(out, in...)
}

func (*fanInProc) runInputs(ctx context.Context, st *stageRT, w *worker) {
	f := st.fanIn
	if err := f.init(); err != nil {
		st.r.fail(fmt.Errorf("%s: stage %q: %w", st.n.at, st.n.id, err))
		f.finish()
		for k := range st.inputs {
			st.r.dropQueue(st.inputs[k])
		}
		return
	}
	f.run(ctx, w)
}

// fanInRT runs a fan_in stage: one goroutine per input pushes records into
// a watermark.Merger under a mutex (blocking only that input while its
// buffer is full), and the stage's output goroutine drains the merger in
// order and routes what it releases.
type fanInRT struct {
	r  *Runner
	st *stageRT

	mu       sync.Mutex
	space    *sync.Cond // an input's buffer has room again
	m        *watermark.Merger[*record.Record]
	ids      []watermark.InputID
	open     int
	late     []*record.Record
	rejected []dlItem
	dropped  []*record.Record

	wake     chan struct{}
	wm       atomic.Int64
	capacity int // per input, in records

	// tokens are the wake-ups the output loop has yet to act on, each
	// counted in the run's inflight (WaitIdle); ticks, the Runner.Tick
	// calls among them. finished: the loop has returned. All under mu.
	tokens   int64
	ticks    int
	finished bool
}

func newFanIn(r *Runner, st *stageRT) *fanInRT {
	f := &fanInRT{r: r, st: st, wake: make(chan struct{}, 1)}
	f.space = sync.NewCond(&f.mu)
	f.wm.Store(wmMin)
	return f
}

func (f *fanInRT) init() error {
	fi := f.st.n.stage.FanIn
	s := f.r.pl.settings
	strategy, err := watermark.ParseStrategy(string(fi.MergeStrategy))
	if err != nil {
		return err
	}
	combine, err := watermark.ParseCombine(string(fi.Watermark))
	if err != nil {
		return err
	}
	cfg := watermark.MergerConfig[*record.Record]{
		Strategy:        strategy,
		Combine:         combine,
		AllowedLateness: s.AllowedLateness,
		IdleTimeout:     s.IdleTimeout,
		OnLate:          func(_ watermark.InputID, r *record.Record) { f.late = append(f.late, r) },
		OnSpace:         func(watermark.InputID) { f.space.Broadcast() },
		Clock:           f.r.clk,
	}
	if strategy == watermark.EventTime {
		cfg.EventTime = func(r *record.Record) int64 { return r.EventTime }
		cfg.SetEventTime = func(r *record.Record, t int64) *record.Record { r.EventTime = t; return r }
	}
	m, err := watermark.NewMerger(cfg)
	if err != nil {
		return err
	}
	f.capacity = fanInBuffer(fi.Buffer, s.BatchSize)
	f.mu.Lock() // Runner.Tick may look at f.m from now on
	defer f.mu.Unlock()
	f.m = m
	for _, in := range f.st.n.inputs {
		f.ids = append(f.ids, m.AddInput(in.id, watermark.InputConfig{
			Capacity:           f.capacity,
			ExplicitWatermarks: true,
		}))
	}
	f.open = len(f.ids)
	return nil
}

// allIdle reports whether every input still open is idle (and one is):
// the merge has nothing to send for now. Under mu.
func (f *fanInRT) allIdle() bool {
	some := false
	for _, id := range f.ids {
		switch f.m.Status(id).State {
		case watermark.Idle:
			some = true
		case watermark.Active:
			return false
		}
	}
	return some
}

// token counts a wake-up the output loop will act on; under mu.
func (f *fanInRT) token() {
	if !f.finished {
		f.tokens++
		f.r.inflight.Add(1)
	}
}

// poke makes the output loop run idle detection now (Runner.Tick).
// The merger's inputs are stamped at once, under the lock, so that the
// clock's time at this call is what counts (a harness moves a manual
// clock right after); the loop then releases what that lets through.
func (f *fanInRT) poke() {
	f.mu.Lock()
	if !f.finished && f.m != nil {
		f.m.Tick()
		f.token()
		f.ticks++
	}
	f.mu.Unlock()
	f.signal()
}

// finish marks the loop done and gives back the tokens it will never act on.
func (f *fanInRT) finish() {
	f.mu.Lock()
	f.finished = true
	f.r.inflight.Add(-f.tokens)
	f.tokens = 0
	f.mu.Unlock()
}

func (f *fanInRT) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// input feeds queue k into the merger.
func (f *fanInRT) input(k int) {
	id := f.ids[k]
	for b := range f.st.inputs[k] {
		f.st.received(b, k)
		f.st.in.Add(int64(len(b.recs)))
		f.mu.Lock()
		// Wait for room for the whole batch (the buffer holds at least two
		// batches): the input's watermark then advances after each batch,
		// and the merge releases whole batches.
		for need := min(len(b.recs), f.capacity); f.capacity-f.m.Status(id).Buffered < need; {
			f.signal()
			f.space.Wait()
		}
		for _, rec := range b.recs {
			for f.m.Full(id) {
				f.signal()
				f.space.Wait()
			}
			switch f.m.Push(id, rec) {
			case watermark.RejectedDrop:
				f.dropped = append(f.dropped, rec)
			case watermark.RejectedDeadLetter:
				f.rejected = append(f.rejected, dlItem{rec: rec, reason: "no event time (fan_in merges by event time)", stage: f.st.n.id})
			}
		}
		f.m.Advance(id, watermark.Watermark(b.wm))
		if b.idle {
			f.m.MarkIdle(id)
		}
		f.token()
		f.mu.Unlock()
		f.signal()
		f.r.inflight.Add(-1) // the batch: in the merger now, the token stands for it
	}
	f.mu.Lock()
	f.m.Close(id)
	f.open--
	f.token()
	f.mu.Unlock()
	f.signal()
}

// run merges until every input has closed and the merger is empty.
func (f *fanInRT) run(ctx context.Context, w *worker) {
	for k := range f.ids {
		go f.input(k)
	}
	var tick <-chan time.Time
	if iv := f.r.pl.settings.IdleTimeout; iv > 0 {
		t := time.NewTicker(max(iv/4, time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	policy := f.st.n.latePolicy
	lateness := int64(f.r.pl.settings.AllowedLateness)
	var out []*record.Record
	var reported int64 // input records already reported to the observer
	for {
		select {
		case <-f.wake:
		case <-tick:
		}
		start := time.Now()
		nin := f.st.in.Load() - reported
		reported += nin
		f.mu.Lock()
		tokens := f.tokens
		f.tokens = 0
		if tick != nil || f.ticks > 0 {
			f.m.Tick()
			f.ticks = 0
		}
		out = f.m.Drain(out[:0])
		late, rejected, dropped := f.late, f.rejected, f.dropped
		f.late, f.rejected, f.dropped = nil, nil, nil
		// Release waits for the allowed lateness, so what is still buffered
		// may be up to that far behind the merge watermark: forward only
		// what is safe.
		mwm := int64(f.m.Watermark())
		wm := mwm
		if wm != wmMin && wm != wmMax {
			wm -= lateness
		}
		done := f.open == 0 && f.m.Len() == 0
		if done {
			f.finished = true
		}
		// Idle only with nothing held back: what the merge still holds
		// would be late behind a downstream merge that moved on without it.
		idle := f.allIdle() && f.m.Len() == 0
		f.mu.Unlock()
		f.space.Broadcast()

		f.wm.Store(wm)
		w.wm = wm
		for _, it := range rejected {
			w.deadLetter(it.rec, it.reason)
		}
		for _, rec := range dropped {
			end(rec, record.Dropped)
		}
		for _, rec := range late {
			if w.handleLate(rec, policy, lateReason(f.st.n.id, rec.EventTime, mwm, lateness)) {
				out = append(out, rec)
			}
		}
		f.st.out.Add(int64(len(out)))
		f.r.obs.StageBatch(f.st.n.id, int(nin), len(out), time.Since(start))
		w.dispatch(ctx, out, nil)
		w.flush(ctx)
		w.forwardProgress(ctx, idle && len(out) == 0)
		f.r.inflight.Add(-tokens)
		if done {
			f.r.log.Debug("fan-in done", "stage", f.st.n.id, "stats", fmt.Sprintf("%+v", f.m.Stats()))
			return
		}
	}
}
