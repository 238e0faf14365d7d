package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

// Summary counts what happened to the records a run read. Every source
// record ends exactly one way, so In == Delivered + Filtered + Dropped +
// DeadLettered once the run is over (a record copied to several sinks
// counts once, as delivered; if any of its copies was dead-lettered it
// counts as dead-lettered).
type Summary struct {
	In           int64
	Delivered    int64
	Filtered     int64
	Dropped      int64
	DeadLettered int64
	// InFlight is In minus the records that have ended (0 after a run).
	InFlight int64
	// Late counts records found behind the watermark by more than the
	// allowed lateness (at sources and fan-ins), whatever their policy did
	// with them (they are also counted under their outcome).
	Late int64
	// Watermark is the pipeline's combined watermark (zero before any
	// progress or without event time) and Sources each event-time source's.
	Watermark time.Time
	Sources   []SourceProgress
	Elapsed   time.Duration
	Stages    []StageStats
}

// StageStats counts one stage's (or source's) traffic.
type StageStats struct {
	ID   string
	Type string
	In   int64
	Out  int64
}

// Balanced reports whether every record read is accounted for.
func (s Summary) Balanced() bool {
	return s.In == s.Delivered+s.Filtered+s.Dropped+s.DeadLettered
}

// String renders the one-line summary the CLI prints.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "records in %d = out %d + filtered %d + dropped %d + dead-lettered %d",
		s.In, s.Delivered, s.Filtered, s.Dropped, s.DeadLettered)
	if s.InFlight != 0 {
		fmt.Fprintf(&b, " (+%d in flight)", s.InFlight)
	}
	if s.Late > 0 {
		fmt.Fprintf(&b, "; %d late", s.Late)
	}
	secs := s.Elapsed.Seconds()
	if secs > 0 {
		fmt.Fprintf(&b, " in %s (%.0f records/s)", s.Elapsed.Round(time.Millisecond), float64(s.In)/secs)
	}
	return b.String()
}

// Summary returns the counts so far; safe to call while the run goes on
// (for progress and metrics).
func (r *Runner) Summary() Summary {
	s := Summary{
		Delivered:    r.counts.delivered.Load(),
		Filtered:     r.counts.filtered.Load(),
		Dropped:      r.counts.dropped.Load(),
		DeadLettered: r.counts.deadLettered.Load(),
	}
	s.In = r.counts.in.Load()
	s.Late = r.clock.late.Load()
	wm, srcs := r.clock.snapshot(r.sources, time.Now())
	if wm != watermark.Min && wm != watermark.Max {
		s.Watermark = wm.Time()
	}
	s.Sources = srcs
	s.InFlight = s.In - s.Delivered - s.Filtered - s.Dropped - s.DeadLettered
	if st := r.start.Load(); st != 0 {
		s.Elapsed = time.Since(time.Unix(0, st))
	}
	for _, src := range r.sources {
		s.Stages = append(s.Stages, StageStats{ID: src.n.id, Type: "source", Out: src.out.Load()})
	}
	for _, st := range r.stages {
		if st != nil {
			s.Stages = append(s.Stages, StageStats{ID: st.n.id, Type: string(st.n.stage.Type), In: st.in.Load(), Out: st.out.Load()})
		}
	}
	return s
}
