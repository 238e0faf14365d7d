package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
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
}

// Runner executes a compiled pipeline: records flow from the sources through
// the stages to the sinks in batches, over bounded queues (a full queue
// blocks the stages feeding it), with each stage's replicas running
// concurrently.
type Runner struct {
	p     *Pipeline
	pl    *plan
	opts  RunOptions
	log   *slog.Logger
	start atomic.Int64 // Unix ns; 0 before Run

	stages  []*stageRT // by node idx; nil for sources
	sources []*sourceRT
	sinks   map[string]*sinkRT
	plugins map[string]*plugins.Plugin
	dl      *deadLetter

	counts  outcomeCounts
	clock   *eventClock
	fatal   atomic.Pointer[error]
	cancel  context.CancelCauseFunc
	closers []func(context.Context) error
}

// outcomeCounts counts source records by final outcome.
type outcomeCounts struct {
	in, delivered, filtered, dropped, deadLettered atomic.Int64
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
}

type stageRT struct {
	n *node
	r *Runner
	// inputs are the stage's queues: one per replica, or for a fan_in
	// one per input node (in n.inputs order).
	inputs []chan batch
	groups []*chanGroup
	// workers is the number of goroutines that emit the stage's output.
	workers int
	// Producers are the upstream workers feeding the stage; each has an
	// index, and per queue its latest watermark and when it last sent (per
	// queue, so that a replica never sees a watermark ahead of the records
	// still waiting in its own queue).
	prodIndex map[[2]int]int
	inWM      [][]atomic.Int64
	seen      [][]atomic.Int64
	proc      processor
	fanIn     *fanInRT
	in, out   atomic.Int64
}

// chanGroup is a set of queues closed together once their producers have
// all finished.
type chanGroup struct {
	chans   []int
	pending atomic.Int32
}

type sourceRT struct {
	n     *node
	r     *Runner
	src   connectors.Source
	out   atomic.Int64
	gen   *watermark.Generator
	wmID  watermark.SourceID
	outWM atomic.Int64
}

// slotsFor returns the queues a worker of node from may send to.
func (st *stageRT) slotsFor(from *node) []int {
	if st.fanIn != nil {
		return []int{slices.Index(st.n.inputs, from)}
	}
	out := make([]int, len(st.inputs))
	for i := range out {
		out[i] = i
	}
	return out
}

func (st *stageRT) groupFor(from *node) *chanGroup {
	if st.fanIn != nil {
		return st.groups[slices.Index(st.n.inputs, from)]
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
	return minWatermark(st.inWM[ch], st.seen[ch], st.r.p.Settings.IdleTimeout, time.Now().UnixNano())
}

// received records the watermark of a batch taken from queue ch.
func (st *stageRT) received(b batch, ch int) {
	if b.prod < 0 || b.prod >= len(st.prodIndex) {
		return
	}
	wms := st.inWM[ch]
	st.seen[ch][b.prod].Store(time.Now().UnixNano())
	for {
		old := wms[b.prod].Load()
		if b.wm <= old || wms[b.prod].CompareAndSwap(old, b.wm) {
			return
		}
	}
}

type sinkRT struct {
	mu   sync.Mutex
	name string
	sink connectors.Sink
}

// processor is a stage's behaviour: it turns an input batch into outputs
// (appended to out) and ends the paths of records it consumes.
type processor interface {
	process(ctx context.Context, w *worker, in []*record.Record, out []*record.Record) []*record.Record
}

// idler is a processor that wants to know when its queue has run dry.
type idler interface{ idle(w *worker) }

// NewRunner prepares p (compiling it if needed) for running: it opens
// sources and sinks and loads plugins, so that every configuration problem
// surfaces before the first record moves.
func NewRunner(p *Pipeline, opts RunOptions) (*Runner, error) {
	if err := p.Compile(); err != nil {
		return nil, err
	}
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
	r := &Runner{p: p, pl: p.plan, opts: opts, log: opts.Logger, sinks: map[string]*sinkRT{}, clock: newEventClock(p.Settings)}
	if err := r.build(); err != nil {
		r.closeAll(context.Background())
		return nil, err
	}
	return r, nil
}

func (r *Runner) env(name string) connectors.Env {
	return connectors.Env{BaseDir: r.p.baseDir(), BatchSize: r.p.Settings.BatchSize, Name: name,
		Logger: r.log.With("connector", name), Stdin: r.opts.Stdin, Stdout: r.opts.Stdout}
}

func (r *Runner) sink(name string) (*sinkRT, error) {
	if s, ok := r.sinks[name]; ok {
		return s, nil
	}
	sv := r.pl.services[name]
	k, err := connectors.BuildSink(sv.spec, sv.cfg, r.env(name))
	if err != nil {
		return nil, err
	}
	s := &sinkRT{name: name, sink: k}
	r.sinks[name] = s
	r.closers = append(r.closers, func(context.Context) error {
		if err := k.Close(); err != nil {
			return fmt.Errorf("close sink %q: %w", name, err)
		}
		return nil
	})
	return s, nil
}

func (r *Runner) build() error {
	depth := r.p.Settings.QueueDepth
	r.stages = make([]*stageRT, len(r.pl.nodes))
	for _, n := range r.pl.nodes {
		if n.kind == nodeSource {
			src, err := connectors.BuildSource(n.sourceSpec, n.sourceCfg, r.env(n.id))
			if err != nil {
				return fmt.Errorf("%s: %w", n.at, err)
			}
			r.closers = append(r.closers, func(context.Context) error { return src.Close() })
			sr := &sourceRT{n: n, r: r, src: src}
			sr.outWM.Store(wmMax)
			if n.wmGen != nil {
				sr.gen = watermark.NewGenerator(*n.wmGen)
				sr.wmID = r.clock.tr.Source(n.id)
				sr.outWM.Store(wmMin)
			}
			r.sources = append(r.sources, sr)
			continue
		}
		st := &stageRT{n: n, r: r}
		reps := max(n.stage.Replicas, 1)
		if n.stage.Type == StageFanIn {
			st.fanIn = newFanIn(r, st)
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
		if n.lb == nil && reps > 1 {
			n.lb, _ = newBalancer(RoundRobin, "")
		}
		if n.lb != nil && n.stage.Type != StageFanOut {
			n.lb.setChoices(reps)
		}
		proc, err := r.newProcessor(n)
		if err != nil {
			return fmt.Errorf("%s: stage %q: %w", n.at, n.id, err)
		}
		st.proc = proc
		r.stages[n.idx] = st
	}
	for _, st := range r.stages {
		if st == nil {
			continue
		}
		st.prodIndex = map[[2]int]int{}
		all := &chanGroup{}
		for i := range st.inputs {
			all.chans = append(all.chans, i)
		}
		for k, in := range st.n.inputs {
			workers := 1
			if in.kind == nodeStage {
				workers = r.stages[in.idx].workers
			}
			for rep := range workers {
				st.prodIndex[[2]int{in.idx, rep}] = len(st.prodIndex)
			}
			if st.fanIn != nil {
				g := &chanGroup{chans: []int{k}}
				g.pending.Store(int32(workers))
				st.groups = append(st.groups, g)
			} else {
				all.pending.Add(int32(workers))
			}
		}
		if st.fanIn == nil {
			st.groups = []*chanGroup{all}
		}
		now := time.Now().UnixNano()
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
		if st.fanIn != nil {
			if err := st.fanIn.init(); err != nil {
				return fmt.Errorf("%s: stage %q: %w", st.n.at, st.n.id, err)
			}
		}
	}
	var dlSink connectors.Sink
	if name := r.p.Settings.DeadLetter; name != "" {
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
	return nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func (r *Runner) newProcessor(n *node) (processor, error) {
	switch n.stage.Type {
	case StageFilter:
		return filterProc{cond: n.stage.Condition.cond}, nil
	case StageMetadata:
		return metadataProc{set: n.metaSet, remove: n.stage.Remove}, nil
	case StageFanOut, StageFanIn:
		return passProc{}, nil // a fan_in's merge runs in fanInRT
	case StageSink:
		s, err := r.sink(n.stage.ServiceName)
		if err != nil {
			return nil, err
		}
		return &sinkProc{s: s}, nil
	case StageTransform:
		return r.newTransform(n)
	case StageLookup:
		return r.newLookup(n)
	}
	return nil, fmt.Errorf("stage type %q cannot run", n.stage.Type)
}

// fail stops the run with err (the first error wins).
func (r *Runner) fail(err error) {
	if r.fatal.CompareAndSwap(nil, &err) {
		r.log.Error("pipeline failed", "err", err)
		if r.cancel != nil {
			r.cancel(err)
		}
	}
}

// Run runs the pipeline until every source is exhausted and every record
// has drained, or until ctx is cancelled: then sources stop reading, records
// in flight drain through the stages (bounded by DrainTimeout) and sinks are
// flushed and closed. A Runner runs once.
func (r *Runner) Run(ctx context.Context) (Summary, error) {
	r.start.Store(time.Now().UnixNano())
	hard, cancel := context.WithCancelCause(context.Background())
	r.cancel = cancel
	defer cancel(nil)
	srcCtx, srcCancel := context.WithCancel(hard)
	defer srcCancel()
	stop := context.AfterFunc(ctx, func() {
		r.log.Info("stopping: draining in-flight records")
		srcCancel()
		t := time.AfterFunc(r.opts.DrainTimeout, func() {
			cancel(fmt.Errorf("drain timeout (%s) exceeded", r.opts.DrainTimeout))
		})
		context.AfterFunc(hard, func() { t.Stop() })
	})
	defer stop()

	dlDone := make(chan struct{})
	go func() { r.dl.run(hard); close(dlDone) }()

	if iv := r.p.Settings.IdleTimeout; iv > 0 {
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
		if st.fanIn != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := newWorker(st.r, st.n, 0)
				st.fanIn.run(hard, w)
				w.finish()
			}()
			continue
		}
		for rep := range st.inputs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := newWorker(st.r, st.n, rep)
				st.run(hard, w, rep)
				w.finish()
			}()
		}
	}
	for _, s := range r.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(srcCtx, hard)
		}()
	}
	wg.Wait()
	r.dl.close()
	<-dlDone
	flushErr := r.closeAll(hard)
	sum := r.Summary()
	if e := r.fatal.Load(); e != nil {
		return sum, *e
	}
	if err := context.Cause(hard); err != nil && !errors.Is(err, context.Canceled) {
		return sum, err
	}
	return sum, flushErr
}

func (r *Runner) closeAll(ctx context.Context) error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i](ctx))
	}
	r.closers = nil
	return errors.Join(errs...)
}

// run reads the source until it ends, then tells downstream stages.
func (s *sourceRT) run(ctx, hard context.Context) {
	w := newWorker(s.r, s.n, 0)
	em := &emitter{s: s, w: w, hard: hard}
	err := s.src.Read(ctx, em)
	if err != nil && !errors.Is(err, context.Canceled) {
		s.r.fail(fmt.Errorf("source %q: %w", s.n.id, err))
	}
	if s.gen != nil {
		s.r.clock.finish(s.wmID)
	}
	s.outWM.Store(wmMax)
	w.finish()
}

// emitter is the connectors.Emitter a source writes to.
type emitter struct {
	s    *sourceRT
	w    *worker
	hard context.Context
}

func (e *emitter) Emit(ctx context.Context, recs []*record.Record) error {
	if err := ctx.Err(); err != nil {
		// The run is stopping: these records were read but will not be
		// processed; they are counted as in and dropped so the books balance.
		e.s.r.counts.in.Add(int64(len(recs)))
		e.s.r.counts.dropped.Add(int64(len(recs)))
		return err
	}
	n := e.s.n
	r := e.s.r
	r.counts.in.Add(int64(len(recs)))
	e.s.out.Add(int64(len(recs)))
	kept := recs[:0]
	for _, rec := range recs {
		if rec.Ack == nil {
			rec.Ack = new(record.Ack)
		}
		rec.Ack.Init(&r.counts, rec.Ack.Seq)
		if rec.Source == "" {
			rec.Source = n.id
		}
		missing := "no event time"
		if x := n.eventTime; x != nil {
			if err := x.extract(rec); err != nil {
				if !errors.Is(err, errNoEventTime) {
					e.w.deadLetter(rec, err.Error())
					continue
				}
				rec.EventTime = record.NoEventTime
				missing = err.Error()
				if e.s.gen == nil { // else the generator applies the policy
					switch x.missing {
					case MissingDrop:
						end(rec, record.Dropped)
						continue
					case MissingUseProcessingTime:
						rec.EventTime = time.Now().UnixNano()
					default:
						e.w.deadLetter(rec, missing)
						continue
					}
				}
			}
		}
		if g := e.s.gen; g != nil {
			obs := g.Observe(rec.EventTime)
			switch obs.Verdict {
			case watermark.Drop:
				end(rec, record.Dropped)
				continue
			case watermark.DeadLetter:
				reason := missing
				if rec.EventTime != record.NoEventTime {
					reason = fmt.Sprintf("event time %s is too far in the future", watermark.Watermark(rec.EventTime))
				}
				e.w.deadLetter(rec, reason)
				continue
			}
			rec.EventTime = obs.Time
			if r.clock.isLate(rec.EventTime) {
				reason := lateReason(n.id, rec.EventTime, r.clock.combined.Load(), r.clock.lateness)
				if !e.w.handleLate(rec, n.latePolicy, reason) {
					continue
				}
			}
		}
		kept = append(kept, rec)
	}
	if g := e.s.gen; g != nil {
		wm := g.Current()
		r.clock.update(e.s.wmID, wm)
		e.s.outWM.Store(int64(wm))
	}
	e.w.dispatch(e.hard, kept)
	e.w.flush(e.hard)
	return e.hard.Err()
}

func (e *emitter) Reject(ctx context.Context, raw []byte, origin string, err error) error {
	r := e.s.r
	r.counts.in.Add(1)
	rec := record.New("", raw)
	rec.Source = e.s.n.id
	rec.Origin = origin
	var a record.Ack
	a.Init(&r.counts, 0)
	rec.Ack = &a
	e.w.deadLetter(rec, err.Error())
	return e.hard.Err()
}

func (st *stageRT) run(ctx context.Context, w *worker, rep int) {
	if t, ok := st.proc.(*transformProc); ok && t.parallel > 1 {
		st.runOrdered(ctx, w, rep, t)
		return
	}
	in := st.inputs[rep]
	var out []*record.Record
	for b := range in {
		st.received(b, rep)
		w.wm = st.inputWM(rep)
		if len(b.recs) == 0 {
			continue // a watermark-only batch (a producer's end of input)
		}
		st.in.Add(int64(len(b.recs)))
		out = st.proc.process(ctx, w, b.recs, out[:0])
		if lb := st.n.lb; lb != nil && st.n.stage.Type != StageFanOut {
			lb.add(rep, -int64(len(b.recs)))
		}
		st.out.Add(int64(len(out)))
		w.dispatch(ctx, out)
		w.flush(ctx)
		if f, ok := st.proc.(idler); ok && len(in) == 0 {
			f.idle(w)
		}
		if ctx.Err() != nil {
			dropQueue(in)
			return
		}
	}
}

// dropQueue empties a stage's queue after a hard stop without processing
// it, counting the records as dropped so nothing vanishes from the books.
func dropQueue(in <-chan batch) {
	for rest := range in {
		for _, rec := range rest.recs {
			end(rec, record.Dropped)
		}
	}
}
