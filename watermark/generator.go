package watermark

import (
	"fmt"
	"time"
)

// MissingPolicy says what a [Generator] does with an item that has no event
// time.
type MissingPolicy uint8

const (
	// MissingDeadLetter (the default) rejects the item with verdict
	// DeadLetter: the caller sends it to the dead-letter output with a
	// reason. Nothing vanishes silently by default.
	MissingDeadLetter MissingPolicy = iota
	// MissingDrop rejects the item with verdict Drop: the caller drops (and
	// acknowledges) it.
	MissingDrop
	// MissingProcessingTime assigns the current processing time as the
	// event time (verdict Assigned).
	MissingProcessingTime
)

// String returns the policy's configuration name.
func (p MissingPolicy) String() string {
	switch p {
	case MissingDrop:
		return "drop"
	case MissingProcessingTime:
		return "processing_time"
	}
	return "dead_letter"
}

// ParseMissingPolicy parses "dead_letter", "drop" or "processing_time".
func ParseMissingPolicy(s string) (MissingPolicy, error) {
	switch s {
	case "dead_letter", "":
		return MissingDeadLetter, nil
	case "drop":
		return MissingDrop, nil
	case "processing_time":
		return MissingProcessingTime, nil
	}
	return 0, fmt.Errorf("watermark: unknown missing event time policy %q (want dead_letter, drop or processing_time)", s)
}

// FuturePolicy says what a [Generator] does with an event time more than
// MaxFuture ahead of the processing-time clock.
type FuturePolicy uint8

const (
	// FutureClamp (the default) replaces the event time with now + MaxFuture
	// (verdict Clamped), so one bad clock cannot push the watermark far into
	// the future and make every other item late.
	FutureClamp FuturePolicy = iota
	// FutureDeadLetter rejects the item with verdict DeadLetter.
	FutureDeadLetter
)

// String returns the policy's configuration name.
func (p FuturePolicy) String() string {
	if p == FutureDeadLetter {
		return "dead_letter"
	}
	return "clamp"
}

// ParseFuturePolicy parses "clamp" or "dead_letter".
func ParseFuturePolicy(s string) (FuturePolicy, error) {
	switch s {
	case "clamp", "":
		return FutureClamp, nil
	case "dead_letter":
		return FutureDeadLetter, nil
	}
	return 0, fmt.Errorf("watermark: unknown future event time policy %q (want clamp or dead_letter)", s)
}

// Verdict is what a [Generator] decided about one observed event time.
type Verdict uint8

const (
	// Accepted: the event time was used as is.
	Accepted Verdict = iota
	// Assigned: the item had no event time; the processing time was assigned.
	Assigned
	// Clamped: the event time was too far in the future and was clamped.
	Clamped
	// Drop: the item has no event time and the policy is drop.
	Drop
	// DeadLetter: the item has no event time, or one too far in the future,
	// and the policy is dead_letter.
	DeadLetter
)

// String returns the verdict in lower case.
func (v Verdict) String() string {
	switch v {
	case Assigned:
		return "assigned"
	case Clamped:
		return "clamped"
	case Drop:
		return "drop"
	case DeadLetter:
		return "dead_letter"
	}
	return "accepted"
}

// Rejected reports whether the item must not continue (Drop or DeadLetter).
func (v Verdict) Rejected() bool { return v >= Drop }

// GeneratorConfig configures a [Generator]. The zero value is a monotonic
// generator (no disorder allowed) that dead-letters items without an event
// time and has no future-skew guard.
type GeneratorConfig struct {
	// MaxOutOfOrderness is how far behind the largest event time seen an
	// item may arrive without being late. The watermark is the largest event
	// time seen minus MaxOutOfOrderness minus 1ns, as in Flink's
	// forBoundedOutOfOrderness.
	MaxOutOfOrderness time.Duration
	// Missing is the policy for items without an event time.
	Missing MissingPolicy
	// MaxFuture, when positive, is how far ahead of the processing-time
	// clock an event time may be. Later ones are handled per Future.
	MaxFuture time.Duration
	// Future is the policy for event times beyond MaxFuture.
	Future FuturePolicy
	// Clock is the processing-time clock (MaxFuture and
	// MissingProcessingTime). Nil means the system clock.
	Clock Clock
}

// BoundedOutOfOrderness returns a configuration for sources whose items
// arrive at most maxOutOfOrderness behind the largest event time seen.
func BoundedOutOfOrderness(maxOutOfOrderness time.Duration) GeneratorConfig {
	return GeneratorConfig{MaxOutOfOrderness: maxOutOfOrderness}
}

// Monotonic returns a configuration for sources whose event times never
// decrease (a bound of 0).
func Monotonic() GeneratorConfig { return GeneratorConfig{} }

// Observation is the result of [Generator.Observe].
type Observation struct {
	// Time is the event time to use: the input, the assigned processing
	// time, or the clamped time. NoEventTime when the verdict rejects it.
	Time int64
	// Verdict says what was done.
	Verdict Verdict
}

// Generator derives the watermark of one source or partition from the event
// times it observes. Run one generator per partition and feed each as its
// own [Tracker] source. A Generator is not safe for concurrent use.
type Generator struct {
	bound     int64
	maxFuture int64
	missing   MissingPolicy
	future    FuturePolicy
	clock     Clock
	maxSeen   int64
	seen      bool
	// floor is the watermark set by Advance: the source said no earlier
	// item follows, though it has shown none that late.
	floor Watermark
}

// NewGenerator returns a generator for cfg. Negative durations count as 0.
func NewGenerator(cfg GeneratorConfig) *Generator {
	g := &Generator{
		bound:     max(int64(cfg.MaxOutOfOrderness), 0),
		maxFuture: max(int64(cfg.MaxFuture), 0),
		missing:   cfg.Missing,
		future:    cfg.Future,
		clock:     cfg.Clock,
		floor:     Min,
	}
	if g.clock == nil {
		g.clock = SystemClock{}
	}
	return g
}

// Observe looks at one item's event time (NoEventTime when it has none),
// applies the missing and future policies, advances the watermark with the
// resulting time, and returns it with the verdict. Rejected items do not
// move the watermark.
func (g *Generator) Observe(eventTime int64) Observation {
	v := Accepted
	if eventTime == NoEventTime {
		switch g.missing {
		case MissingDrop:
			return Observation{Time: NoEventTime, Verdict: Drop}
		case MissingProcessingTime:
			eventTime = g.clock.Now().UnixNano()
			v = Assigned
		default:
			return Observation{Time: NoEventTime, Verdict: DeadLetter}
		}
	} else if g.maxFuture > 0 {
		now := g.clock.Now().UnixNano()
		limit := now + g.maxFuture
		if limit < now {
			limit = int64(Max) // overflow: no limit
		}
		if eventTime > limit {
			if g.future == FutureDeadLetter {
				return Observation{Time: NoEventTime, Verdict: DeadLetter}
			}
			eventTime = limit
			v = Clamped
		}
	}
	if !g.seen || eventTime > g.maxSeen {
		g.maxSeen = eventTime
		g.seen = true
	}
	return Observation{Time: eventTime, Verdict: v}
}

// Current returns the watermark: the largest event time seen minus the
// bound minus 1ns, or Min before the first accepted item; or, if higher,
// the watermark last given to Advance.
func (g *Generator) Current() Watermark {
	w := g.floor
	if g.seen {
		w = max(w, sub(sub(Watermark(g.maxSeen), g.bound), 1))
	}
	return w
}

// Advance raises the watermark to at least wm without an item: the input
// told that nothing earlier follows (a heartbeat, an idle partition's
// high-water mark). Later items still move it as usual; it never goes
// back.
func (g *Generator) Advance(wm Watermark) {
	g.floor = max(g.floor, wm)
}

// MaxSeen returns the largest accepted event time, or NoEventTime.
func (g *Generator) MaxSeen() int64 {
	if !g.seen {
		return NoEventTime
	}
	return g.maxSeen
}
