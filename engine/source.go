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
	sr := &sourceRT{n: n, r: r, src: src}
	sr.outWM.Store(wmMax)
	if n.wmGen != nil {
		sr.gen = watermark.NewGenerator(*n.wmGen)
		sr.wmID = r.clock.tr.Source(n.id)
		sr.outWM.Store(wmMin)
	}
	r.sources = append(r.sources, sr)
	return nil
}

// run reads the source until it ends, then tells downstream stages.
func (s *sourceRT) run(ctx, hard context.Context) {
	w := newWorker(s.r, s.n, 0)
	em := &emitter{s: s, w: w, hard: hard, lastWM: wmMin}
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

// emitter is the connectors.Emitter a source writes to. A record is
// admitted in named steps: acknowledgement, event time, lateness, then
// dispatch.
type emitter struct {
	s    *sourceRT
	w    *worker
	hard context.Context
	// lastWM is the source watermark last published to the event clock.
	lastWM int64
}

func (e *emitter) Emit(ctx context.Context, recs []*record.Record) error {
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
	kept := recs[:0]
	for _, rec := range recs {
		e.track(rec)
		if !e.eventTime(rec) {
			continue
		}
		kept = append(kept, rec)
	}
	if g := e.s.gen; g != nil {
		wm := g.Current()
		r.clock.update(e.s.wmID, wm)
		e.s.outWM.Store(int64(wm))
	}
	r.obs.StageBatch(e.s.n.id, len(recs), len(kept), time.Since(start))
	e.w.dispatch(e.hard, kept, nil)
	e.w.flush(e.hard)
	return e.hard.Err()
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
// and lateness policies; it reports whether the record goes on.
func (e *emitter) eventTime(rec *record.Record) bool {
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
			if e.s.gen == nil { // else the generator applies the policy
				switch x.missing {
				case MissingDrop:
					end(rec, record.Dropped)
					return false
				case MissingUseProcessingTime:
					rec.EventTime = time.Now().UnixNano()
				default:
					e.w.deadLetterKind(rec, missing, "event_time")
					return false
				}
			}
		}
	}
	g := e.s.gen
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
	if wm := g.Current(); int64(wm) > e.lastWM {
		e.lastWM = int64(wm)
		r.clock.update(e.s.wmID, wm)
		e.s.outWM.Store(int64(wm))
	}
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
