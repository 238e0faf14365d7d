package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/connectors/checkpoint"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

// RunOptions configure a Runner.
type RunOptions struct {
	// Logger receives the runtime's structured log. Default: discard.
	Logger *slog.Logger
	// Stdin is what `-` file sources read. Default: os.Stdin.
	Stdin io.Reader
	// Stdout is what stdout sinks write. Default: os.Stdout.
	Stdout io.Writer
	// DeadLetterOut receives dead-lettered records (JSON lines) when the
	// pipeline names no dead_letter service. Default: os.Stderr.
	DeadLetterOut io.Writer
	// DrainTimeout bounds how long in-flight records may take to drain
	// after the run is asked to stop. Default: 30s.
	DrainTimeout time.Duration
	// PluginCacheDir is where compiled Wasm modules are cached.
	PluginCacheDir string

	// Sources replaces the connectors of the named sources: a test harness
	// feeding records per source, or a program embedding the engine. The
	// source's event time and watermark settings still apply.
	Sources map[string]connectors.Source
	// Sinks replaces the named sink services (including the dead-letter
	// service): a harness capturing records per sink.
	Sinks map[string]connectors.Sink
	// Observer is told per batch what each stage, edge and sink does
	// (metrics). Default: none.
	Observer Observer

	// StateDir keeps the sources' checkpoints (an embedded database in a
	// directory per pipeline under it): a run interrupted (a crash, kill
	// -9, a stop) resumes after the last record whose every path was
	// acknowledged; a run whose sources all reached their end clears them.
	// Empty: no checkpoints.
	StateDir string
	// FromStart ignores (and clears) saved checkpoints.
	FromStart bool

	// Clock is the run's processing-time clock: idle timeouts,
	// use_processing_time, max_future, lag and dead-letter timestamps read
	// it. Default: the wall clock. A test harness passes a
	// *watermark.ManualClock, and after moving it calls Runner.Tick and
	// Runner.WaitIdle, so that what idles and what is late does not depend
	// on how fast the machine is.
	Clock watermark.Clock
}

// Runner executes a Plan: records flow from the sources through the stages
// to the sinks in batches, over bounded queues (a full queue blocks the
// stages feeding it). Every run has its own state (balancers, counters,
// plugin instances, open sinks); the plan is shared and never modified, so
// several runs of one plan may go on at once, and a run can be drained
// (Drain) and followed by a run of a new plan.
type Runner struct {
	pl    *Plan
	opts  RunOptions
	obs   Observer
	log   *slog.Logger
	start atomic.Int64 // Unix ns; 0 before Run

	stages  []*stageRT // by node idx; nil for sources
	sources []*sourceRT
	sinks   map[string]*sinkRT
	lookups map[string]connectors.LookupService
	plugins map[string]*plugins.Plugin
	dl      *deadLetter
	// edges[i][k] counts the records sent down route k of node i.
	edges [][]atomic.Int64

	counts  outcomeCounts
	skipped atomic.Int64 // input skipped by sources (blank lines)
	clock   *eventClock
	// clk is RunOptions.Clock (nil: the wall clock).
	clk watermark.Clock
	// inflight counts the batches queued or being processed anywhere in
	// the pipeline, and wake-ups a merge has yet to act on (WaitIdle).
	inflight atomic.Int64
	fatal    atomic.Pointer[error]
	cancel   context.CancelCauseFunc
	hard     context.Context // done on a hard stop or a failure
	// abandon is done once Run gives up waiting for stuck goroutines:
	// blocking sends stop waiting then.
	abandon       context.Context
	abandonCancel context.CancelFunc
	closers       []func(context.Context) error

	drainOnce sync.Once
	drain     chan struct{} // closed by Drain
	stopped   atomic.Bool   // the sources were stopped before their end

	state     *checkpoint.Store // nil without a state directory
	statePipe string            // the pipeline's key in the store
}

// outcomeCounts counts source records by final outcome.
type outcomeCounts struct {
	in, delivered, filtered, dropped, deadLettered, unprocessed atomic.Int64
}

// Done implements record.AckGroup.
func (c *outcomeCounts) Done(_ *record.Ack, o record.Outcome) {
	switch o {
	case record.Delivered:
		c.delivered.Add(1)
	case record.Filtered:
		c.filtered.Add(1)
	case record.DeadLettered:
		c.deadLettered.Add(1)
	case record.Unprocessed:
		c.unprocessed.Add(1)
	default:
		c.dropped.Add(1)
	}
}

// batch is the unit moved between stages. It carries its sender's output
// watermark, so that a watermark never overtakes the records it covers.
type batch struct {
	recs []*record.Record
	from int   // index of the node that sent it
	prod int   // the sender's producer index at the receiving stage
	wm   int64 // the sender's output watermark after these records
	// idle: the sender has nothing to send for now (a watermark-only
	// batch): it stops holding the receiver's watermark back until its
	// next batch.
	idle bool
}

type stageRT struct {
	n *node
	r *Runner
	// inputs are the stage's queues: one per replica, or for a merge one
	// per input node (in n.inputs order).
	inputs []chan batch
	groups []*chanGroup
	// workers is the number of goroutines that emit the stage's output.
	workers int
	// parallel is how many batches each queue's executor runs at once.
	parallel int
	// lb spreads records over the replicas' queues (nil: one queue); fanLB
	// picks one target of a load-balanced fan-out. Both are this run's.
	lb, fanLB *balancer
	// Producers are the upstream workers feeding the stage; each has an
	// index, and per queue its latest watermark and when it last sent (per
	// queue, so that a replica never sees a watermark ahead of the records
	// still waiting in its own queue).
	prodIndex map[[2]int]int
	inWM      [][]atomic.Int64
	seen      [][]atomic.Int64
	proc      processor
	fanIn     *fanInRT // set by the fan-in processor when it runs
	in, out   atomic.Int64
	busy      atomic.Int32 // batches being processed now
}

// chanGroup is a set of queues closed together once their producers have
// all finished.
type chanGroup struct {
	chans   []int
	pending atomic.Int32
}

// slotsFor returns the queues a worker of node from may send to.
func (st *stageRT) slotsFor(from *node) []int {
	if st.n.sk.traits.inputsSeparate {
		for k, in := range st.n.inputs {
			if in == from {
				return []int{k}
			}
		}
	}
	out := make([]int, len(st.inputs))
	for i := range out {
		out[i] = i
	}
	return out
}

func (st *stageRT) groupFor(from *node) *chanGroup {
	if st.n.sk.traits.inputsSeparate {
		for k, in := range st.n.inputs {
			if in == from {
				return st.groups[k]
			}
		}
	}
	return st.groups[0]
}

// inputWM is the input watermark of queue ch: the minimum over the
// producers' latest watermarks, leaving out producers silent for longer
// than the idle timeout (unless all are).
func (st *stageRT) inputWM(ch int) int64 {
	if len(st.prodIndex) == 0 {
		return wmMax
	}
	return minWatermark(st.inWM[ch], st.seen[ch], st.r.pl.settings.IdleTimeout, st.r.nowNano())
}

// allIdle reports whether every producer of queue ch that has not
// finished is idle, and one is: the stage then has nothing to send either.
func (st *stageRT) allIdle(ch int) bool {
	idle := st.r.pl.settings.IdleTimeout
	now := st.r.nowNano()
	some := false
	for i := range st.inWM[ch] {
		if st.inWM[ch][i].Load() == wmMax {
			continue
		}
		if !isIdle(st.seen[ch][i].Load(), idle, now) {
			return false
		}
		some = true
	}
	return some
}

// received records the watermark of a batch taken from queue ch.
func (st *stageRT) received(b batch, ch int) {
	if b.prod < 0 || b.prod >= len(st.prodIndex) {
		return
	}
	wms := st.inWM[ch]
	if b.idle {
		st.seen[ch][b.prod].Store(idleMark)
	} else {
		st.seen[ch][b.prod].Store(st.r.nowNano())
	}
	for {
		old := wms[b.prod].Load()
		if b.wm <= old || wms[b.prod].CompareAndSwap(old, b.wm) {
			return
		}
	}
}

// NewRunner prepares a run of pl: it opens sources and sinks and loads
// plugins, so that every configuration problem surfaces before the first
// record moves.
func NewRunner(pl *Plan, opts RunOptions) (*Runner, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.DeadLetterOut == nil {
		opts.DeadLetterOut = os.Stderr
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	r := &Runner{pl: pl, opts: opts, obs: opts.Observer, log: opts.Logger, sinks: map[string]*sinkRT{},
		clock: newEventClock(pl.settings, opts.Clock), clk: opts.Clock, drain: make(chan struct{})}
	if r.obs == nil {
		r.obs = NopObserver{}
	}
	if err := r.openState(); err != nil {
		return nil, err
	}
	if err := r.build(); err != nil {
		_ = r.closeAll(context.Background())
		_ = r.closeState(false)
		return nil, err
	}
	return r, nil
}

// Plan returns the plan the runner runs.
func (r *Runner) Plan() *Plan { return r.pl }

func (r *Runner) env(name string) connectors.Env {
	return connectors.Env{BaseDir: r.pl.p.baseDir(), BatchSize: r.pl.settings.BatchSize, Name: name,
		Logger: r.log.With("connector", name), Stdin: r.opts.Stdin, Stdout: r.opts.Stdout}
}

// sourceEnv is env for a source, with its checkpoints.
func (r *Runner) sourceEnv(name string) connectors.Env {
	e := r.env(name)
	if r.state != nil {
		e.Checkpoints = r.state.For(r.statePipe, name)
	}
	return e
}

func (r *Runner) sink(name string) (*sinkRT, error) {
	if s, ok := r.sinks[name]; ok {
		return s, nil
	}
	k, ok := r.opts.Sinks[name]
	if !ok {
		sv := r.pl.services[name]
		var err error
		if k, err = connectors.BuildSink(sv.spec, sv.cfg, r.env(name)); err != nil {
			return nil, err
		}
	}
	s := &sinkRT{name: name, sink: k, obs: r.obs, retries: r.pl.settings.SinkRetries, backoff: r.pl.settings.SinkRetryBackoff}
	r.sinks[name] = s
	r.closers = append(r.closers, func(context.Context) error {
		if err := k.Close(); err != nil {
			return fmt.Errorf("close sink %q: %w", name, err)
		}
		return nil
	})
	return s, nil
}

// build makes the run's state: sources, one stageRT per stage with its
// queues, balancers and processor, and the dead-letter sink.
func (r *Runner) build() error {
	depth := r.pl.settings.QueueDepth
	r.stages = make([]*stageRT, len(r.pl.nodes))
	r.edges = make([][]atomic.Int64, len(r.pl.nodes))
	for _, n := range r.pl.nodes {
		r.edges[n.idx] = make([]atomic.Int64, len(n.routes))
	}
	for _, n := range r.pl.nodes {
		if n.kind == nodeSource {
			if err := r.buildSource(n); err != nil {
				return err
			}
			continue
		}
		st := &stageRT{n: n, r: r}
		reps := max(n.stage.Replicas, 1)
		if n.sk.traits.inputsSeparate {
			for range n.inputs {
				st.inputs = append(st.inputs, make(chan batch, depth))
			}
			st.workers = 1
		} else {
			for range reps {
				st.inputs = append(st.inputs, make(chan batch, depth))
			}
			st.workers = reps
		}
		if reps > 1 {
			lbc := n.stage.LoadBalance
			if lbc == nil {
				lbc = &LoadBalanceConfig{Strategy: RoundRobin}
			}
			st.lb, _ = newBalancer(lbc.Strategy, lbc.HashKey) // checked by Compile
			st.lb.setChoices(reps)
		}
		if n.fanOut != nil {
			st.fanLB, _ = newBalancer(n.fanOut.Strategy, n.fanOut.HashKey)
		}
		proc, err := n.sk.build(r, n)
		if err != nil {
			return fmt.Errorf("%s: stage %q: %w", n.at, n.id, err)
		}
		st.proc = proc
		st.parallel = r.parallelism(n, proc)
		if _, ok := proc.(*fanInProc); ok {
			st.fanIn = newFanIn(r, st)
		}
		r.stages[n.idx] = st
	}
	for _, st := range r.stages {
		if st != nil {
			r.wireInputs(st)
		}
	}
	var dlSink connectors.Sink
	if name := r.pl.settings.DeadLetter; name != "" {
		s, err := r.sink(name)
		if err != nil {
			return err
		}
		dlSink = s.sink
	} else {
		dlSink = connectors.NewWriterSink(nopWriteCloser{r.opts.DeadLetterOut}, connectors.FormatPayload, 64<<10)
		r.closers = append(r.closers, func(context.Context) error { return dlSink.Close() })
	}
	r.dl = newDeadLetter(dlSink, r)
	r.dl.name = cmp.Or(r.pl.settings.DeadLetter, "stderr")
	return nil
}

// parallelHint is a processor that knows how many batches it can run at
// once (a transform: its plugin's instances).
type parallelHint interface{ parallelism() int }

// parallelism is how many batches a stage's executor runs at once: 1 for
// stages that keep state between batches; for stateless ones the stage's
// parallelism, else the processor's hint, else GOMAXPROCS (at least 8 for
// stages that wait on I/O).
func (r *Runner) parallelism(n *node, proc processor) int {
	t := n.sk.traits
	if !t.stateless {
		return 1
	}
	if p := n.stage.Parallelism; p > 0 {
		return p
	}
	if h, ok := proc.(parallelHint); ok && h.parallelism() > 0 {
		return h.parallelism()
	}
	p := runtime.GOMAXPROCS(0)
	if t.blocking {
		p = max(p, 8)
	}
	return p
}

// wireInputs gives every upstream worker of st a producer index, and
// groups st's queues by the producers that close them.
func (r *Runner) wireInputs(st *stageRT) {
	st.prodIndex = map[[2]int]int{}
	all := &chanGroup{}
	for i := range st.inputs {
		all.chans = append(all.chans, i)
	}
	sep := st.n.sk.traits.inputsSeparate
	for k, in := range st.n.inputs {
		workers := 1
		if in.kind == nodeStage {
			workers = r.stages[in.idx].workers
		}
		for rep := range workers {
			st.prodIndex[[2]int{in.idx, rep}] = len(st.prodIndex)
		}
		if sep {
			g := &chanGroup{chans: []int{k}}
			g.pending.Store(int32(workers))
			st.groups = append(st.groups, g)
		} else {
			all.pending.Add(int32(workers))
		}
	}
	if !sep {
		st.groups = []*chanGroup{all}
	}
	now := r.nowNano()
	for range st.inputs {
		wms := make([]atomic.Int64, len(st.prodIndex))
		seen := make([]atomic.Int64, len(st.prodIndex))
		for i := range wms {
			wms[i].Store(wmMin)
			seen[i].Store(now)
		}
		st.inWM = append(st.inWM, wms)
		st.seen = append(st.seen, seen)
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// fail stops the run with err (the first error wins).
func (r *Runner) fail(err error) {
	if r.fatal.CompareAndSwap(nil, &err) {
		r.log.Error("pipeline failed", "err", err)
		if r.cancel != nil {
			r.cancel(err)
		}
	}
}

// Drain asks a running Run to stop as if its context were cancelled:
// sources stop reading, records in flight drain through the stages
// (bounded by DrainTimeout) and sinks are flushed and closed; Run then
// returns. Another run, of this plan or a new one, can start once it has.
// Drain may be called from any goroutine, any number of times.
func (r *Runner) Drain() { r.drainOnce.Do(func() { close(r.drain) }) }

// Run runs the pipeline until every source is exhausted and every record
// has drained, or until ctx is cancelled or Drain is called: then sources
// stop reading, records in flight drain through the stages (bounded by
// DrainTimeout) and sinks are flushed and closed. A Runner runs once.
func (r *Runner) Run(ctx context.Context) (Summary, error) {
	r.start.Store(time.Now().UnixNano())
	hard, cancel := context.WithCancelCause(context.Background())
	r.cancel, r.hard = cancel, hard
	r.abandon, r.abandonCancel = context.WithCancel(context.Background())
	defer r.abandonCancel()
	defer cancel(nil)
	srcCtx, srcCancel := context.WithCancel(hard)
	defer srcCancel()
	var stopOnce sync.Once
	stopSources := func() {
		stopOnce.Do(func() {
			r.stopped.Store(true)
			r.log.Info("stopping: draining in-flight records")
			srcCancel()
			t := time.AfterFunc(r.opts.DrainTimeout, func() {
				cancel(fmt.Errorf("drain timeout (%s) exceeded", r.opts.DrainTimeout))
			})
			context.AfterFunc(hard, func() { t.Stop() })
		})
	}
	stop := context.AfterFunc(ctx, stopSources)
	defer stop()
	go func() {
		select {
		case <-r.drain:
			stopSources()
		case <-hard.Done():
		}
	}()

	dlDone := make(chan struct{})
	go func() { r.dl.run(hard); close(dlDone) }()

	if iv := r.pl.settings.IdleTimeout; iv > 0 {
		t := time.NewTicker(max(iv/4, time.Millisecond))
		defer t.Stop()
		tickDone := make(chan struct{})
		defer close(tickDone)
		go func() {
			for {
				select {
				case <-tickDone:
					return
				case <-t.C:
					r.clock.tick()
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for _, st := range r.stages {
		if st == nil {
			continue
		}
		if ir, ok := st.proc.(inputRunner); ok {
			wg.Go(func() {
				w := newWorker(st.r, st.n, 0)
				ir.runInputs(hard, st, w)
				w.finish()
			})
			continue
		}
		for rep := range st.inputs {
			wg.Go(func() {
				w := newWorker(st.r, st.n, rep)
				st.run(hard, w, rep)
				w.finish()
			})
		}
	}
	for _, s := range r.sources {
		wg.Go(func() { s.run(srcCtx, hard) })
	}
	if stuck := r.wait(hard, wg.Wait); stuck {
		// A hard stop, and some stage (a sink or plugin that ignores
		// cancellation) did not return: the run ends anyway, bounded, with
		// what is still inside counted in flight. Their goroutines are
		// abandoned; nothing is closed under them.
		sum := r.Summary()
		_ = r.closeState(false)
		err := fmt.Errorf("%w: %d records still in flight were abandoned", context.Cause(hard), sum.InFlight)
		if e := r.fatal.Load(); e != nil {
			err = fmt.Errorf("%w; %d records still in flight were abandoned", *e, sum.InFlight)
		}
		return sum, err
	}
	r.dl.close()
	if r.wait(hard, func() { <-dlDone }) {
		sum := r.Summary()
		_ = r.closeState(false)
		return sum, fmt.Errorf("%w: the dead-letter sink did not finish; %d records still in flight were abandoned", context.Cause(hard), sum.InFlight)
	}
	var flushErr error
	if r.wait(hard, func() { flushErr = r.closeAll(hard) }) {
		flushErr = fmt.Errorf("%w: closing the sinks did not finish", context.Cause(hard))
	}
	sum := r.Summary()
	complete := flushErr == nil && r.fatal.Load() == nil && !sum.Stopped && sum.InFlight == 0 && sum.Unprocessed == 0
	if err := r.closeState(complete); err != nil && flushErr == nil {
		flushErr = err
	}
	if e := r.fatal.Load(); e != nil {
		return sum, *e
	}
	if err := context.Cause(hard); err != nil && !errors.Is(err, context.Canceled) {
		return sum, err
	}
	return sum, flushErr
}

// stopGrace is how long a run waits for its goroutines after a hard stop
// before it returns without them.
const stopGrace = time.Second

// wait runs wait (which blocks) until it returns, or, once hard is done,
// for at most stopGrace more; it reports whether it gave up.
func (r *Runner) wait(hard context.Context, wait func()) (abandoned bool) {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
		return false
	case <-hard.Done():
	}
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-t.C:
		r.abandonCancel()
		return true
	}
}

// hardCtx is the run's hard-stop context (Background before Run).
func (r *Runner) hardCtx() context.Context {
	if r.hard == nil {
		return context.Background()
	}
	return r.hard
}

// abandonCtx is done once the run has given up on stuck goroutines
// (Background before Run).
func (r *Runner) abandonCtx() context.Context {
	if r.abandon == nil {
		return context.Background()
	}
	return r.abandon
}

func (r *Runner) closeAll(ctx context.Context) error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i](ctx))
	}
	r.closers = nil
	return errors.Join(errs...)
}

// dropQueue empties a stage's queue after a hard stop without processing
// it: the records end as unprocessed (not acknowledged), so nothing
// vanishes from the books and a checkpointing source reads them again.
func (r *Runner) dropQueue(in <-chan batch) {
	for rest := range in {
		for _, rec := range rest.recs {
			end(rec, record.Unprocessed)
		}
		r.inflight.Add(-1)
	}
}

// nowNano is the run's processing time, in Unix nanoseconds.
func (r *Runner) nowNano() int64 {
	if r.clk == nil {
		return time.Now().UnixNano()
	}
	return r.clk.Now().UnixNano()
}

// now is the run's processing time.
func (r *Runner) now() time.Time {
	if r.clk == nil {
		return time.Now()
	}
	return r.clk.Now()
}

// Tick runs idle detection at once, at the run's clock: sources, and the
// inputs of merges, silent for longer than idle_timeout stop holding the
// watermark back, and merges release what that lets through. A run does it
// by itself every idle_timeout/4 of wall time. Activity is stamped with
// the clock's time at ticks, so a harness that moves a manual clock
// (RunOptions.Clock) calls Tick before each move (once what it fed has
// settled: WaitIdle) and again after it, then WaitIdle.
func (r *Runner) Tick() {
	r.clock.tick()
	for _, st := range r.stages {
		if st != nil && st.fanIn != nil {
			st.fanIn.poke()
		}
	}
}

// WaitIdle waits until nothing is queued or being processed anywhere in
// the pipeline: what the sources emitted so far (Emit has returned) has
// gone as far as it can, into sinks (written and flushed), to the
// dead-letter sink, or into a merge's buffer where it waits for the
// watermark. A test harness feeding records step by step calls it between
// steps. It returns ctx's error if ctx ends first (a merge whose buffer is
// full waits for a watermark that only the next step can bring).
func (r *Runner) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(200 * time.Microsecond)
	defer t.Stop()
	for r.inflight.Load() != 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the pipeline did not settle (%d batches in flight): %w", r.inflight.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
