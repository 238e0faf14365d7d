package record

import "sync/atomic"

// Outcome is how one path of a record through the pipeline ended.
type Outcome uint32

// Outcomes, in increasing order of precedence when a source record's
// descendants end differently (one delivered, one dead-lettered: the source
// record counts as dead-lettered).
const (
	Dropped      Outcome = 1 << iota // deliberately dropped (unmatched route policy, plugin drop, late policy)
	Filtered                         // rejected by a filter stage
	Delivered                        // written by a sink, and flushed
	DeadLettered                     // written to the dead-letter sink, and flushed
	// Unprocessed: the run stopped before this path was handled (a hard
	// stop after the drain timeout), or neither its sink nor the
	// dead-letter sink could write it. The source record is not
	// acknowledged: a checkpointing source reads it again.
	Unprocessed
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Dropped:
		return "dropped"
	case Filtered:
		return "filtered"
	case Delivered:
		return "delivered"
	case DeadLettered:
		return "dead_lettered"
	case Unprocessed:
		return "unprocessed"
	}
	return "unknown"
}

// Final reduces a set of outcome bits to the one with highest precedence.
func (o Outcome) Final() Outcome {
	for _, x := range []Outcome{Unprocessed, DeadLettered, Delivered, Filtered, Dropped} {
		if o&x != 0 {
			return x
		}
	}
	return 0
}

// AckGroup receives the final outcome of every source record of one source.
// Done is called exactly once per Ack, from whichever goroutine ended the
// last path; it must be safe for concurrent use.
type AckGroup interface {
	Done(a *Ack, final Outcome)
}

// Ack follows one source record and everything derived from it (fan-out
// copies, split outputs) until every path has ended. It is the basis of
// end-to-end acknowledgement: a source learns through its AckGroup when a
// record it read is fully handled, and how.
type Ack struct {
	pending atomic.Int32
	seen    atomic.Uint32
	group   AckGroup
	// up is the source's own group, told after group (see Attach).
	up AckGroup
	// Seq is the source's sequence number for the record (a line number, an
	// offset), for sources that checkpoint.
	Seq int64
}

// Init prepares a for a new source record with one path.
func (a *Ack) Init(g AckGroup, seq int64) {
	a.pending.Store(1)
	a.seen.Store(0)
	a.group = g
	a.up = nil
	a.Seq = seq
}

// Attach starts a for a record entering the pipeline: it gets one path,
// and when that path (and every fork of it) has ended, g is told the final
// outcome first and then the group the source set with Init, if any. This
// is how the engine counts outcomes while a source (a file with
// checkpoints, a Kafka partition) learns about its own records.
func (a *Ack) Attach(g AckGroup) {
	a.pending.Store(1)
	a.seen.Store(0)
	if a.group != g {
		a.up = a.group
	}
	a.group = g
}

// Fork adds n paths (a record copied to n more branches, or split into n+1).
func (a *Ack) Fork(n int) {
	if a != nil && n > 0 {
		a.pending.Add(int32(n))
	}
}

// End ends one path with outcome o. When the last path ends, the group is
// told the final outcome.
func (a *Ack) End(o Outcome) {
	if a == nil {
		return
	}
	for {
		old := a.seen.Load()
		if old&uint32(o) != 0 || a.seen.CompareAndSwap(old, old|uint32(o)) {
			break
		}
	}
	if a.pending.Add(-1) == 0 {
		final := Outcome(a.seen.Load()).Final()
		if a.group != nil {
			a.group.Done(a, final)
		}
		if a.up != nil {
			a.up.Done(a, final)
		}
	}
}

// Pending reports how many paths are still open.
func (a *Ack) Pending() int { return int(a.pending.Load()) }
