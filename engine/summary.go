package engine

import (
	"fmt"
	"maps"
	"slices"
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
	// Unprocessed counts records the run did not handle: caught in a queue
	// by a hard stop, or written neither by their sink nor by the
	// dead-letter sink. They are not acknowledged to their source.
	Unprocessed int64
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
	// Edges counts the records that crossed each edge (a record copied to
	// two targets crosses two edges), in plan order.
	Edges []EdgeStats
	// Sinks counts, per sink service, the records it wrote (flushed), and
	// DeadLetters what the dead-letter sink wrote (Written) and could not
	// write (Lost).
	Sinks       []SinkStats
	DeadLetters SinkStats
	// Plugins are the Wasm plugins' own statistics, by service name: the
	// guests' counters (metric_add_v1), faults by kind, log lines the rate
	// limit suppressed, lookups.
	Plugins []PluginStats
	// Skipped counts input the sources skipped without making records of
	// it (blank lines); it is not part of In.
	Skipped int64
	// Stopped reports that the run was stopped (context cancelled, Drain)
	// before its sources were exhausted.
	Stopped bool
}

// StageStats counts one stage's (or source's) traffic.
type StageStats struct {
	ID   string
	Type string
	In   int64
	Out  int64
	// QueueDepth is the number of batches waiting in the stage's queues,
	// and Busy the number of batches being processed, when the summary was
	// taken; Parallelism is how many batches each queue may run at once.
	QueueDepth  int
	Busy        int
	Parallelism int
}

// EdgeStats counts the records that went from one node to another.
type EdgeStats struct {
	From, To string
	Late     bool // the late-records side output
	Records  int64
}

// PluginStats is what one Wasm plugin did in a run.
type PluginStats struct {
	Name    string
	Batches uint64
	// Metrics are the guest's counters (metric_add_v1), by name.
	Metrics map[string]int64
	// Faults counts failed guest calls by kind (trap, timeout, memory,
	// stack, invalid output), including those a retry recovered.
	Faults             map[string]uint64
	LogLinesSuppressed uint64
	Lookups            uint64
	LookupKeys         uint64
	LookupHits         uint64
}

// SinkStats counts what one sink service wrote.
type SinkStats struct {
	Name    string
	Written int64
	Lost    int64 // dead letters the dead-letter sink could not write
	Errors  int64
}

// Balanced reports whether every record read is accounted for.
func (s Summary) Balanced() bool {
	return s.In == s.Delivered+s.Filtered+s.Dropped+s.DeadLettered+s.Unprocessed
}

// String renders the one-line summary the CLI prints.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "records in %d = out %d + filtered %d + dropped %d + dead-lettered %d",
		s.In, s.Delivered, s.Filtered, s.Dropped, s.DeadLettered)
	if s.Unprocessed != 0 {
		fmt.Fprintf(&b, " + unprocessed %d", s.Unprocessed)
	}
	if s.InFlight != 0 {
		fmt.Fprintf(&b, " (+%d in flight)", s.InFlight)
	}
	if s.Late > 0 {
		fmt.Fprintf(&b, "; %d late", s.Late)
	}
	if s.Skipped > 0 {
		fmt.Fprintf(&b, "; %d blank lines skipped", s.Skipped)
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
		Unprocessed:  r.counts.unprocessed.Load(),
	}
	s.In = r.counts.in.Load()
	s.Late = r.clock.late.Load()
	wm, srcs := r.clock.snapshot(r.sources, r.now())
	if wm != watermark.Min && wm != watermark.Max {
		s.Watermark = wm.Time()
	}
	s.Sources = srcs
	s.InFlight = s.In - s.Delivered - s.Filtered - s.Dropped - s.DeadLettered - s.Unprocessed
	if st := r.start.Load(); st != 0 {
		s.Elapsed = time.Since(time.Unix(0, st))
	}
	for _, src := range r.sources {
		s.Stages = append(s.Stages, StageStats{ID: src.n.id, Type: "source", Out: src.out.Load()})
	}
	for _, st := range r.stages {
		if st == nil {
			continue
		}
		q := 0
		for _, ch := range st.inputs {
			q += len(ch)
		}
		s.Stages = append(s.Stages, StageStats{ID: st.n.id, Type: string(st.n.stage.Type), In: st.in.Load(), Out: st.out.Load(),
			QueueDepth: q, Busy: int(st.busy.Load()), Parallelism: st.parallel})
	}
	for _, n := range r.pl.nodes {
		for k, rt := range n.routes {
			s.Edges = append(s.Edges, EdgeStats{From: n.id, To: rt.to.id, Late: rt.late, Records: r.edges[n.idx][k].Load()})
		}
	}
	names := make([]string, 0, len(r.sinks))
	for name := range r.sinks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sk := r.sinks[name]
		s.Sinks = append(s.Sinks, SinkStats{Name: name, Written: sk.written.Load(), Errors: sk.errors.Load()})
	}
	if d := r.dl; d != nil {
		s.DeadLetters = SinkStats{Name: d.name, Written: d.written.Load(), Lost: d.lost.Load(), Errors: d.errors.Load()}
	}
	s.Stopped = r.stopped.Load()
	s.Skipped = r.skipped.Load()
	for _, name := range slices.Sorted(maps.Keys(r.plugins)) {
		ps := r.plugins[name].Stats()
		st := PluginStats{Name: name, Batches: ps.Batches, Metrics: ps.Metrics, LogLinesSuppressed: ps.LogLinesSuppressed,
			Lookups: ps.Lookups, LookupKeys: ps.LookupKeys, LookupHits: ps.LookupHits}
		for f, n := range ps.Faults {
			if n > 0 {
				if st.Faults == nil {
					st.Faults = map[string]uint64{}
				}
				st.Faults[f.String()] = n
			}
		}
		s.Plugins = append(s.Plugins, st)
	}
	return s
}
