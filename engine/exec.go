package engine

import (
	"context"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// One executor runs every stage (but a merge, which consumes its inputs
// itself): it takes batches from the stage's queue, processes them and
// routes the outputs, and dispatches the results downstream strictly in
// input order, watermarks included. A stateless stage runs up to
// st.parallel batches at once, each on its own goroutine, with the routing
// (edge conditions, fan-out choices) done there too; a stage that keeps
// state runs one batch at a time.

// job is one batch on its way through a parallel executor.
type job struct {
	idle  bool // a watermark-only batch that left every input idle
	recs  []*record.Record
	out   []*record.Record
	masks []uint64
	bc    batchCtx
	done  chan struct{}
}

// run executes queue rep of the stage, emitting through w.
func (st *stageRT) run(ctx context.Context, w *worker, rep int) {
	if st.parallel > 1 {
		st.runParallel(ctx, w, rep)
		return
	}
	in := st.inputs[rep]
	idle, _ := st.proc.(idler)
	bc := batchCtx{r: st.r, stage: st.n.id, rep: rep}
	var out []*record.Record
	var masks []uint64
	for b := range in {
		st.received(b, rep)
		w.wm = st.inputWM(rep)
		if len(b.recs) > 0 {
			bc.wm, bc.dl = w.wm, bc.dl[:0]
			out, masks = st.step(ctx, &bc, b.recs, out[:0], masks[:0])
			st.emit(ctx, w, rep, &bc, len(b.recs), out, masks)
		} else { // a watermark-only batch: pass the progress (or the idleness) on
			w.forwardProgress(ctx, b.idle && st.allIdle(rep))
		}
		if idle != nil && len(in) == 0 {
			st.idle(ctx, w, idle)
		}
		st.r.inflight.Add(-1)
		if ctx.Err() != nil {
			st.r.dropQueue(in)
			break
		}
	}
	if idle != nil {
		st.idle(ctx, w, idle)
	}
}

// idle tells an idler its queue ran dry (or ended) and sends on what it
// dead-lettered.
func (st *stageRT) idle(ctx context.Context, w *worker, idle idler) {
	bc := batchCtx{r: st.r, stage: st.n.id, wm: w.wm}
	idle.idle(ctx, &bc)
	if len(bc.dl) > 0 {
		st.emit(ctx, w, -1, &bc, 0, nil, nil)
	}
}

// step processes one batch and routes its outputs. It touches no worker
// state, so several steps of a stateless stage can run at once.
func (st *stageRT) step(ctx context.Context, bc *batchCtx, in, out []*record.Record, masks []uint64) ([]*record.Record, []uint64) {
	start := time.Now()
	st.busy.Add(1)
	st.in.Add(int64(len(in)))
	nin := len(in)
	out = st.proc.process(ctx, bc, in, out)
	if n := st.n; len(out) > 0 && !n.trivialRoute() && len(n.routes) > 0 && len(n.routes) <= maxMaskRoutes {
		out, masks = routeBatch(n, st.fanLB, out, bc, masks)
	} else {
		masks = nil
	}
	st.busy.Add(-1)
	st.r.obs.StageBatch(st.n.id, nin, len(out), time.Since(start))
	return out, masks
}

// emit dispatches a processed batch: its dead letters, then its outputs.
func (st *stageRT) emit(ctx context.Context, w *worker, rep int, bc *batchCtx, nin int, out []*record.Record, masks []uint64) {
	w.wm = bc.wm
	for _, it := range bc.dl {
		if it.kind == "" {
			it.kind = string(st.n.stage.Type)
		}
		w.dl = append(w.dl, it)
	}
	if st.lb != nil && rep >= 0 {
		st.lb.add(rep, -int64(nin))
	}
	st.out.Add(int64(len(out)))
	w.dispatch(ctx, out, masks)
	w.flush(ctx)
	w.forwardWatermark(ctx)
}

// runParallel runs queue rep with up to st.parallel batches in flight and
// dispatches their results in input order. A batch that is done waits
// only for the batches before it; watermark-only batches keep their place
// in line.
func (st *stageRT) runParallel(ctx context.Context, w *worker, rep int) {
	in := st.inputs[rep]
	idle, _ := st.proc.(idler)
	var queue []*job
	free := make(chan *job, st.parallel+1)
	for range st.parallel + 1 {
		free <- &job{}
	}
	next := func() {
		j := queue[0]
		queue = queue[1:]
		<-j.done
		if len(j.recs) > 0 {
			st.emit(ctx, w, rep, &j.bc, len(j.recs), j.out, j.masks)
		} else {
			w.wm = j.bc.wm
			w.forwardProgress(ctx, j.idle)
		}
		j.recs, j.out = nil, j.out[:0]
		free <- j
		st.r.inflight.Add(-1)
	}
	ready := func() bool {
		select {
		case <-queue[0].done:
			return true
		default:
			return false
		}
	}
	// Wait for the next input batch or for the oldest batch in flight to
	// finish, whichever comes first: a finished batch goes downstream at
	// once, not when the next input arrives (a quiet stream's last batches
	// would otherwise wait for more input).
	for open := true; open && ctx.Err() == nil; {
		var headDone <-chan struct{}
		if len(queue) > 0 {
			headDone = queue[0].done
		}
		var b batch
		select {
		case <-headDone:
			for len(queue) > 0 && ready() {
				next()
			}
			continue
		case b, open = <-in:
			if !open {
				continue
			}
		}
		st.received(b, rep)
		for len(queue) > 0 && (len(queue) >= st.parallel || ready()) {
			next()
		}
		j := <-free
		j.recs, j.done = b.recs, make(chan struct{})
		j.idle = len(b.recs) == 0 && b.idle && st.allIdle(rep)
		j.bc = batchCtx{r: st.r, stage: st.n.id, rep: rep, wm: st.inputWM(rep), dl: j.bc.dl[:0]}
		if len(b.recs) == 0 {
			close(j.done)
		} else {
			go func() {
				defer close(j.done)
				j.out, j.masks = st.step(ctx, &j.bc, j.recs, j.out[:0], j.masks[:0])
			}()
		}
		queue = append(queue, j)
		for len(queue) > 0 && ready() {
			next()
		}
		if idle != nil && len(in) == 0 && len(queue) == 0 {
			st.idle(ctx, w, idle)
		}
	}
	for len(queue) > 0 {
		next()
	}
	if ctx.Err() != nil {
		st.r.dropQueue(in)
	}
	if idle != nil {
		st.idle(ctx, w, idle)
	}
}
