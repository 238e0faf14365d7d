package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

// sourceRT is a run's instance of a source.
type sourceRT struct {
	n     *node
	r     *Runner
	src   connectors.Source
	out   atomic.Int64
	gen   *watermark.Generator
	wmID  watermark.SourceID
	outWM atomic.Int64
	// done is closed once Read has returned and the end of input has gone
	// downstream.
	done chan struct{}
}

func (r *Runner) buildSource(n *node) error {
	src, ok := r.opts.Sources[n.id]
	if !ok {
		var err error
		if src, err = connectors.BuildSource(n.sourceSpec, n.sourceCfg, r.sourceEnv(n.id)); err != nil {
			return fmt.Errorf("%s: %w", n.at, err)
		}
	}
	r.closers = append(r.closers, func(context.Context) error { return src.Close() })
	sr := &sourceRT{n: n, r: r, src: src, done: make(chan struct{})}
	sr.outWM.Store(wmMax)
	if n.wmGen != nil {
		sr.gen = r.newGenerator(n)
		sr.wmID = r.clock.tr.Source(n.id)
		sr.outWM.Store(wmMin)
	}
	r.sources = append(r.sources, sr)
	return nil
}

// newGenerator makes a watermark generator for source n, on the run's
// clock.
func (r *Runner) newGenerator(n *node) *watermark.Generator {
	cfg := *n.wmGen
	cfg.Clock = r.clk
	return watermark.NewGenerator(cfg)
}

// run reads the source until it ends, then tells downstream stages.
func (s *sourceRT) run(ctx, hard context.Context) {
	w := newWorker(s.r, s.n, 0)
	em := &emitter{s: s, w: w, hard: hard, base: &partState{gen: s.gen, id: s.wmID, lastWM: wmMin}}
	err := s.src.Read(ctx, em)
	if err != nil && !errors.Is(err, context.Canceled) {
		s.r.fail(fmt.Errorf("source %q: %w", s.n.id, err))
	}
	if s.gen != nil {
		s.r.clock.finish(s.wmID)
		for part := range em.parts {
			em.EndPartition(part)
		}
	}
	s.outWM.Store(wmMax)
	w.finish()
	close(s.done)
}

// SourceDone returns a channel closed once the named source has ended: its
// Read returned and its end of input went downstream (behind its records),
// so that WaitIdle after it covers the end. Nil for a name that is not a
// source of the run.
func (r *Runner) SourceDone(name string) <-chan struct{} {
	for _, s := range r.sources {
		if s.n.id == name {
			return s.done
		}
	}
	return nil
}

// emitter is the connectors.Emitter a source writes to. A record is
// admitted in named steps: acknowledgement, event time, lateness, then
// dispatch.
type emitter struct {
	s    *sourceRT
	w    *worker
	hard context.Context
	// base is the source's own event-time state; parts, those of the
	// partitions a partitioned source emits on (connectors.PartitionEmitter).
	base  *partState
	parts map[string]*partState
}

// partState is the event-time state of a source, or of one partition of
// it: its watermark generator, its input in the pipeline's tracker, and
// the watermark last published there.
type partState struct {
	gen    *watermark.Generator
	id     watermark.SourceID
	lastWM int64
	idle   bool // marked idle (MarkIdle) and not heard from since
}

var _ connectors.PartitionEmitter = (*emitter)(nil)

func (e *emitter) Emit(ctx context.Context, recs []*record.Record) error {
	return e.emit(ctx, recs, e.base)
}

// EmitPartition implements connectors.PartitionEmitter: each partition is
// its own watermark input (a slow partition holds the combined watermark
// back; records are late against it, not against a faster partition).
func (e *emitter) EmitPartition(ctx context.Context, partition string, recs []*record.Record) error {
	if e.s.gen == nil {
		return e.emit(ctx, recs, e.base) // no event time: partitions change nothing
	}
	ps, ok := e.parts[partition]
	if !ok {
		r := e.s.r
		if e.parts == nil {
			e.parts = map[string]*partState{}
			if e.base.lastWM == wmMin {
				// The source speaks through partitions only: its own input
				// must not hold the watermark back.
				r.clock.finish(e.base.id)
			}
		}
		ps = &partState{gen: r.newGenerator(e.s.n), id: r.clock.source(e.s.n.id + "/" + partition), lastWM: wmMin}
		e.parts[partition] = ps
	}
	return e.emit(ctx, recs, ps)
}

// IdlePartition implements connectors.PartitionEmitter: the partition
// stops holding the watermark back, in the tracker and in the source's
// output watermark, until it emits again; once every partition is idle, the
// source says so downstream.
func (e *emitter) IdlePartition(ctx context.Context, partition string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ps, ok := e.parts[partition]
	if !ok || ps.idle {
		return nil
	}
	ps.idle = true
	e.s.r.clock.markIdle(ps.id)
	e.s.outWM.Store(e.outWM())
	for _, p := range e.parts {
		if !p.idle {
			e.w.forwardWatermark(e.hard)
			return e.hard.Err()
		}
	}
	e.w.forwardIdle(e.hard)
	return e.hard.Err()
}

// EndPartition implements connectors.PartitionEmitter: the partition no
// longer holds the watermark back (revoked, or read to its end).
func (e *emitter) EndPartition(partition string) {
	if ps, ok := e.parts[partition]; ok {
		e.s.r.clock.finish(ps.id)
		delete(e.parts, partition)
	}
}

func (e *emitter) emit(ctx context.Context, recs []*record.Record, ps *partState) error {
	r := e.s.r
	if err := ctx.Err(); err != nil {
		// The run is stopping: these records were read but will not be
		// processed; they are counted as in and unprocessed so the books
		// balance, and not acknowledged.
		r.counts.in.Add(int64(len(recs)))
		r.counts.unprocessed.Add(int64(len(recs)))
		return err
	}
	start := time.Now()
	r.counts.in.Add(int64(len(recs)))
	e.s.out.Add(int64(len(recs)))
	if ps.idle {
		ps.idle = false
		r.clock.touch(ps.id) // back: it holds the watermark again
		e.s.outWM.Store(e.outWM())
	}
	kept := recs[:0]
	for _, rec := range recs {
		e.track(rec)
		if !e.eventTime(rec, ps) {
			continue
		}
		kept = append(kept, rec)
	}
	if ps.gen != nil {
		e.publish(ps, ps.gen.Current())
		e.s.outWM.Store(e.outWM())
	}
	r.obs.StageBatch(e.s.n.id, len(recs), len(kept), time.Since(start))
	e.w.dispatch(e.hard, kept, nil)
	e.w.flush(e.hard)
	e.w.forwardWatermark(e.hard)
	return e.hard.Err()
}

var _ connectors.WatermarkEmitter = (*emitter)(nil)

// EmitWatermark implements connectors.WatermarkEmitter: the source's
// watermark (each partition's, for a partitioned source) rises to at least
// t, counts as activity for idle detection, and goes downstream at once.
func (e *emitter) EmitWatermark(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.s.gen == nil {
		return nil // no event time here: nothing waits on this source
	}
	wm := watermark.Watermark(t.UnixNano())
	for _, ps := range e.states() {
		ps.gen.Advance(wm)
		if ps.idle {
			ps.idle = false
			e.s.r.clock.touch(ps.id)
		}
		e.publish(ps, ps.gen.Current())
	}
	e.s.outWM.Store(e.outWM())
	e.w.forwardWatermark(e.hard)
	return e.hard.Err()
}

// MarkIdle implements connectors.WatermarkEmitter: the source (every
// partition of it) stops holding the watermark back, in the tracker and
// downstream, until it emits again.
func (e *emitter) MarkIdle(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.s.gen == nil {
		return nil
	}
	for _, ps := range e.states() {
		ps.idle = true
		e.s.r.clock.markIdle(ps.id)
	}
	e.s.outWM.Store(e.outWM())
	e.w.forwardIdle(e.hard)
	return e.hard.Err()
}

// states are the event-time states the source speaks through: its
// partitions', or its own.
func (e *emitter) states() []*partState {
	if e.parts == nil {
		return []*partState{e.base}
	}
	out := make([]*partState, 0, len(e.parts))
	for _, ps := range e.parts {
		out = append(out, ps)
	}
	return out
}

// publish tells the pipeline's tracker a new watermark of ps.
func (e *emitter) publish(ps *partState, wm watermark.Watermark) {
	if int64(wm) > ps.lastWM {
		ps.lastWM = int64(wm)
		e.s.r.clock.update(ps.id, wm)
	}
}

// outWM is the source's output watermark: its own, or the slowest of its
// partitions' that are not idle (of all of them, when all are).
func (e *emitter) outWM() int64 {
	if e.parts == nil {
		return e.base.lastWM
	}
	m, mAll := wmMax, wmMax
	for _, ps := range e.parts {
		mAll = min(mAll, ps.lastWM)
		if !ps.idle {
			m = min(m, ps.lastWM)
		}
	}
	if m == wmMax {
		return mAll
	}
	return m
}

// track starts the record's acknowledgement: the run counts its outcome,
// then tells the source's own group, if the source attached one.
func (e *emitter) track(rec *record.Record) {
	if rec.Ack == nil {
		rec.Ack = new(record.Ack)
		rec.Ack.Init(nil, 0)
	}
	rec.Ack.Attach(&e.s.r.counts)
	if rec.Source == "" {
		rec.Source = e.s.n.id
	}
}

// eventTime sets the record's event time and applies the missing, future
// and lateness policies, with the watermark state of its source or
// partition; it reports whether the record goes on.
func (e *emitter) eventTime(rec *record.Record, ps *partState) bool {
	n, r := e.s.n, e.s.r
	missing := "no event time"
	if x := n.eventTime; x != nil {
		if err := x.extract(rec); err != nil {
			if !errors.Is(err, errNoEventTime) {
				e.w.deadLetterKind(rec, err.Error(), "event_time")
				return false
			}
			rec.EventTime = record.NoEventTime
			missing = err.Error()
			if ps.gen == nil { // else the generator applies the policy
				switch x.missing {
				case MissingDrop:
					end(rec, record.Dropped)
					return false
				case MissingUseProcessingTime:
					rec.EventTime = r.nowNano()
				default:
					e.w.deadLetterKind(rec, missing, "event_time")
					return false
				}
			}
		}
	}
	g := ps.gen
	if g == nil {
		return true
	}
	obs := g.Observe(rec.EventTime)
	switch obs.Verdict {
	case watermark.Drop:
		end(rec, record.Dropped)
		return false
	case watermark.DeadLetter:
		reason := missing
		if rec.EventTime != record.NoEventTime {
			reason = fmt.Sprintf("event time %s is too far in the future", watermark.Watermark(rec.EventTime))
		}
		e.w.deadLetterKind(rec, reason, "event_time")
		return false
	}
	rec.EventTime = obs.Time
	// The source's watermark follows every record, not every batch, so
	// which records are late does not depend on the batch size.
	e.publish(ps, g.Current())
	if r.clock.isLate(rec.EventTime) {
		reason := lateReason(n.id, rec.EventTime, r.clock.combined.Load(), r.clock.lateness)
		return e.w.handleLate(rec, n.latePolicy, reason)
	}
	return true
}

var (
	_ connectors.SkipCounter    = (*emitter)(nil)
	_ connectors.RecordRejecter = (*emitter)(nil)
)

// Skipped counts input a source skipped without making a record of it
// (blank lines), for the summary.
func (e *emitter) Skipped(n int, _ string) { e.s.r.skipped.Add(int64(n)) }

// RejectRecord dead-letters input that could not become a record, with the
// source's acknowledgement kept.
func (e *emitter) RejectRecord(_ context.Context, rec *record.Record, err error) error {
	r := e.s.r
	r.counts.in.Add(1)
	e.track(rec)
	e.w.deadLetterKind(rec, err.Error(), "source")
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
	e.w.deadLetterKind(rec, err.Error(), "source")
	return e.hard.Err()
}
