package engine

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func TestMinWatermark_Cases(t *testing.T) {
	const now = int64(1_000_000)
	const idle = 100 * time.Nanosecond
	type prod struct{ wm, seen int64 }
	for _, c := range []struct {
		name  string
		prods []prod
		idle  time.Duration
		want  int64
	}{
		{"none", nil, idle, math.MaxInt64},
		{"min of all", []prod{{30, now}, {10, now}, {20, now}}, idle, 10},
		{"idleness disabled", []prod{{30, now}, {10, 0}}, 0, 10},
		{"idle producer skipped", []prod{{30, now}, {10, now - 200}}, idle, 30},
		{"just within the timeout", []prod{{30, now}, {10, now - 100}}, idle, 10},
		{"all idle: min of all", []prod{{30, now - 500}, {10, now - 200}}, idle, 10},
		{"finished counts as Max, never idle", []prod{{wmMax, 0}, {40, now}}, idle, 40},
		{"all finished", []prod{{wmMax, 0}, {wmMax, 0}}, idle, wmMax},
		{"finished and idle: Max holds", []prod{{wmMax, 0}, {10, now - 200}}, idle, wmMax},
		{"no progress yet", []prod{{wmMin, now}, {50, now}}, idle, wmMin},
		{"idle with no progress skipped", []prod{{wmMin, now - 500}, {50, now}}, idle, 50},
	} {
		t.Run(c.name, func(t *testing.T) {
			wms := make([]atomic.Int64, len(c.prods))
			seen := make([]atomic.Int64, len(c.prods))
			for i, p := range c.prods {
				wms[i].Store(p.wm)
				seen[i].Store(p.seen)
			}
			if got := minWatermark(wms, seen, c.idle, now); got != c.want {
				t.Fatalf("minWatermark = %d, want %d", got, c.want)
			}
		})
	}
}

func TestEventClock_IsLate_Cases(t *testing.T) {
	for _, c := range []struct {
		name     string
		combined int64
		lateness time.Duration
		t        int64
		want     bool
	}{
		{"no progress yet", wmMin, 0, 5, false},
		{"every source finished or idle", wmMax, 0, 5, false},
		{"no event time", 100, 0, record.NoEventTime, false},
		{"behind", 100, 0, 99, true},
		{"at the watermark", 100, 0, 100, false},
		{"ahead", 100, 0, 101, false},
		{"within lateness", 100, 10, 90, false},
		{"beyond lateness", 100, 10, 89, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ec := newEventClock(Settings{AllowedLateness: c.lateness}, nil)
			ec.combined.Store(c.combined)
			if got := ec.isLate(c.t); got != c.want {
				t.Fatalf("isLate(%d) at %d = %v, want %v", c.t, c.combined, got, c.want)
			}
		})
	}
}

func TestEventClock_Update_Combined(t *testing.T) {
	ec := newEventClock(Settings{}, nil)
	if ec.combined.Load() != wmMin {
		t.Fatalf("initial combined %d", ec.combined.Load())
	}
	a, b := ec.tr.Source("a"), ec.tr.Source("b")
	ec.update(a, 100)
	ec.update(b, 50)
	if got := ec.combined.Load(); got != 50 {
		t.Fatalf("combined %d, want 50 (the slower source)", got)
	}
	ec.finish(b)
	if got := ec.combined.Load(); got != 100 {
		t.Fatalf("after b finished: combined %d, want 100", got)
	}
	ec.finish(a)
	if got := ec.combined.Load(); got != wmMax {
		t.Fatalf("after all finished: combined %d, want Max", got)
	}
}

func TestCelWatermark_Cases(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{wmMin, conditions.NoWatermark},
		{wmMax, conditions.NoWatermark},
		{0, 0},
		{1_700_000_000_000_000_000, 1_700_000_000_000_000_000},
		{-5, -5},
	} {
		if got := celWatermark(c.in); got != c.want {
			t.Errorf("celWatermark(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestCheckLate_Cases(t *testing.T) {
	pl := &Plan{byID: map[string]*node{
		"late":  {id: "late", kind: nodeStage},
		"in":    {id: "in", kind: nodeSource},
		"write": {id: "write", kind: nodeStage},
	}}
	at := Position{File: "p.yaml", Line: 2, Col: 3}
	for _, c := range []struct {
		name   string
		policy LatePolicy
		route  string
		want   string // "" for no error
	}{
		{"dead_letter", LateDeadLetter, "", ""},
		{"drop", LateDrop, "", ""},
		{"allow", LateAllow, "", ""},
		{"late_route without route policy is allowed", LateDrop, "nowhere", ""},
		{"route", LateRoute, "late", ""},
		{"route without late_route", LateRoute, "", "p.yaml:2:3: late_records: route needs late_route (the stage late records go to)"},
		{"route to an unknown stage", LateRoute, "lat", `p.yaml:2:3: late_route: "lat" is not a stage (did you mean "late"?)`},
		{"route to a source", LateRoute, "in", `p.yaml:2:3: late_route: "in" is not a stage`},
		{"unknown policy", "keep", "", `p.yaml:2:3: late_records: unknown policy "keep" (want dead_letter, drop, allow or route)`},
		{"empty policy", "", "", `p.yaml:2:3: late_records: unknown policy ""`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c2 := &compiler{p: &Pipeline{}, pl: pl}
			checkLate(c2, at, c.policy, c.route)
			err := errors.Join(c2.errs...)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestLateReason_Format(t *testing.T) {
	wm := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC).UnixNano()
	et := wm - int64(3*time.Second)
	got := lateReason("in", et, wm, int64(time.Second))
	want := `late at "in": event time 2026-01-01T00:00:07Z is 3s behind the watermark 2026-01-01T00:00:10Z (allowed lateness 1s)`
	if got != want {
		t.Fatalf("lateReason =\n%q, want\n%q", got, want)
	}
}

// TestWorker_HandleLate_Policies checks each policy on a bare worker: the
// record's fate, whether it continues, and that a record already marked
// late is not counted twice.
func TestWorker_HandleLate_Policies(t *testing.T) {
	for _, c := range []struct {
		name        string
		policy      LatePolicy
		markedLate  bool
		wantCont    bool
		wantOutcome record.Outcome // 0: not ended
		wantDL      bool
		wantCount   int64
	}{
		{"drop", LateDrop, false, false, record.Dropped, false, 1},
		{"allow", LateAllow, false, true, 0, false, 1},
		{"dead_letter", LateDeadLetter, false, false, 0, true, 1},
		{"unknown falls back to dead_letter", "odd", false, false, 0, true, 1},
		{"already late is counted once", LateAllow, true, true, 0, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &Runner{pl: &Plan{settings: Settings{BatchSize: 100}}, clock: newEventClock(Settings{}, nil), obs: NopObserver{}}
			w := &worker{r: r, n: &node{id: "src"}}
			var g countGroup
			rec := record.New("k", []byte(`{}`))
			rec.Ack = &record.Ack{}
			rec.Ack.Init(&g, 1)
			if c.markedLate {
				rec.Metadata.Set("late", "true")
			}
			cont := w.handleLate(rec, c.policy, "why")
			if cont != c.wantCont {
				t.Fatalf("continues = %v, want %v", cont, c.wantCont)
			}
			if got := r.clock.late.Load(); got != c.wantCount {
				t.Fatalf("late count %d, want %d", got, c.wantCount)
			}
			if c.wantOutcome != 0 && g.n[c.wantOutcome] != 1 || c.wantOutcome == 0 && len(g.n) != 0 {
				t.Fatalf("outcomes %v, want %v", g.n, c.wantOutcome)
			}
			if c.wantDL != (len(w.dl) == 1) || c.wantDL && (w.dl[0].reason != "why" || w.dl[0].stage != "src" || w.dl[0].rec != rec) {
				t.Fatalf("dead letters %+v", w.dl)
			}
			if v, _ := rec.Metadata.Get("late"); c.policy == LateAllow && v != "true" {
				t.Fatalf("allowed late record not marked: %v", rec.Metadata)
			}
		})
	}
}

// lateInput is out of order by 15s at the third record (ts 5 after 20).
const lateInput = `{"i":1,"ts":10}
{"i":2,"ts":20}
{"i":3,"ts":5}
{"i":4,"ts":30}
`

// latePipeline: one source with a bounded-out-of-orderness watermark of
// 0s, batches of one record (so that the watermark moves with each record)
// and the given extra settings.
func latePipeline(settings string) string {
	return `id: late
settings: {batch_size: 1` + settings + `}
sources:
  - {name: in, type: file, path: in.jsonl, event_time: {field: ts, unit: s}, watermark: {max_out_of_orderness: 0s}}
services:
  out: {type: file, path: out.jsonl, format: envelope}
  late: {type: file, path: late.jsonl, format: envelope}
stages:
  - {id: write, type: sink, service_name: out}
  - {id: side, type: sink, service_name: late}
edges: [{from: in, to: write}]
`
}

func TestWorker_HandleLate_SourcePolicies(t *testing.T) {
	for _, c := range []struct {
		name                        string
		settings                    string
		delivered, dropped, dlCount int64
		late                        int64
		wantOut                     []int // ids in out.jsonl
		wantSide                    []int // ids in late.jsonl
	}{
		{"default dead_letter", "", 3, 0, 1, 1, []int{1, 2, 4}, nil},
		{"drop", ", late_records: drop", 3, 1, 0, 1, []int{1, 2, 4}, nil},
		{"allow", ", late_records: allow", 4, 0, 0, 1, []int{1, 2, 3, 4}, nil},
		{"route", ", late_records: route, late_route: side", 4, 0, 0, 1, []int{1, 2, 4}, []int{3}},
		{"allowed lateness covers it", ", allowed_lateness: 15s", 4, 0, 0, 0, []int{1, 2, 3, 4}, nil},
		{"allowed lateness too short", ", allowed_lateness: 14s, late_records: drop", 3, 1, 0, 1, []int{1, 2, 4}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", lateInput)
			src := latePipeline(c.settings)
			if !strings.Contains(c.settings, "late_route") {
				// Without a late route the side stage would be unreachable.
				src = strings.Replace(src, "edges: [{from: in, to: write}]", "edges: [{from: in, to: write}, {from: in, to: side, condition: 'false'}]", 1)
			}
			sum, dl, err := runFile(t, dir, src)
			if err != nil {
				t.Fatal(err)
			}
			if sum.In != 4 || sum.Delivered != c.delivered || sum.Dropped != c.dropped || sum.DeadLettered != c.dlCount || sum.Late != c.late || !sum.Balanced() {
				t.Fatalf("summary %s", sum)
			}
			check := func(file string, want []int) {
				t.Helper()
				var got []int
				for _, e := range readEnvelopes(t, filepath.Join(dir, file)) {
					id := int(e.Payload["i"].(float64))
					got = append(got, id)
					if late := e.Metadata["late"] == "true"; late != (id == 3 && c.late > 0) {
						t.Fatalf("%s: record %d has late=%q", file, id, e.Metadata["late"])
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
					t.Fatalf("%s: ids %v, want %v", file, got, want)
				}
			}
			check("out.jsonl", c.wantOut)
			check("late.jsonl", c.wantSide)
			reasons, payloads := deadLetters(t, dl)
			if int64(len(reasons)) != c.dlCount {
				t.Fatalf("dead letters: %s", dl)
			}
			if c.dlCount > 0 {
				want := `late at "in": event time 1970-01-01T00:00:05Z is 14.999999999s behind the watermark 1970-01-01T00:00:19.999999999Z (allowed lateness 0s)`
				if reasons[0] != want || !strings.Contains(payloads[0], `"i":3`) {
					t.Fatalf("dead letter %q %s, want %q", reasons[0], payloads[0], want)
				}
			}
		})
	}
}

// TestCompileEventTime_LateRoute: route wires a late side output into the
// plan of each event-time source (and only those).
func TestCompileEventTime_LateRoute(t *testing.T) {
	p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: r
settings: {late_records: route, late_route: side}
sources:
  - {name: a, type: generate, count: 1, watermark: {max_out_of_orderness: 1s}}
  - {name: b, type: generate, count: 1}
services: {out: {type: discard}}
stages:
  - {id: write, type: sink, service_name: out}
  - {id: side, type: sink, service_name: out}
edges: [{from: source, to: write}]
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b, side := p.byID["a"], p.byID["b"], p.byID["side"]
	if a.wmGen == nil || a.wmGen.MaxOutOfOrderness != time.Second || a.latePolicy != LateRoute || a.lateRoute != 1 || !a.routes[1].late || a.routes[1].to != side {
		t.Fatalf("source a: gen %+v policy %q lateRoute %d routes %+v", a.wmGen, a.latePolicy, a.lateRoute, a.routes)
	}
	if a.allRoutes != nil {
		t.Fatal("a source with a late route must route per record")
	}
	if b.wmGen != nil || b.lateRoute != -1 || len(b.routes) != 1 {
		t.Fatalf("source b takes no part in event time: gen %+v lateRoute %d", b.wmGen, b.lateRoute)
	}
	if len(side.inputs) != 1 || side.inputs[0] != a {
		t.Fatalf("side inputs %v", side.inputs)
	}
}

func TestCompileEventTime_Errors(t *testing.T) {
	for _, c := range []struct {
		name, settings, source, want string
	}{
		{"route without late_route", "late_records: route", "", "late_records: route needs late_route"},
		{"route to unknown stage", "late_records: route, late_route: wrte", "", `late_route: "wrte" is not a stage (did you mean "write"?)`},
		{"unknown policy", "late_records: keep", "", `late_records: unknown policy "keep"`},
		{"negative idle timeout", "idle_timeout: -1s", "", "allowed_lateness and idle_timeout must not be negative"},
		{"negative out-of-orderness", "batch_size: 1", ", watermark: {max_out_of_orderness: -1s}", `source "g": watermark durations must not be negative`},
		{"unknown future policy", "batch_size: 1", ", watermark: {max_future: 1h, future: ignore}", `source "g": `},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := compileErr(t, `id: e
settings: {`+c.settings+`}
sources: [{name: g, type: generate`+c.source+`}]
services: {out: {type: discard}}
stages: [{id: write, type: sink, service_name: out}]
edges: [{from: g, to: write}]
`)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
