package watermark

import (
	"time"
)

// SourceID is the handle of a source registered with a [Tracker]. Handles
// are dense small integers (0, 1, 2, ...) in registration order, so callers
// can index their own slices with them.
type SourceID int32

// Combine says how a [Tracker] combines the watermarks of its sources.
type Combine uint8

const (
	// CombineMin (the default) makes the combined watermark the minimum over
	// the active sources: it advances with the slowest source, so an item is
	// late only if it is behind every active source. The seed's
	// FanInWatermark::Min.
	CombineMin Combine = iota
	// CombineMax makes the combined watermark the maximum over all sources:
	// it advances with the fastest source, and items of slower sources that
	// fall behind it are late. The seed's FanInWatermark::Max.
	CombineMax
)

// String returns "min" or "max".
func (c Combine) String() string {
	if c == CombineMax {
		return "max"
	}
	return "min"
}

// AllIdle says what the combined watermark does when every source that has
// not finished is idle.
type AllIdle uint8

const (
	// AllIdleHold (the default) keeps the combined watermark where it is:
	// silence alone never makes an item late. Progress resumes with the next
	// update of any source.
	AllIdleHold AllIdle = iota
	// AllIdleAdvance advances the combined watermark to the largest watermark
	// among the idle sources, as Flink's StatusWatermarkValve does when its
	// last active channel goes idle. Items buffered behind it are released
	// sooner; an idle source that resumes behind it delivers late items.
	AllIdleAdvance
)

// Option configures a [Tracker].
type Option func(*Tracker)

// WithClock sets the clock used for idle detection. The default is the
// system clock.
func WithClock(c Clock) Option { return func(t *Tracker) { t.clock = c } }

// WithCombine sets how source watermarks combine. The default is CombineMin.
func WithCombine(c Combine) Option { return func(t *Tracker) { t.combine = c } }

// WithAllIdle sets what happens when every unfinished source is idle. The
// default is AllIdleHold.
func WithAllIdle(a AllIdle) Option { return func(t *Tracker) { t.allIdle = a } }

// SourceState is the state of one tracked source.
type SourceState uint8

const (
	// Active sources hold the combined watermark back (under CombineMin).
	Active SourceState = iota
	// Idle sources have not updated for the idle timeout; they do not hold
	// the combined watermark back until they update again.
	Idle
	// Finished sources reached the end of their input; their watermark is Max.
	Finished
)

// String returns "active", "idle" or "finished".
func (s SourceState) String() string {
	switch s {
	case Idle:
		return "idle"
	case Finished:
		return "finished"
	}
	return "active"
}

// SourceStatus describes one source, for metrics and debugging.
type SourceStatus struct {
	Name        string
	Watermark   Watermark
	State       SourceState
	Regressions uint64 // updates ignored because they moved backwards
}

type trackedSource struct {
	name        string
	wm          Watermark
	lastActive  int64 // processing time (Unix ns) of the last tick that saw activity
	regressions uint64
	state       SourceState
	touched     bool // updated since the last Tick
}

// Tracker combines the watermarks of many sources into one event-time
// watermark. It is the seed's WatermarkTracker.
//
// Every registered source starts active at watermark Min. [Tracker.Update]
// advances a source; [Tracker.Combined] is the minimum over the active
// sources (the seed's combined_watermark) and never moves backwards. A
// source that has not updated for the idle timeout becomes idle at the next
// [Tracker.Tick] and stops holding the combined watermark back; it becomes
// active again with its next update, without dragging the combined watermark
// back (its items behind the combined watermark are late). [Tracker.Finish]
// marks the end of a source's input; once every source has finished the
// combined watermark is Max.
//
// Costs: Update is O(log n) in the number of sources (a tournament tree,
// stopping early when the minimum does not change), Combined and IsLate are
// O(1), Tick is O(n) and is meant to be called periodically (say every idle
// timeout / 4), not per item.
//
// A Tracker is not safe for concurrent use.
type Tracker struct {
	lateness int64
	idle     int64
	clock    Clock
	combine  Combine
	allIdle  AllIdle

	srcs   []trackedSource
	byName map[string]SourceID
	// tree is a min tournament tree (segment tree) over the sources: leaf
	// size+id holds source id's watermark while it is active and Max
	// otherwise; node i holds the minimum of nodes 2i and 2i+1, so tree[1]
	// is the minimum over the active sources.
	tree   []Watermark
	size   int // number of leaves, a power of two
	active int // number of active sources

	combined    Watermark
	regressions uint64
	finished    int
}

// NewTracker returns a tracker. An item is late when its event time is
// before Combined() - allowedLateness. A source with no update for
// idleTimeout becomes idle; idleTimeout <= 0 disables idle detection.
func NewTracker(allowedLateness, idleTimeout time.Duration, opts ...Option) *Tracker {
	t := &Tracker{
		lateness: int64(allowedLateness),
		idle:     int64(idleTimeout),
		clock:    SystemClock{},
		byName:   make(map[string]SourceID),
		combined: Min,
	}
	if t.lateness < 0 {
		t.lateness = 0
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// AllowedLateness returns the lateness the tracker was created with.
func (t *Tracker) AllowedLateness() time.Duration { return time.Duration(t.lateness) }

// Source returns the handle of the named source, registering it (active, at
// watermark Min) on first use. Registering a source while the combined
// watermark is past Min does not move it back.
func (t *Tracker) Source(name string) SourceID {
	if id, ok := t.byName[name]; ok {
		return id
	}
	id := SourceID(len(t.srcs))
	t.srcs = append(t.srcs, trackedSource{
		name:       name,
		wm:         Min,
		lastActive: t.clock.Now().UnixNano(),
	})
	t.byName[name] = id
	if len(t.srcs) > t.size {
		t.grow()
	}
	t.active++
	t.setLeaf(id, Min)
	return id
}

// Lookup returns the handle of a registered source.
func (t *Tracker) Lookup(name string) (SourceID, bool) {
	id, ok := t.byName[name]
	return id, ok
}

// Len returns the number of registered sources.
func (t *Tracker) Len() int { return len(t.srcs) }

// Update advances the named source to wm, registering it if needed. It is
// the string convenience over [Tracker.UpdateID]; hot paths register once
// and use the handle. Register every source (with Source) before the first
// update: a source registered later cannot hold back progress already made.
func (t *Tracker) Update(source string, wm Watermark) bool {
	return t.UpdateID(t.Source(source), wm)
}

// UpdateID advances source id to wm and reports whether the update was
// applied. Watermarks are monotonic per source: an update behind the
// source's current watermark is ignored and counted (see
// [Tracker.Regressions]); an equal one only records activity. Any update
// marks the source active again if it was idle. Updates to a finished source
// are ignored. It panics if id was not returned by Source.
func (t *Tracker) UpdateID(id SourceID, wm Watermark) bool {
	s := &t.srcs[id]
	if s.state == Finished {
		return false
	}
	s.touched = true
	if wm < s.wm {
		s.regressions++
		t.regressions++
		if s.state == Idle {
			t.rejoin(id)
		}
		return false
	}
	if s.state == Idle {
		s.wm = wm
		t.rejoin(id)
	} else if wm > s.wm {
		s.wm = wm
		t.setLeaf(id, wm)
	}
	if t.combine == CombineMax {
		if wm > t.combined {
			t.combined = wm
		}
		return true
	}
	if m := t.tree[1]; m > t.combined {
		t.combined = m
	}
	return true
}

// touch records activity of id without changing its watermark.
func (t *Tracker) touch(id SourceID) {
	s := &t.srcs[id]
	if s.state == Finished {
		return
	}
	s.touched = true
	if s.state == Idle {
		t.rejoin(id)
	}
}

func (t *Tracker) rejoin(id SourceID) {
	t.srcs[id].state = Active
	t.active++
	t.setLeaf(id, t.srcs[id].wm)
	// The combined watermark never moves back: a source that rejoins behind
	// it simply does not raise it until it catches up.
	t.recompute()
}

// Finish marks the end of source id's input: its watermark becomes Max and
// it no longer holds the combined watermark back. Once every source has
// finished, Combined returns Max. A finished source still counts at Max:
// when every unfinished source is idle and one has finished, Combined is Max
// too (as in Flink's valve), whatever the AllIdle policy.
func (t *Tracker) Finish(id SourceID) {
	s := &t.srcs[id]
	if s.state == Finished {
		return
	}
	if s.state == Active {
		t.active--
		t.setLeaf(id, Max)
	}
	s.state = Finished
	s.wm = Max
	t.finished++
	t.recompute()
}

// Combined returns the combined watermark: under CombineMin the minimum
// watermark over the active sources, never moving backwards (the seed's
// combined_watermark). It is Min before any progress and Max once every
// source has finished.
func (t *Tracker) Combined() Watermark { return t.combined }

// IsLate reports whether an item with the given event time is late:
// eventTime < Combined() - allowedLateness. Nothing is late while Combined
// is Min; NoEventTime is never late (the generator's policy decides).
func (t *Tracker) IsLate(eventTime int64) bool {
	return eventTime != NoEventTime && Watermark(eventTime) < sub(t.combined, t.lateness)
}

// Tick runs idle detection at the clock's current time and returns the
// combined watermark. An active source becomes idle when no update reached
// it for the idle timeout. Updates only set a flag; Tick turns the flags into
// timestamps, so a source is declared idle between idleTimeout and
// idleTimeout plus two Tick intervals after its last update, never earlier.
// Tick is O(n); call it periodically, not per item.
func (t *Tracker) Tick() Watermark {
	now := t.clock.Now().UnixNano()
	changed := false
	for i := range t.srcs {
		s := &t.srcs[i]
		if s.state == Finished {
			continue
		}
		if s.touched {
			s.touched = false
			s.lastActive = now
			continue
		}
		if s.state == Active && t.idle > 0 && now-s.lastActive >= t.idle {
			s.state = Idle
			t.active--
			t.setLeaf(SourceID(i), Max)
			changed = true
		}
	}
	if changed {
		t.recompute()
	}
	return t.combined
}

// MarkIdle declares source id idle at once, as the idle timeout would
// (an input that knows it has nothing to send: a partition with no data, a
// broker's idle signal): it stops holding the combined watermark back until
// its next update. It does nothing to a finished or already idle source.
func (t *Tracker) MarkIdle(id SourceID) {
	s := &t.srcs[id]
	if s.state != Active {
		return
	}
	s.state = Idle
	s.touched = false
	t.active--
	t.setLeaf(id, Max)
	t.recompute()
}

// recompute raises the combined watermark after the set of active sources
// changed. It never lowers it.
func (t *Tracker) recompute() {
	if len(t.srcs) == 0 {
		return
	}
	if t.finished == len(t.srcs) {
		t.combined = Max
		return
	}
	if t.combine == CombineMax {
		return // the running maximum already covers every update
	}
	if t.active > 0 {
		if m := t.tree[1]; m > t.combined {
			t.combined = m
		}
		return
	}
	// Every unfinished source is idle. A finished source is at Max and
	// still counts, as a finished channel does in Flink's valve: the idle
	// ones no longer hold it back, so the combined watermark is Max and
	// whatever the finished sources left buffered is released. (Without a
	// finished source, the AllIdle policy decides.)
	if t.finished > 0 {
		t.combined = Max
		return
	}
	if t.allIdle == AllIdleAdvance {
		for i := range t.srcs {
			s := &t.srcs[i]
			if s.state == Idle && s.wm > t.combined {
				t.combined = s.wm
			}
		}
	}
}

// Watermark returns the current watermark of source id.
func (t *Tracker) Watermark(id SourceID) Watermark { return t.srcs[id].wm }

// State returns whether source id is active, idle or finished.
func (t *Tracker) State(id SourceID) SourceState { return t.srcs[id].state }

// Status returns a snapshot of source id.
func (t *Tracker) Status(id SourceID) SourceStatus {
	s := &t.srcs[id]
	return SourceStatus{Name: s.name, Watermark: s.wm, State: s.state, Regressions: s.regressions}
}

// Regressions returns how many updates were ignored, over all sources,
// because they moved a source's watermark backwards.
func (t *Tracker) Regressions() uint64 { return t.regressions }

// Ahead returns how far source id's watermark is ahead of the combined
// watermark (0 when it is not ahead, or when either is Min or Max). Sources
// can pause reading while Ahead exceeds a maximum drift, as Flink's watermark
// alignment does, so that a fast source does not fill downstream buffers.
func (t *Tracker) Ahead(id SourceID) time.Duration {
	w := t.srcs[id].wm
	c := t.combined
	if w <= c || w == Max || c == Min {
		return 0
	}
	return time.Duration(int64(w) - int64(c))
}

// setLeaf sets source id's leaf and updates its ancestors, stopping as soon
// as one keeps its value (then all above it do too).
func (t *Tracker) setLeaf(id SourceID, v Watermark) {
	tree := t.tree
	i := t.size + int(id)
	tree[i] = v
	for i > 1 {
		v = min(v, tree[i^1]) // the new value of the parent
		i >>= 1
		if tree[i] == v {
			return
		}
		tree[i] = v
	}
}

// grow doubles the number of leaves and rebuilds the tree.
func (t *Tracker) grow() {
	size := max(16, 2*t.size)
	for size < len(t.srcs) {
		size *= 2
	}
	tree := make([]Watermark, 2*size)
	for i := size; i < 2*size; i++ {
		tree[i] = Max
	}
	for id := range t.srcs[:len(t.srcs)-1] { // the new source is set by the caller
		if t.srcs[id].state == Active {
			tree[size+id] = t.srcs[id].wm
		}
	}
	for i := size - 1; i >= 1; i-- {
		tree[i] = min(tree[2*i], tree[2*i+1])
	}
	t.tree, t.size = tree, size
}
