package connectors

import (
	"sync"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// filePos is a resume position in a file: reading starts at byte off, and
// the next line read is line+1 (line lines precede off).
type filePos struct {
	off, line int64
}

// prefixTracker is the record.AckGroup of one file's records: it computes
// the longest acknowledged prefix of the file, the position a rerun may
// resume from without losing a record.
//
// Lines complete out of order. The tracker keeps a ring, indexed by line
// number, of the lines handed on and not yet acknowledged (records and
// rejects; blank lines are never pending), from base, the first line not
// known to be acknowledged, up to the highest line registered. The source
// registers a batch's lines and then moves the frontier (every line up to
// it has been registered, so a line there that is not pending is
// acknowledged) before it emits the batch: the prefix never passes a line
// the source has not registered yet. A line whose outcome is
// record.Unprocessed stays pending for good: the prefix stops before it
// for the rest of the run.
//
// The emitting side (register, advanceTo) runs on the source's goroutine;
// Done runs on any goroutine; position on the committer's. One mutex
// serves them all: the source takes it once per batch.
type prefixTracker struct {
	mu      sync.Mutex
	ring    []trackSlot // len is a power of two
	base    int64       // lines < base are acknowledged
	maxLine int64       // highest line registered
	front   filePos     // lines <= front.line are registered
	stuck   int64       // the first line that ended Unprocessed; 0: none
	acked   int64       // acknowledged lines, for checkpoint_records
	// onAcked, if set, is called (outside the lock) with the count of
	// acknowledged lines after each acknowledgement.
	onAcked func(n int64)
}

// trackSlot is one line in the ring.
type trackSlot struct {
	start   int64 // byte offset of the line's start
	pending bool
}

// pendingLine is a line to register: its number and start offset.
type pendingLine struct {
	line, start int64
}

func newPrefixTracker(from filePos) *prefixTracker {
	return &prefixTracker{
		ring:    make([]trackSlot, 1024),
		base:    from.line + 1,
		maxLine: from.line,
		front:   from,
	}
}

var _ record.AckGroup = (*prefixTracker)(nil)

// register marks lines pending, then moves the frontier to front (if it is
// ahead). Call it before the records are handed on.
func (t *prefixTracker) register(lines []pendingLine, front filePos) {
	t.mu.Lock()
	for _, p := range lines {
		t.add(p)
	}
	if front.line > t.front.line {
		t.front = front
		t.advance()
	}
	t.mu.Unlock()
}

// add marks one line pending. Lines after a stuck one are not kept: the
// prefix can never reach them.
func (t *prefixTracker) add(p pendingLine) {
	if t.stuck != 0 && p.line > t.stuck {
		return
	}
	for p.line-t.base >= int64(len(t.ring)) {
		t.grow()
	}
	t.ring[p.line&int64(len(t.ring)-1)] = trackSlot{start: p.start, pending: true}
	t.maxLine = max(t.maxLine, p.line)
}

// grow doubles the ring, keeping every line from base to maxLine at its
// index in the new ring.
func (t *prefixTracker) grow() {
	old, om := t.ring, int64(len(t.ring)-1)
	t.ring = make([]trackSlot, 2*len(old))
	nm := int64(len(t.ring) - 1)
	for l := t.base; l <= t.maxLine; l++ {
		t.ring[l&nm] = old[l&om]
	}
}

// advance moves base past acknowledged lines, up to the frontier.
func (t *prefixTracker) advance() {
	m := int64(len(t.ring) - 1)
	for t.base <= t.front.line && !t.ring[t.base&m].pending {
		t.base++
	}
}

// Done records a line's final outcome; any outcome but Unprocessed
// acknowledges it.
func (t *prefixTracker) Done(a *record.Ack, final record.Outcome) {
	line := a.Seq
	t.mu.Lock()
	if t.stuck != 0 && line > t.stuck {
		// Past the line the prefix stops at: not kept (see add).
		t.mu.Unlock()
		return
	}
	if final == record.Unprocessed {
		t.stuck = line
		t.mu.Unlock()
		return
	}
	t.ring[line&int64(len(t.ring)-1)].pending = false
	if line == t.base {
		t.advance()
	}
	t.acked++
	n, f := t.acked, t.onAcked
	t.mu.Unlock()
	if f != nil {
		f(n)
	}
}

// position returns the end of the longest acknowledged prefix: the start
// of the first line still pending, or the frontier when none is.
func (t *prefixTracker) position() filePos {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.base <= t.front.line {
		return filePos{off: t.ring[t.base&int64(len(t.ring)-1)].start, line: t.base - 1}
	}
	return t.front
}
