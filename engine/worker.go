package engine

import (
	"context"
	"fmt"
	"math/bits"
	"sync/atomic"

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
	// slotWM is the watermark last sent on each slot; idleSent, that the
	// last thing sent on every slot said idle.
	slotWM   []int64
	idleSent bool
	base     []int // first slot of each route
	nslot    []int // number of slots of each route
	dl       []dlItem
	// wm is the worker's current input watermark (stages) — set per batch.
	wm int64
	// src is the source this worker reads for (nil for stages).
	src *sourceRT
	// st is the stage this worker emits for (nil for sources).
	st *stageRT
	// fanLB is this run's balancer of a load-balanced fan-out.
	fanLB *balancer
	// edges counts records per route of n, for the summary and observer.
	edges []atomic.Int64
	// single is set when every record goes to the one queue of the one
	// unconditional route: no per-record routing work at all.
	single bool
	// rc is the worker's routing scratch (sources, merges).
	rc    batchCtx
	masks []uint64
}

type slot struct {
	st    *stageRT
	ch    int // queue index at st
	prod  int // this worker's producer index at st
	route int // index in n.routes
}

func newWorker(r *Runner, n *node, rep int) *worker {
	w := &worker{r: r, n: n, rep: rep, wm: wmMin, edges: r.edges[n.idx]}
	w.rc = batchCtx{r: r, stage: n.id}
	for _, s := range r.sources {
		if s.n == n {
			w.src = s // found once here, not on every flush
		}
	}
	if st := r.stages[n.idx]; st != nil {
		w.st = st
		w.fanLB = st.fanLB
	}
	for ri, rt := range n.routes {
		st := r.stages[rt.to.idx]
		w.base = append(w.base, len(w.slots))
		chs := st.slotsFor(n)
		w.nslot = append(w.nslot, len(chs))
		prod := st.prodIndex[[2]int{n.idx, rep}]
		for _, ch := range chs {
			w.slots = append(w.slots, slot{st: st, ch: ch, prod: prod, route: ri})
		}
	}
	w.pend = make([][]*record.Record, len(w.slots))
	w.slotWM = make([]int64, len(w.slots))
	for i := range w.slotWM {
		w.slotWM[i] = wmMin
	}
	w.single = n.trivialRoute() && len(w.slots) == 1
	return w
}

// trivialRoute reports whether every record leaving n takes its one,
// unconditional route.
func (n *node) trivialRoute() bool {
	return len(n.routes) == 1 && n.routes[0].cond == nil && !n.routes[0].late && n.fanOut == nil
}

// outWM is the watermark the worker's node has reached: a source's
// generator watermark, a fan-in's merge watermark, or for other stages the
// minimum of their inputs.
func (w *worker) outWM() int64 {
	if w.src != nil {
		return w.src.outWM.Load()
	}
	if w.st != nil && w.st.fanIn != nil {
		return w.st.fanIn.wm.Load()
	}
	return w.wm
}

func (w *worker) push(ri int, rc *record.Record) {
	s := w.base[ri]
	if n := w.nslot[ri]; n > 1 {
		lb := w.slots[s].st.lb
		rep := lb.pick(rc, n)
		lb.add(rep, 1)
		s += rep
	}
	if w.pend[s] == nil {
		w.pend[s] = make([]*record.Record, 0, w.r.pl.settings.BatchSize)
	}
	w.pend[s] = append(w.pend[s], rc)
}

// maxMaskRoutes is the most routes out of one node whose choices fit a
// route mask; a node with more is routed record by record at dispatch.
const maxMaskRoutes = 64

// routeBatch decides where each record goes, as one step that a parallel
// executor runs off the dispatching goroutine: it returns the records that
// take at least one route, with a mask of their routes each. Records no
// route accepts follow the node's unmatched policy, and records whose
// condition fails are dead-lettered, through bc.
func routeBatch(n *node, lb *balancer, recs []*record.Record, bc *batchCtx, masks []uint64) ([]*record.Record, []uint64) {
	wm := celWatermark(bc.wm)
	kept := recs[:0]
	for _, rec := range recs {
		m, err := n.routeMask(rec, wm, lb)
		if err != nil {
			bc.deadLetterKind(rec, err.Error(), "condition")
			continue
		}
		if m == 0 {
			unmatched(n, bc, rec)
			continue
		}
		kept = append(kept, rec)
		masks = append(masks, m)
	}
	return kept, masks
}

// unmatched applies n's unmatched policy to a record no route accepts.
func unmatched(n *node, bc *batchCtx, rec *record.Record) {
	switch n.unmatched {
	case UnmatchedDrop:
		end(rec, record.Dropped)
	case UnmatchedError:
		bc.fail(fmt.Errorf("stage %q: %w for record %s", n.id, ErrUnmatched, describe(rec)))
		bc.deadLetterKind(rec, fmt.Sprintf("no route matched at %q (unmatched: error)", n.id), "unmatched")
	default:
		bc.deadLetterKind(rec, fmt.Sprintf("no route matched at %q", n.id), "unmatched")
	}
}

// dispatch sends recs to the pending batches of their targets. masks, when
// not nil, holds each record's routes as computed by routeBatch; without
// it the records are routed here.
func (w *worker) dispatch(ctx context.Context, recs []*record.Record, masks []uint64) {
	if len(recs) == 0 {
		return
	}
	if w.single {
		if w.pend[0] == nil {
			w.pend[0] = make([]*record.Record, 0, max(len(recs), w.r.pl.settings.BatchSize))
		}
		w.pend[0] = append(w.pend[0], recs...)
		return
	}
	n := w.n
	if n.trivialRoute() {
		for _, rec := range recs {
			w.push(0, rec)
		}
		return
	}
	if masks == nil {
		if len(n.routes) > maxMaskRoutes {
			w.dispatchWide(recs)
			return
		}
		w.rc.wm, w.rc.dl = w.wm, w.rc.dl[:0]
		recs, w.masks = routeBatch(n, w.fanLB, recs, &w.rc, w.masks[:0])
		masks = w.masks
		w.dl = append(w.dl, w.rc.dl...)
	}
	for i, rec := range recs {
		m := masks[i]
		rec.Ack.Fork(bits.OnesCount64(m) - 1)
		first := true
		for m != 0 {
			ri := bits.TrailingZeros64(m)
			m &= m - 1
			rc := rec
			if !first {
				rc = rec.Clone()
			}
			first = false
			w.push(ri, rc)
		}
	}
}

// dispatchWide routes records of a node with more routes than fit a mask.
func (w *worker) dispatchWide(recs []*record.Record) {
	w.rc.wm, w.rc.dl = w.wm, w.rc.dl[:0]
	var idx []int
	for _, rec := range recs {
		var err error
		idx, err = w.n.route(rec, idx[:0], celWatermark(w.wm), w.fanLB)
		if err != nil {
			w.rc.deadLetterKind(rec, err.Error(), "condition")
			continue
		}
		if len(idx) == 0 {
			unmatched(w.n, &w.rc, rec)
			continue
		}
		rec.Ack.Fork(len(idx) - 1)
		for k, ri := range idx {
			rc := rec
			if k > 0 {
				rc = rec.Clone()
			}
			w.push(ri, rc)
		}
	}
	w.dl = append(w.dl, w.rc.dl...)
}

// toLate sends rec down the node's late route (side output).
func (w *worker) toLate(rec *record.Record) {
	rec.Metadata.Set("late", "true")
	w.push(w.n.lateRoute, rec)
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
// hard stop the unsent records end as unprocessed.
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
		if !w.send(ctx, sl, batch{recs: recs, from: w.n.idx, prod: sl.prod, wm: wm}) {
			for _, r := range recs {
				end(r, record.Unprocessed)
			}
			continue
		}
		w.slotWM[i] = wm
		w.idleSent = false
		w.edges[sl.route].Add(int64(len(recs)))
		w.r.obs.EdgeRecords(w.n.id, sl.st.n.id, len(recs))
	}
	if len(w.dl) > 0 {
		// Dead letters are written even when the run fails: they are how
		// the failure's records are not lost.
		w.sendDeadLetters(w.r.abandonCtx())
	}
}

// forwardWatermark sends the worker's output watermark, in a batch without
// records, on every queue it has not reached yet: a stage that filtered a
// whole batch, a route no record took, a source's watermark mark. A merge
// downstream then moves on without waiting for a record (or the idle
// timeout) from this path. The end of input is left to finish.
//
// After an idle mark, it is sent on every queue even if the watermark did
// not move: the node is active again and holds the watermark back again.
func (w *worker) forwardWatermark(ctx context.Context) {
	wm := w.outWM()
	wasIdle := w.idleSent
	if wm == wmMax || wm == wmMin && !wasIdle {
		return
	}
	for i, sl := range w.slots {
		if w.slotWM[i] >= wm && !wasIdle {
			continue
		}
		if !w.send(ctx, sl, batch{from: w.n.idx, prod: sl.prod, wm: wm}) {
			return
		}
		w.slotWM[i] = wm
		w.idleSent = false
	}
}

// forwardIdle tells every queue downstream that this node has nothing to
// send for now (all its inputs are idle): it stops holding their
// watermarks back until it sends again. Said once until something else is
// sent.
func (w *worker) forwardIdle(ctx context.Context) {
	if w.idleSent {
		return
	}
	wm := w.outWM()
	for i, sl := range w.slots {
		if !w.send(ctx, sl, batch{from: w.n.idx, prod: sl.prod, wm: wm, idle: true}) {
			return
		}
		w.slotWM[i] = max(w.slotWM[i], wm)
	}
	w.idleSent = true
}

// send puts b on slot sl's queue, counted in flight (Runner.WaitIdle)
// until its receiver is done with it; false if ctx ended first.
func (w *worker) send(ctx context.Context, sl slot, b batch) bool {
	w.r.inflight.Add(1)
	select {
	case sl.st.inputs[sl.ch] <- b:
		return true
	case <-ctx.Done():
		w.r.inflight.Add(-1)
		return false
	}
}

// sendDeadLetters hands the worker's dead letters to the dead-letter sink.
func (w *worker) sendDeadLetters(ctx context.Context) {
	items := w.dl
	w.dl = nil
	for i := 0; i < len(items); {
		j := i + 1
		for j < len(items) && items[j].kind == items[i].kind && items[j].stage == items[i].stage {
			j++
		}
		w.r.obs.DeadLetters(items[i].stage, items[i].kind, j-i)
		i = j
	}
	w.r.dl.send(ctx, items)
}

// deadLetter queues rec for the dead-letter sink with a reason; the kind
// of reason is the kind of the worker's node.
func (w *worker) deadLetter(rec *record.Record, reason string) {
	kind := "source"
	if w.n.stage != nil {
		kind = string(w.n.stage.Type)
	}
	w.deadLetterKind(rec, reason, kind)
}

func (w *worker) deadLetterKind(rec *record.Record, reason, kind string) {
	w.dl = append(w.dl, dlItem{rec: rec, reason: reason, stage: w.n.id, kind: kind})
	if len(w.dl) >= w.r.pl.settings.BatchSize {
		w.sendDeadLetters(w.r.abandonCtx())
	}
}

// finish flushes, sends every downstream queue an end-of-input watermark
// (the maximum) behind the records already sent, and closes a stage's
// queues once their last producer has finished. Once the run has given up
// on stuck stages it does not wait for them.
func (w *worker) finish() {
	ctx := w.r.abandonCtx()
	w.flush(w.r.hardCtx())
	seen := map[*chanGroup]bool{}
	for _, sl := range w.slots {
		// The end of input travels like any watermark: behind the records
		// this worker sent on that queue.
		w.send(ctx, sl, batch{from: w.n.idx, prod: sl.prod, wm: wmMax})
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

// forwardProgress passes on a watermark-only batch's news: the idleness
// of every input, or else the watermark.
func (w *worker) forwardProgress(ctx context.Context, idle bool) {
	if idle {
		w.forwardIdle(ctx)
		return
	}
	w.forwardWatermark(ctx)
}
