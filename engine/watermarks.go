package engine

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

// Watermark sentinels, as int64 Unix nanoseconds.
const (
	wmMin = int64(watermark.Min)
	wmMax = int64(watermark.Max)
)

// compileEventTime configures watermark generation for the sources that
// take part in event time, and the late-record policies and side outputs
// of sources and fan-in stages.
func compileEventTime(c *compiler) {
	pl := c.pl
	s := &pl.settings
	if s.AllowedLateness < 0 || s.IdleTimeout < 0 {
		c.at(s.At, "allowed_lateness and idle_timeout must not be negative")
	}
	checkLate(c, s.At, s.LateRecords, s.LateRoute)
	for _, n := range pl.sources {
		src := n.source
		if src.Watermark == nil {
			continue // event times without a watermark: extracted, not tracked
		}
		cfg := watermark.GeneratorConfig{}
		w := src.Watermark
		if w.MaxOutOfOrderness < 0 || w.MaxFuture < 0 {
			c.at(w.At, "source %q: watermark durations must not be negative", src.Name)
		}
		cfg.MaxOutOfOrderness, cfg.MaxFuture = w.MaxOutOfOrderness, w.MaxFuture
		f, err := watermark.ParseFuturePolicy(w.Future)
		if err != nil {
			c.at(w.At, "source %q: %v%s", src.Name, err, didYouMeanIn(w.Future, []string{"clamp", "dead_letter"}))
		}
		cfg.Future = f
		if n.eventTime != nil {
			switch n.eventTime.missing {
			case MissingDrop:
				cfg.Missing = watermark.MissingDrop
			case MissingUseProcessingTime:
				cfg.Missing = watermark.MissingProcessingTime
			}
		}
		n.wmGen = &cfg
		n.latePolicy = s.LateRecords
		if s.LateRecords == LateRoute {
			addLateRoute(pl, n, s.LateRoute)
		}
	}
	for _, n := range pl.nodes {
		if n.stage == nil || n.stage.FanIn == nil || n.stage.Type != StageFanIn {
			continue
		}
		fi := n.stage.FanIn
		n.latePolicy, n.lateRoute = s.LateRecords, -1
		target := s.LateRoute
		if fi.LateRecords != "" || fi.LateRoute != "" {
			if fi.LateRecords != "" {
				n.latePolicy = fi.LateRecords
			}
			if fi.LateRoute != "" {
				target = fi.LateRoute
			}
			checkLate(c, fi.At, n.latePolicy, target)
		}
		if n.latePolicy == LateRoute {
			addLateRoute(pl, n, target)
		}
	}
}

func checkLate(c *compiler, at Position, policy LatePolicy, route string) {
	switch policy {
	case LateDeadLetter, LateDrop, LateAllow:
		// A late_route without the route policy is allowed: a fan-in may
		// override the policy and use it.
	case LateRoute:
		if route == "" {
			c.at(at, "late_records: route needs late_route (the stage late records go to)")
			return
		}
		if t, ok := c.pl.byID[route]; !ok || t.kind != nodeStage {
			c.unresolved(false, at, "late_route: %q is not a stage%s", route, didYouMeanStage(route, c.pl.byID))
		}
	default:
		c.at(at, "late_records: unknown policy %q (want dead_letter, drop, allow or route)%s", policy,
			didYouMeanIn(string(policy), []string{"dead_letter", "drop", "allow", "route"}))
	}
}

func addLateRoute(pl *Plan, from *node, target string) {
	to, ok := pl.byID[target]
	if !ok || to.kind != nodeStage {
		return // reported by checkLate
	}
	from.lateRoute = len(from.routes)
	from.routes = append(from.routes, route{to: to, at: to.at, late: true})
	for _, in := range to.inputs {
		if in == from {
			return
		}
	}
	to.inputs = append(to.inputs, from)
}

// celWatermark converts a stage watermark for CEL: the sentinels (no
// progress yet, end of input) read as "no watermark".
func celWatermark(wm int64) int64 {
	if wm == wmMin || wm == wmMax {
		return conditions.NoWatermark
	}
	return wm
}

// eventClock is the pipeline's event-time state: one watermark tracker over
// the sources that take part in event time (the seed's WatermarkTracker),
// guarded by a mutex; its combined watermark is also kept in an atomic so
// that the per-record lateness check takes no lock.
type eventClock struct {
	mu       sync.Mutex
	tr       *watermark.Tracker
	combined atomic.Int64
	lateness int64
	late     atomic.Int64 // records found late (any policy)
}

func newEventClock(s Settings, clk watermark.Clock) *eventClock {
	var opts []watermark.Option
	if clk != nil {
		opts = append(opts, watermark.WithClock(clk))
	}
	c := &eventClock{tr: watermark.NewTracker(s.AllowedLateness, s.IdleTimeout, opts...), lateness: int64(s.AllowedLateness)}
	c.combined.Store(wmMin)
	return c
}

// isLate reports whether event time t is behind the combined watermark by
// more than the allowed lateness. At Max (every other source finished or
// idle) the combined watermark says nothing about a source still reading,
// so nothing is late at the source then; a fan-in downstream still judges
// its records against its own inputs.
func (c *eventClock) isLate(t int64) bool {
	cw := c.combined.Load()
	if t == record.NoEventTime || cw == wmMin || cw == wmMax {
		return false
	}
	return t < cw-c.lateness
}

func (c *eventClock) update(id watermark.SourceID, wm watermark.Watermark) {
	c.mu.Lock()
	c.tr.UpdateID(id, wm)
	c.combined.Store(int64(c.tr.Combined()))
	c.mu.Unlock()
}

// source registers an input of the tracker (a source, or a partition).
func (c *eventClock) source(name string) watermark.SourceID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tr.Source(name)
}

func (c *eventClock) finish(id watermark.SourceID) {
	c.mu.Lock()
	c.tr.Finish(id)
	c.combined.Store(int64(c.tr.Combined()))
	c.mu.Unlock()
}

// markIdle declares a tracker input idle until its next update.
func (c *eventClock) markIdle(id watermark.SourceID) {
	c.mu.Lock()
	c.tr.MarkIdle(id)
	c.combined.Store(int64(c.tr.Combined()))
	c.mu.Unlock()
}

// touch records activity of a tracker input (an idle one rejoins).
func (c *eventClock) touch(id watermark.SourceID) {
	c.mu.Lock()
	c.tr.UpdateID(id, c.tr.Watermark(id))
	c.combined.Store(int64(c.tr.Combined()))
	c.mu.Unlock()
}

func (c *eventClock) tick() {
	c.mu.Lock()
	c.tr.Tick()
	c.combined.Store(int64(c.tr.Combined()))
	c.mu.Unlock()
}

// SourceProgress is one source's event-time progress, for progress lines
// and metrics.
type SourceProgress struct {
	Source    string
	Watermark time.Time // zero before the first record
	// Lag is how far the watermark is behind the wall clock (0 when it is
	// ahead, as a generator with a start in the future is).
	Lag   time.Duration
	State string // active, idle or finished
}

// watermarks reports each event-time source and the combined watermark.
func (c *eventClock) snapshot(srcs []*sourceRT, now time.Time) (watermark.Watermark, []SourceProgress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []SourceProgress
	for _, s := range srcs {
		if s.gen == nil {
			continue
		}
		wm := c.tr.Watermark(s.wmID)
		sw := SourceProgress{Source: s.n.id, State: c.tr.State(s.wmID).String()}
		if wm != watermark.Min && wm != watermark.Max {
			sw.Watermark = wm.Time()
			sw.Lag = max(now.Sub(sw.Watermark), 0) // 0 when the source is ahead of the clock
		}
		out = append(out, sw)
	}
	return c.tr.Combined(), out
}

// lateReason explains why a record is late.
func lateReason(at string, et, wm, lateness int64) string {
	return fmt.Sprintf("late at %q: event time %s is %s behind the watermark %s (allowed lateness %s)",
		at, watermark.Watermark(et), time.Duration(wm-et), watermark.Watermark(wm), time.Duration(lateness))
}

// handleLate applies a late policy to rec on worker w. It reports whether
// rec continues down the normal routes (allow).
// A record allowed through once and late again further down is counted
// once.
func (w *worker) handleLate(rec *record.Record, policy LatePolicy, reason string) bool {
	if v, _ := rec.Metadata.Get("late"); v != "true" {
		w.r.clock.late.Add(1)
	}
	switch policy {
	case LateDrop:
		end(rec, record.Dropped)
	case LateAllow:
		rec.Metadata.Set("late", "true")
		return true
	case LateRoute:
		w.toLate(rec)
	default:
		w.deadLetter(rec, reason)
	}
	return false
}

// idleMark, as a producer's last-seen time, marks it idle until it sends
// again (an idle batch).
const idleMark = math.MinInt64

// isIdle reports whether a producer last seen at seen is idle at now.
func isIdle(seen int64, idle time.Duration, now int64) bool {
	return seen == idleMark || idle > 0 && now-seen > int64(idle)
}

// minInt64 of a producer watermark list, skipping idle producers.
func minWatermark(wms []atomic.Int64, seen []atomic.Int64, idle time.Duration, now int64) int64 {
	m, mAll := int64(math.MaxInt64), int64(math.MaxInt64)
	active := false
	for i := range wms {
		wm := wms[i].Load()
		mAll = min(mAll, wm)
		if wm != wmMax && isIdle(seen[i].Load(), idle, now) {
			continue
		}
		active = true
		m = min(m, wm)
	}
	if !active {
		return mAll
	}
	return m
}
