package connectors

import (
	"math/rand/v2"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// trackLines registers lines first..last (line l starts at byte 10*l) and
// moves the frontier past last; it returns an Ack per line, by line.
func trackLines(t *prefixTracker, first, last int64) map[int64]*record.Ack {
	acks := map[int64]*record.Ack{}
	var pend []pendingLine
	for l := first; l <= last; l++ {
		a := new(record.Ack)
		a.Init(t, l)
		acks[l] = a
		pend = append(pend, pendingLine{line: l, start: 10 * l})
	}
	t.register(pend, filePos{off: 10 * (last + 1), line: last})
	return acks
}

func wantPos(t *testing.T, tr *prefixTracker, off, line int64) {
	t.Helper()
	if got := tr.position(); got != (filePos{off, line}) {
		t.Fatalf("position = %+v, want {off:%d line:%d}", got, off, line)
	}
}

func TestPrefixTracker_Done_OutOfOrder(t *testing.T) {
	tr := newPrefixTracker(filePos{off: 10, line: 0})
	acks := trackLines(tr, 1, 5)
	wantPos(t, tr, 10, 0)
	acks[3].End(record.Delivered)
	acks[2].End(record.Filtered)
	wantPos(t, tr, 10, 0) // line 1 still pending
	acks[1].End(record.DeadLettered)
	wantPos(t, tr, 40, 3) // 1-3 done: resume at line 4
	acks[5].End(record.Dropped)
	wantPos(t, tr, 40, 3)
	acks[4].End(record.Delivered)
	wantPos(t, tr, 60, 5) // everything: the frontier
}

func TestPrefixTracker_Done_UnprocessedStopsPrefix(t *testing.T) {
	tr := newPrefixTracker(filePos{})
	acks := trackLines(tr, 1, 6)
	acks[3].End(record.Unprocessed)
	for _, l := range []int64{1, 2, 4, 5, 6} {
		acks[l].End(record.Delivered)
	}
	wantPos(t, tr, 30, 2)
	// Later lines never move it either.
	more := trackLines(tr, 7, 9)
	for _, a := range more {
		a.End(record.Delivered)
	}
	wantPos(t, tr, 30, 2)
}

// An outcome reaches the tracker after the engine's group, through Attach.
func TestPrefixTracker_Done_AfterEngineGroup(t *testing.T) {
	tr := newPrefixTracker(filePos{})
	acks := trackLines(tr, 1, 1)
	var engine countingGroup
	acks[1].Attach(&engine)
	acks[1].Fork(1)
	acks[1].End(record.Delivered)
	wantPos(t, tr, 10, 0) // one path still open
	acks[1].End(record.DeadLettered)
	if engine.n != 1 {
		t.Fatalf("engine group told %d times", engine.n)
	}
	wantPos(t, tr, 20, 1)
}

type countingGroup struct{ n int }

func (g *countingGroup) Done(*record.Ack, record.Outcome) { g.n++ }

// Lines not registered (blank lines) up to the frontier count as
// acknowledged; a line registered past the frontier (a reject sent before
// the batch in front of it) does not let the prefix pass the frontier.
func TestPrefixTracker_Register_Frontier(t *testing.T) {
	tr := newPrefixTracker(filePos{})
	a2, a5 := new(record.Ack), new(record.Ack)
	a2.Init(tr, 2)
	a5.Init(tr, 5)
	tr.register([]pendingLine{{line: 5, start: 50}}, filePos{}) // the reject: frontier not moved
	a5.End(record.DeadLettered)
	wantPos(t, tr, 0, 0)
	tr.register([]pendingLine{{line: 2, start: 20}}, filePos{off: 40, line: 3}) // lines 1, 3 blank
	wantPos(t, tr, 20, 1)
	a2.End(record.Delivered)
	wantPos(t, tr, 40, 3)
	tr.register(nil, filePos{off: 70, line: 6}) // 4 and 6 blank, 5 done
	wantPos(t, tr, 70, 6)
}

// Random completion orders over a ring that must grow, against a model.
func TestPrefixTracker_Done_RandomOrder(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 1))
		tr := newPrefixTracker(filePos{})
		const n = 5000
		done := make([]bool, n+2)
		var acks []*record.Ack
		var next int64 = 1
		for next <= n || len(acks) > 0 {
			if next <= n && (len(acks) == 0 || rng.IntN(3) > 0) {
				// Register a batch of up to 50 lines, some blank.
				last := min(next+int64(rng.IntN(50)), n)
				var pend []pendingLine
				for l := next; l <= last; l++ {
					if rng.IntN(5) == 0 {
						done[l] = true // blank
						continue
					}
					a := new(record.Ack)
					a.Init(tr, l)
					acks = append(acks, a)
					pend = append(pend, pendingLine{line: l, start: 10 * l})
				}
				tr.register(pend, filePos{off: 10 * (last + 1), line: last})
				next = last + 1
			} else {
				i := rng.IntN(len(acks))
				a := acks[i]
				acks[i] = acks[len(acks)-1]
				acks = acks[:len(acks)-1]
				done[a.Seq] = true
				a.End(record.Delivered)
			}
			want := int64(1)
			for want < next && done[want] {
				want++
			}
			if got := tr.position(); got != (filePos{off: 10 * want, line: want - 1}) {
				t.Fatalf("seed %d: position %+v, want line %d", seed, got, want-1)
			}
		}
	}
}
