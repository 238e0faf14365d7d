package watermark

import (
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// Strategy is the order in which a [Merger] emits the items of its inputs.
type Strategy uint8

const (
	// EventTime (the seed's MergeStrategy::EventTime) emits items in
	// non-decreasing event-time order, each only once the combined watermark
	// minus the allowed lateness has reached it. Equal event times keep
	// arrival order.
	EventTime Strategy = iota
	// Arrival emits items in the order they were pushed, across inputs.
	Arrival
	// RoundRobin takes one item from each input in turn. An input with
	// nothing buffered is waited for, unless it is idle or closed, in which
	// case it is skipped.
	RoundRobin
)

// String returns the strategy's configuration name.
func (s Strategy) String() string {
	switch s {
	case Arrival:
		return "arrival"
	case RoundRobin:
		return "round_robin"
	}
	return "event_time"
}

// ParseStrategy parses "event_time", "arrival" or "round_robin".
func ParseStrategy(s string) (Strategy, error) {
	switch s {
	case "event_time", "":
		return EventTime, nil
	case "arrival":
		return Arrival, nil
	case "round_robin":
		return RoundRobin, nil
	}
	return 0, fmt.Errorf("watermark: unknown merge strategy %q (want event_time, arrival or round_robin)", s)
}

// ParseCombine parses "min" or "max" (the fan-in's watermark setting).
func ParseCombine(s string) (Combine, error) {
	switch s {
	case "min", "":
		return CombineMin, nil
	case "max":
		return CombineMax, nil
	}
	return 0, fmt.Errorf("watermark: unknown watermark combination %q (want min or max)", s)
}

// InputID is the handle of a [Merger] input, dense from 0 in AddInput order.
type InputID int32

// Status is the result of [Merger.Push].
type Status uint8

const (
	// Buffered: the merger took the item and the input has room for more.
	Buffered Status = iota
	// Full: the merger took the item and the input's buffer is now full.
	// Do not push to this input again until [Merger.Full] reports false
	// (MergerConfig.OnSpace is called when that happens).
	Full
	// Late: the item was behind the combined watermark minus the allowed
	// lateness; the merger passed it to MergerConfig.OnLate.
	Late
	// RejectedDrop: the item has no event time and the input's missing
	// policy is drop. The merger did not take it.
	RejectedDrop
	// RejectedDeadLetter: the item has no event time, or one too far in the
	// future, and the policy is dead_letter. The merger did not take it.
	RejectedDeadLetter
	// Overflow: the input's buffer was already full (the caller ignored
	// Full). The merger did not take the item; push it again later.
	Overflow
)

// String returns the status in lower case.
func (s Status) String() string {
	switch s {
	case Full:
		return "full"
	case Late:
		return "late"
	case RejectedDrop:
		return "rejected_drop"
	case RejectedDeadLetter:
		return "rejected_dead_letter"
	case Overflow:
		return "overflow"
	}
	return "buffered"
}

// Taken reports whether the merger took ownership of the item (buffered it
// or handed it to OnLate).
func (s Status) Taken() bool { return s <= Late }

// DefaultCapacity is the buffer capacity of an input when
// InputConfig.Capacity is 0.
const DefaultCapacity = 1024

// MergerConfig configures a [Merger].
type MergerConfig[T any] struct {
	// Strategy is the merge order. The default is EventTime.
	Strategy Strategy
	// Combine says how input watermarks combine. The default is CombineMin.
	Combine Combine
	// AllowedLateness delays the release of items (EventTime strategy) so
	// that items up to this far behind the combined watermark are still
	// merged in order. Items further behind are late.
	AllowedLateness time.Duration
	// IdleTimeout is how long an input may stay silent before it stops
	// holding the watermark back. 0 disables idle detection.
	IdleTimeout time.Duration
	// AllIdle says what the watermark does when every open input is idle.
	AllIdle AllIdle
	// Clock is the processing-time clock. Nil means the system clock.
	Clock Clock
	// EventTime returns an item's event time in Unix nanoseconds, or
	// NoEventTime. Required for the EventTime strategy; with the others, nil
	// disables generators and lateness (watermarks then come only from
	// Advance).
	EventTime func(T) int64
	// SetEventTime, if set, returns the item with its event time replaced;
	// the merger calls it when a generator assigns or clamps an event time.
	// Without it the merger orders by the adjusted time but the item keeps
	// its own.
	SetEventTime func(T, int64) T
	// OnLate receives every late item (required). The caller applies its
	// lateness policy: drop, dead_letter, allow (forward it, marked) or
	// route. It runs inside Push and must not call back into the Merger.
	OnLate func(in InputID, item T)
	// OnSpace, if set, is called from Drain (after it has finished
	// draining) for each input that was full and has room again. It must
	// not call back into the Merger.
	OnSpace func(in InputID)
}

// InputConfig configures one input of a [Merger].
type InputConfig struct {
	// Capacity bounds the input's buffer. 0 means DefaultCapacity.
	Capacity int
	// Generator derives the input's watermark from the event times pushed
	// (and applies the missing and future policies). The zero value is a
	// monotonic generator that dead-letters items without an event time.
	Generator GeneratorConfig
	// ExplicitWatermarks makes the input's watermark come only from
	// [Merger.Advance]; the generator then only applies its policies.
	ExplicitWatermarks bool
}

// MergerStats counts what a [Merger] did.
type MergerStats struct {
	Pushed   uint64 // items buffered
	Emitted  uint64 // items returned by Drain
	Late     uint64 // items passed to OnLate
	Rejected uint64 // items rejected by a generator policy
	Overflow uint64 // pushes refused because the buffer was full
	// Forced counts watermark advances forced by a full buffer (see
	// RATIONALE.md, "Why does a full buffer advance its input's watermark?").
	Forced uint64
}

// InputStatus describes one input, for metrics and debugging.
type InputStatus struct {
	SourceStatus
	Buffered int
	Capacity int
}

type entry[T any] struct {
	t    int64
	seq  uint64
	item T
}

// before orders entries by (event time, push sequence).
func before[T any](a, b *entry[T]) bool {
	return a.t < b.t || (a.t == b.t && a.seq < b.seq)
}

// mergeInput is one input's buffer. Arrival and RoundRobin keep it as a
// FIFO ring. EventTime splits it in two (see RATIONALE.md, "Why a sorted run
// plus a heap per input?"): the ring holds a run sorted by (t, seq), to which
// an item is appended when it is not behind the run's tail, and heap is a
// binary min-heap by (t, seq) holding the items that arrived behind it. The
// input's oldest item is the smaller of the two minimums.
type mergeInput[T any] struct {
	ring     []entry[T] // power-of-two ring; live entries ring[head : head+rn] mod len
	mask     int
	head     int
	rn       int        // entries in the ring
	heap     []entry[T] // EventTime: out-of-order entries, min-heap by (t, seq)
	n        int        // entries buffered: rn + len(heap)
	capacity int
	gen      *Generator
	explicit bool
	wm       Watermark // the watermark this input last gave the tracker
	callerWM Watermark // the last watermark passed to Advance
	closed   bool
	hpos     int32 // index in Merger.heap, or -1
}

type headKey struct {
	t   int64
	seq uint64
	in  InputID
}

// Merger merges the items of several inputs into one stream: the fan-in
// stage as a library. Items are pushed per input with [Merger.Push] and
// taken out in batches with [Merger.Drain]; the order depends on the
// [Strategy]. Each input has a bounded buffer and a watermark (from its
// [Generator] or from [Merger.Advance]); a [Tracker] combines the inputs'
// watermarks.
//
// Backpressure protocol: Push returns Full when an input's buffer reaches
// its capacity. The caller then stops pushing to that input only (for
// example its goroutine waits on a condition variable) until Full(in) is
// false again; MergerConfig.OnSpace signals that moment from Drain. Other
// inputs continue. An input's buffer being full never stalls the merge for
// good: see RATIONALE.md.
//
// With every strategy, when MergerConfig.EventTime is set, Push runs the
// input's generator and sends items behind Watermark() - AllowedLateness to
// OnLate; only EventTime also holds items back until the watermark passes
// them.
//
// Idle detection needs [Merger.Tick] to be called periodically.
// [Merger.Close] marks the end of an input; once every input is closed,
// Drain returns everything that is left, in order.
//
// A Merger is not safe for concurrent use: the engine calls it under one
// lock (Push from the input goroutines, Drain and Tick from the output one).
type Merger[T any] struct {
	strategy  Strategy
	lateness  int64
	eventTime func(T) int64
	setTime   func(T, int64) T
	onLate    func(InputID, T)
	onSpace   func(InputID)
	clock     Clock

	tr       *Tracker
	inputs   []mergeInput[T]
	byName   map[string]InputID
	heap     []headKey // EventTime: min (t, seq); Arrival: min seq
	seq      uint64
	rr       int
	buffered int
	freed    []InputID
	stats    MergerStats
}

// NewMerger returns a merger for cfg, or an error if cfg is incomplete.
func NewMerger[T any](cfg MergerConfig[T]) (*Merger[T], error) {
	if cfg.OnLate == nil {
		return nil, errors.New("watermark: merger config: OnLate is required (late items must not vanish)")
	}
	if cfg.Strategy == EventTime && cfg.EventTime == nil {
		return nil, errors.New("watermark: merger config: the event_time strategy needs an EventTime accessor")
	}
	if cfg.Strategy > RoundRobin {
		return nil, fmt.Errorf("watermark: merger config: unknown strategy %d", cfg.Strategy)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	return &Merger[T]{
		strategy:  cfg.Strategy,
		lateness:  max(int64(cfg.AllowedLateness), 0),
		eventTime: cfg.EventTime,
		setTime:   cfg.SetEventTime,
		onLate:    cfg.OnLate,
		onSpace:   cfg.OnSpace,
		clock:     clock,
		tr: NewTracker(cfg.AllowedLateness, cfg.IdleTimeout,
			WithClock(clock), WithCombine(cfg.Combine), WithAllIdle(cfg.AllIdle)),
		byName: make(map[string]InputID),
	}, nil
}

// AddInput registers an input and returns its handle. Adding a name twice
// returns the first handle and ignores cfg. A new input holds the watermark
// back (at Min) until it pushes, goes idle or is closed.
func (m *Merger[T]) AddInput(name string, cfg InputConfig) InputID {
	if id, ok := m.byName[name]; ok {
		return id
	}
	c := cfg.Capacity
	if c <= 0 {
		c = DefaultCapacity
	}
	size := 1 << bits.Len(uint(c-1)) // next power of two >= c
	in := mergeInput[T]{
		ring:     make([]entry[T], size),
		mask:     size - 1,
		capacity: c,
		explicit: cfg.ExplicitWatermarks,
		wm:       Min,
		callerWM: Min,
		hpos:     -1,
	}
	if m.eventTime != nil {
		gc := cfg.Generator
		if gc.Clock == nil {
			gc.Clock = m.clock
		}
		in.gen = NewGenerator(gc)
	}
	id := InputID(len(m.inputs))
	m.inputs = append(m.inputs, in)
	m.byName[name] = id
	if tid := m.tr.Source(name); InputID(tid) != id {
		panic("watermark: merger and tracker input handles diverged")
	}
	return id
}

// Input returns the handle of a registered input.
func (m *Merger[T]) Input(name string) (InputID, bool) {
	id, ok := m.byName[name]
	return id, ok
}

// Push offers one item of input in. See [Status] for the outcomes; only
// Buffered, Full and Late take the item. It panics if the input is closed.
func (m *Merger[T]) Push(in InputID, item T) Status {
	inp := &m.inputs[in]
	if inp.closed {
		panic(fmt.Sprintf("watermark: push to closed merger input %d", in))
	}
	if inp.n >= inp.capacity {
		m.stats.Overflow++
		return Overflow
	}
	sid := SourceID(in)
	t := NoEventTime
	if m.eventTime != nil {
		t = m.eventTime(item)
		obs := inp.gen.Observe(t)
		switch obs.Verdict {
		case Drop:
			m.stats.Rejected++
			m.tr.touch(sid)
			return RejectedDrop
		case DeadLetter:
			m.stats.Rejected++
			m.tr.touch(sid)
			return RejectedDeadLetter
		case Assigned, Clamped:
			t = obs.Time
			if m.setTime != nil {
				item = m.setTime(item, t)
			}
		}
		if w := inp.gen.Current(); !inp.explicit && w > inp.wm {
			inp.wm = w
			m.tr.UpdateID(sid, w)
		} else {
			m.tr.touch(sid)
		}
		if m.tr.IsLate(t) {
			m.stats.Late++
			m.onLate(in, item)
			return Late
		}
	} else {
		m.tr.touch(sid)
	}

	m.seq++
	e := entry[T]{t: t, seq: m.seq, item: item}
	wasEmpty := inp.n == 0
	if m.strategy == EventTime {
		// O(1) for an item not behind the sorted run's tail, O(log n)
		// otherwise. e has the newest sequence, so it goes after equal
		// times either way.
		if inp.rn == 0 || inp.ring[(inp.head+inp.rn-1)&inp.mask].t <= t {
			inp.ring[(inp.head+inp.rn)&inp.mask] = e
			inp.rn++
		} else {
			inp.heapPush(e)
		}
		inp.n++
		if wasEmpty {
			m.heapPush(headKey{t: t, seq: e.seq, in: in})
		} else if p := int(inp.hpos); t < m.heap[p].t {
			// e is the input's new oldest item (ties go to the older one).
			m.heap[p].t, m.heap[p].seq = t, e.seq
			m.up(p)
		}
	} else {
		inp.ring[(inp.head+inp.rn)&inp.mask] = e
		inp.rn++
		inp.n++
		if wasEmpty && m.strategy == Arrival {
			m.heapPush(headKey{t: t, seq: e.seq, in: in})
		}
	}
	m.buffered++
	m.stats.Pushed++
	if inp.n < inp.capacity {
		return Buffered
	}
	if m.strategy == EventTime {
		// A full input cannot hold the merge back: its watermark moves up
		// far enough (its oldest buffered item plus the allowed lateness)
		// for that item to be released. The input's entry in the head heap
		// is keyed by that oldest item.
		if h := sub(Watermark(m.heap[inp.hpos].t), -m.lateness); h > inp.wm {
			inp.wm = h
			m.tr.UpdateID(sid, h)
			m.stats.Forced++
		}
	}
	return Full
}

// Advance pushes an explicit watermark for input in (for example one read
// from the source, or a periodic one from a partition consumer). A
// watermark behind the previous one passed to Advance is ignored and
// counted as a regression.
func (m *Merger[T]) Advance(in InputID, wm Watermark) {
	inp := &m.inputs[in]
	sid := SourceID(in)
	if wm < inp.callerWM {
		m.tr.UpdateID(sid, wm) // counted as a regression by the tracker
		return
	}
	inp.callerWM = wm
	if wm > inp.wm {
		inp.wm = wm
		m.tr.UpdateID(sid, wm)
		return
	}
	m.tr.touch(sid)
}

// MarkIdle declares input in idle at once (see [Tracker.MarkIdle]): it
// stops holding the merge back until its next Push or Advance. Items it has
// buffered are still released in order as the watermark passes them.
func (m *Merger[T]) MarkIdle(in InputID) {
	if !m.inputs[in].closed {
		m.tr.MarkIdle(SourceID(in))
	}
}

// Close marks the end of input in: its watermark becomes Max and it no
// longer holds the merge back. Its buffered items are still emitted. Once
// every input is closed, Drain returns all remaining items. Once every input
// still open is idle, a closed input's Max decides the watermark (see
// [Tracker.Finish]): everything buffered is released, and later items of
// the idle inputs are late.
func (m *Merger[T]) Close(in InputID) {
	inp := &m.inputs[in]
	if inp.closed {
		return
	}
	inp.closed = true
	inp.wm = Max
	m.tr.Finish(SourceID(in))
}

// Tick runs idle detection (see [Tracker.Tick]); call it periodically. An
// input whose buffer is full is never idle: it is blocked by the merge, not
// silent.
func (m *Merger[T]) Tick() Watermark {
	for i := range m.inputs {
		if inp := &m.inputs[i]; !inp.closed && inp.n >= inp.capacity {
			m.tr.touch(SourceID(i))
		}
	}
	return m.tr.Tick()
}

// Drain appends every item that can be emitted now to dst and returns it.
func (m *Merger[T]) Drain(dst []T) []T { return m.DrainN(dst, -1) }

// DrainN is Drain limited to n items (n < 0: no limit). The remaining
// releasable items are returned by the next call, still in order.
func (m *Merger[T]) DrainN(dst []T, n int) []T {
	switch m.strategy {
	case EventTime:
		bound := int64(sub(m.tr.Combined(), m.lateness))
		for len(m.heap) > 0 && m.heap[0].t <= bound && n != 0 {
			dst = append(dst, m.popHead())
			n--
		}
	case Arrival:
		for len(m.heap) > 0 && n != 0 {
			dst = append(dst, m.popHead())
			n--
		}
	case RoundRobin:
		dst = m.drainRoundRobin(dst, n)
	}
	if len(m.freed) > 0 {
		if m.onSpace != nil {
			for _, id := range m.freed {
				m.onSpace(id)
			}
		}
		m.freed = m.freed[:0]
	}
	return dst
}

func (m *Merger[T]) drainRoundRobin(dst []T, n int) []T {
	k := len(m.inputs)
	skips := 0
	for skips < k && n != 0 {
		inp := &m.inputs[m.rr]
		if inp.n > 0 {
			dst = append(dst, m.popFront(InputID(m.rr)).item)
			n--
			skips = 0
		} else if inp.closed || m.tr.State(SourceID(m.rr)) == Idle {
			skips++
		} else {
			break // wait for this input
		}
		if m.rr++; m.rr == k {
			m.rr = 0
		}
	}
	return dst
}

// popHead removes and returns the item at the top of the head heap.
func (m *Merger[T]) popHead() T {
	id := m.heap[0].in
	inp := &m.inputs[id]
	var e entry[T]
	if m.strategy != EventTime {
		e = m.popFront(id)
	} else {
		m.taking(id)
		if inp.rn > 0 && (len(inp.heap) == 0 || before(&inp.ring[inp.head], &inp.heap[0])) {
			e = inp.ringPop()
		} else {
			e = inp.heapPop()
		}
	}
	if inp.n > 0 {
		h := inp.oldest()
		m.heap[0].t, m.heap[0].seq = h.t, h.seq
		m.down(0)
	} else {
		m.heapRemoveTop()
	}
	return e.item
}

// popFront removes and returns the first entry of input id's ring.
func (m *Merger[T]) popFront(id InputID) entry[T] {
	m.taking(id)
	return m.inputs[id].ringPop()
}

// taking accounts for one entry about to leave input id's buffer.
func (m *Merger[T]) taking(id InputID) {
	inp := &m.inputs[id]
	if inp.n == inp.capacity {
		m.freed = append(m.freed, id)
	}
	inp.n--
	m.buffered--
	m.stats.Emitted++
}

// oldest returns the input's next entry: the smaller of the ring's first
// and the heap's minimum (the heap is empty unless the strategy is
// EventTime). The input must not be empty.
func (inp *mergeInput[T]) oldest() *entry[T] {
	if len(inp.heap) > 0 && (inp.rn == 0 || before(&inp.heap[0], &inp.ring[inp.head])) {
		return &inp.heap[0]
	}
	return &inp.ring[inp.head]
}

func (inp *mergeInput[T]) ringPop() entry[T] {
	slot := &inp.ring[inp.head]
	e := *slot
	*slot = entry[T]{} // let the item be collected
	inp.head = (inp.head + 1) & inp.mask
	inp.rn--
	return e
}

// heapPush adds e to the input's out-of-order heap.
func (inp *mergeInput[T]) heapPush(e entry[T]) {
	h := append(inp.heap, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(&e, &h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	inp.heap = h
}

// heapPop removes and returns the minimum of the input's out-of-order heap.
// It sifts bottom-up (Floyd): the hole left by the minimum moves down along
// the smaller children to a leaf, and the last entry moves up from there.
// The last entry usually belongs near the bottom, so this takes one
// comparison per level instead of two.
func (inp *mergeInput[T]) heapPop() entry[T] {
	h := inp.heap
	top := h[0]
	last := len(h) - 1
	x := h[last]
	h[last] = entry[T]{} // let the item be collected
	h = h[:last]
	if last > 0 {
		i := 0
		for {
			c := 2*i + 1
			if c >= last {
				break
			}
			if r := c + 1; r < last && before(&h[r], &h[c]) {
				c = r
			}
			h[i] = h[c]
			i = c
		}
		for i > 0 {
			p := (i - 1) / 2
			if !before(&x, &h[p]) {
				break
			}
			h[i] = h[p]
			i = p
		}
		h[i] = x
	}
	inp.heap = h
	return top
}

// Watermark returns the combined watermark of the inputs. With the
// EventTime strategy, items up to Watermark() - AllowedLateness are released.
func (m *Merger[T]) Watermark() Watermark { return m.tr.Combined() }

// Full reports whether input in's buffer is full (stop pushing to it).
func (m *Merger[T]) Full(in InputID) bool {
	inp := &m.inputs[in]
	return inp.n >= inp.capacity
}

// Len returns the number of buffered items over all inputs.
func (m *Merger[T]) Len() int { return m.buffered }

// Done reports whether every input is closed and every item emitted.
func (m *Merger[T]) Done() bool {
	for i := range m.inputs {
		if !m.inputs[i].closed {
			return false
		}
	}
	return m.buffered == 0
}

// Status returns a snapshot of input in.
func (m *Merger[T]) Status(in InputID) InputStatus {
	inp := &m.inputs[in]
	return InputStatus{SourceStatus: m.tr.Status(SourceID(in)), Buffered: inp.n, Capacity: inp.capacity}
}

// Stats returns the merger's counters.
func (m *Merger[T]) Stats() MergerStats { return m.stats }

// Regressions returns how many watermarks were ignored because they moved
// an input backwards.
func (m *Merger[T]) Regressions() uint64 { return m.tr.Regressions() }

// Head heap: a min-heap over the inputs with buffered items, keyed by their
// oldest item: (event time, arrival sequence) for EventTime, arrival
// sequence alone for Arrival.

func (m *Merger[T]) less(a, b *headKey) bool {
	if m.strategy == EventTime && a.t != b.t {
		return a.t < b.t
	}
	return a.seq < b.seq
}

func (m *Merger[T]) heapPush(k headKey) {
	m.heap = append(m.heap, k)
	m.up(len(m.heap) - 1)
}

func (m *Merger[T]) heapRemoveTop() {
	m.inputs[m.heap[0].in].hpos = -1
	last := len(m.heap) - 1
	if last > 0 {
		m.heap[0] = m.heap[last]
		m.inputs[m.heap[0].in].hpos = 0
	}
	m.heap = m.heap[:last]
	if last > 0 {
		m.down(0)
	}
}

func (m *Merger[T]) up(i int) {
	h := m.heap
	k := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !m.less(&k, &h[p]) {
			break
		}
		h[i] = h[p]
		m.inputs[h[i].in].hpos = int32(i)
		i = p
	}
	h[i] = k
	m.inputs[k.in].hpos = int32(i)
}

func (m *Merger[T]) down(i int) {
	h := m.heap
	n := len(h)
	k := h[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && m.less(&h[r], &h[c]) {
			c = r
		}
		if !m.less(&h[c], &k) {
			break
		}
		h[i] = h[c]
		m.inputs[h[i].in].hpos = int32(i)
		i = c
	}
	h[i] = k
	m.inputs[k.in].hpos = int32(i)
}
