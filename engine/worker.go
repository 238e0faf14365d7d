package engine

import (
	"context"
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// worker is one goroutine's view of a node: it routes the node's output
// records into per-target batches and sends them downstream. A worker is
// used by one goroutine only.
type worker struct {
	r   *Runner
	n   *node
	rep int
	// pend holds records waiting to be sent, one slot per (route, queue).
	pend  [][]*record.Record
	slots []slot
	base  []int // first slot of each route
	nslot []int // number of slots of each route
	idx   []int
	dl    []dlItem
	tx    *txScratch // transform conversion buffers
	// wm is the worker's current input watermark (stages) — set per batch.
	wm int64
	// src is the source this worker reads for (nil for stages).
	src *sourceRT
	// single is set when every record goes to the one queue of the one
	// unconditional route: no per-record routing work at all.
	single bool
}

type slot struct {
	st   *stageRT
	ch   int // queue index at st
	prod int // this worker's producer index at st
}

func newWorker(r *Runner, n *node, rep int) *worker {
	w := &worker{r: r, n: n, rep: rep, wm: wmMin}
	for _, s := range r.sources {
		if s.n == n {
			w.src = s // found once here, not on every flush
		}
	}
	for _, rt := range n.routes {
		st := r.stages[rt.to.idx]
		w.base = append(w.base, len(w.slots))
		chs := st.slotsFor(n)
		w.nslot = append(w.nslot, len(chs))
		prod := st.prodIndex[[2]int{n.idx, rep}]
		for _, ch := range chs {
			w.slots = append(w.slots, slot{st: st, ch: ch, prod: prod})
		}
	}
	w.pend = make([][]*record.Record, len(w.slots))
	w.single = len(n.routes) == 1 && n.routes[0].cond == nil && !n.routes[0].late && len(w.slots) == 1
	return w
}

// outWM is the watermark the worker's node has reached: a source's
// generator watermark, a fan-in's merge watermark, or for other stages the
// minimum of their inputs.
func (w *worker) outWM() int64 {
	if w.src != nil {
		return w.src.outWM.Load()
	}
	if st := w.r.stages[w.n.idx]; st != nil && st.fanIn != nil {
		return st.fanIn.wm.Load()
	}
	return w.wm
}

func (w *worker) push(ri int, rc *record.Record) {
	s := w.base[ri]
	if n := w.nslot[ri]; n > 1 {
		to := w.n.routes[ri].to
		rep := to.lb.pick(rc, n)
		to.lb.add(rep, 1)
		s += rep
	}
	if w.pend[s] == nil {
		w.pend[s] = make([]*record.Record, 0, w.r.p.Settings.BatchSize)
	}
	w.pend[s] = append(w.pend[s], rc)
}

// dispatch routes recs to the pending batches of their targets.
func (w *worker) dispatch(ctx context.Context, recs []*record.Record) {
	if len(recs) == 0 {
		return
	}
	if w.single {
		if w.pend[0] == nil {
			w.pend[0] = make([]*record.Record, 0, max(len(recs), w.r.p.Settings.BatchSize))
		}
		w.pend[0] = append(w.pend[0], recs...)
		return
	}
	n := w.n
	wm := celWatermark(w.wm)
	for _, rec := range recs {
		var err error
		w.idx, err = n.route(rec, w.idx[:0], wm)
		if err != nil {
			w.deadLetter(rec, err.Error())
			continue
		}
		if len(w.idx) == 0 {
			w.unmatched(rec)
			continue
		}
		rec.Ack.Fork(len(w.idx) - 1)
		for k, ri := range w.idx {
			rc := rec
			if k > 0 {
				rc = rec.Clone()
			}
			w.push(ri, rc)
		}
	}
}

// toLate sends rec down the node's late route (side output).
func (w *worker) toLate(rec *record.Record) {
	rec.Metadata.Set("late", "true")
	w.push(w.n.lateRoute, rec)
}

func (w *worker) unmatched(rec *record.Record) {
	switch w.n.unmatched {
	case UnmatchedDrop:
		end(rec, record.Dropped)
	case UnmatchedError:
		w.r.fail(fmt.Errorf("stage %q: %w for record %s", w.n.id, ErrUnmatched, describe(rec)))
		w.deadLetter(rec, fmt.Sprintf("no route matched at %q (unmatched: error)", w.n.id))
	default:
		w.deadLetter(rec, fmt.Sprintf("no route matched at %q", w.n.id))
	}
}

// describe names a record for messages: its source and sequence number.
func describe(r *record.Record) string {
	if r.Origin != "" {
		return r.Origin
	}
	if r.Ack != nil && r.Ack.Seq > 0 {
		return fmt.Sprintf("%s#%d", r.Source, r.Ack.Seq)
	}
	if r.Key != "" {
		return fmt.Sprintf("key %q", r.Key)
	}
	return "from " + r.Source
}

// flush sends every pending batch downstream with the worker's output
// watermark. It blocks while a target's queue is full (backpressure). On a
// hard stop the unsent records are ended as dropped.
func (w *worker) flush(ctx context.Context) {
	var wm int64
	wmKnown := false
	for i, recs := range w.pend {
		if len(recs) == 0 {
			continue
		}
		if !wmKnown {
			wm, wmKnown = w.outWM(), true
		}
		w.pend[i] = nil
		sl := w.slots[i]
		select {
		case sl.st.inputs[sl.ch] <- batch{recs: recs, from: w.n.idx, prod: sl.prod, wm: wm}:
		case <-ctx.Done():
			for _, r := range recs {
				end(r, record.Dropped)
			}
		}
	}
	if len(w.dl) > 0 {
		w.r.dl.send(ctx, w.dl)
		w.dl = nil
	}
}

// deadLetter queues rec for the dead-letter sink with a reason.
func (w *worker) deadLetter(rec *record.Record, reason string) {
	w.dl = append(w.dl, dlItem{rec: rec, reason: reason, stage: w.n.id})
	if len(w.dl) >= w.r.p.Settings.BatchSize {
		w.r.dl.send(context.Background(), w.dl)
		w.dl = nil
	}
}

// finish flushes, sends every downstream queue an end-of-input watermark
// (the maximum) behind the records already sent, and closes a stage's
// queues once their last producer has finished.
func (w *worker) finish() {
	w.flush(context.Background())
	seen := map[*chanGroup]bool{}
	for _, sl := range w.slots {
		// The end of input travels like any watermark: behind the records
		// this worker sent on that queue.
		sl.st.inputs[sl.ch] <- batch{from: w.n.idx, prod: sl.prod, wm: wmMax}
	}
	for _, sl := range w.slots {
		g := sl.st.groupFor(w.n)
		if seen[g] {
			continue
		}
		seen[g] = true
		if g.pending.Add(-1) == 0 {
			for _, ch := range g.chans {
				close(sl.st.inputs[ch])
			}
		}
	}
}

// end ends one path of rec with outcome o and recycles its parse state.
func end(rec *record.Record, o record.Outcome) {
	rec.Ack.End(o)
	rec.Release()
}
