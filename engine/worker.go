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
	// pend holds records waiting to be sent, one slot per (route, replica).
	pend  [][]*record.Record
	slots []slot
	base  []int // first slot of each route
	idx   []int
	dl    []dlItem
	tx    *txScratch // transform conversion buffers
	// single is set when every record goes to the one replica of the one
	// unconditional route: no per-record routing work at all.
	single bool
}

type slot struct {
	st  *stageRT
	rep int
}

func newWorker(r *Runner, n *node, rep int) *worker {
	w := &worker{r: r, n: n, rep: rep}
	for _, rt := range n.routes {
		st := r.stages[rt.to.idx]
		w.base = append(w.base, len(w.slots))
		for i := range st.inputs {
			w.slots = append(w.slots, slot{st: st, rep: i})
		}
	}
	w.pend = make([][]*record.Record, len(w.slots))
	w.single = len(n.routes) == 1 && n.routes[0].cond == nil && len(w.slots) == 1
	return w
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
	for _, rec := range recs {
		var err error
		w.idx, err = n.route(rec, w.idx[:0])
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
			to := n.routes[ri].to
			s := w.base[ri]
			if reps := len(w.r.stages[to.idx].inputs); reps > 1 {
				rep := to.lb.pick(rc, reps)
				to.lb.add(rep, 1)
				s += rep
			}
			if w.pend[s] == nil {
				w.pend[s] = make([]*record.Record, 0, w.r.p.Settings.BatchSize)
			}
			w.pend[s] = append(w.pend[s], rc)
		}
	}
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

// flush sends every pending batch downstream. It blocks while a target's
// queue is full (backpressure). On a hard stop the unsent records are ended
// as dropped.
func (w *worker) flush(ctx context.Context) {
	for i, recs := range w.pend {
		if len(recs) == 0 {
			continue
		}
		w.pend[i] = nil
		sl := w.slots[i]
		select {
		case sl.st.inputs[sl.rep] <- batch{recs: recs, from: w.n.idx}:
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

// finish flushes and tells every downstream stage this worker is done; the
// last upstream worker to finish closes a stage's queues.
func (w *worker) finish() {
	w.flush(context.Background())
	seen := map[*stageRT]bool{}
	for _, sl := range w.slots {
		if seen[sl.st] {
			continue
		}
		seen[sl.st] = true
		if sl.st.pending.Add(-1) == 0 {
			for _, in := range sl.st.inputs {
				close(in)
			}
		}
	}
}

// end ends one path of rec with outcome o and recycles its parse state.
func end(rec *record.Record, o record.Outcome) {
	rec.Ack.End(o)
	rec.Release()
}
