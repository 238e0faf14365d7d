// Package watermark tracks event-time progress for conveyor-wasm pipelines.
//
// It has three parts, each usable on its own:
//
//   - [Generator] turns the event times of one source (or one partition of a
//     source) into a watermark, Flink style: the largest event time seen minus
//     a bound for out-of-order arrival. It also applies the policies for
//     records without an event time and for event times too far in the future.
//   - [Tracker] combines the watermarks of many sources into one: the minimum
//     over the active sources (or the maximum), with idle detection, so that
//     a silent source does not hold the pipeline back forever.
//   - [Merger] is the fan-in merge: it interleaves the items of several inputs
//     by event time (or by arrival, or round robin) with bounded buffers,
//     releasing an item only once the combined watermark has passed it and
//     handing late items to a callback.
//
// Event times and watermarks are int64 Unix nanoseconds, like
// record.Record.EventTime. The package does not depend on the engine.
//
// None of the types are safe for concurrent use: the owner (one goroutine, or
// a goroutine holding the owner's lock) calls them. See README.md and
// RATIONALE.md for the semantics.
package watermark

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// Watermark is an event-time instant in Unix nanoseconds. A watermark W
// asserts that no more items with an event time at or before W are expected;
// items that arrive behind it are late.
type Watermark int64

const (
	// Min is the watermark before any progress: nothing is known yet.
	Min Watermark = math.MinInt64
	// Max is the watermark at the end of input: every item has been seen.
	Max Watermark = math.MaxInt64
)

// NoEventTime is the event time of an item that has none. It equals
// record.NoEventTime.
const NoEventTime int64 = math.MinInt64

// FromTime returns the watermark at t.
func FromTime(t time.Time) Watermark { return Watermark(t.UnixNano()) }

// Time returns w as a UTC time. Min and Max map to the zero Time and to the
// largest time representable in Unix nanoseconds respectively.
func (w Watermark) Time() time.Time {
	if w == Min {
		return time.Time{}
	}
	return time.Unix(0, int64(w)).UTC()
}

// String returns "min", "max" or the instant in RFC 3339 with nanoseconds.
func (w Watermark) String() string {
	switch w {
	case Min:
		return "min"
	case Max:
		return "max"
	}
	return w.Time().Format(time.RFC3339Nano)
}

// GoString returns w as Go syntax, for %#v and test failures.
func (w Watermark) GoString() string {
	switch w {
	case Min:
		return "watermark.Min"
	case Max:
		return "watermark.Max"
	}
	return "watermark.Watermark(" + strconv.FormatInt(int64(w), 10) + ")"
}

// sub returns a - d, saturating at Min and Max instead of wrapping around.
func sub(a Watermark, d int64) Watermark {
	if a == Min || a == Max {
		return a
	}
	r := int64(a) - d
	if d > 0 && r > int64(a) {
		return Min
	}
	if d < 0 && r < int64(a) {
		return Max
	}
	return Watermark(r)
}

// Clock tells the current processing time. Idle detection, the future-skew
// guard and processing-time assignment read it; tests inject a [ManualClock].
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ClockFunc adapts a function to [Clock].
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// ManualClock is a [Clock] that moves only when told to: tests and
// pipeline test cases drive idle timeouts, the future-skew guard and
// processing-time assignment with it. It is safe for concurrent use: a
// pipeline's goroutines read it while a test moves it.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
