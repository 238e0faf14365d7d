package engine

import (
	"path/filepath"
	"testing"
	"time"
)

func TestSummary_String_Cases(t *testing.T) {
	for _, c := range []struct {
		name string
		s    Summary
		want string
	}{
		{"zero", Summary{}, "records in 0 = out 0 + filtered 0 + dropped 0 + dead-lettered 0"},
		{"counts and rate", Summary{In: 10, Delivered: 4, Filtered: 3, Dropped: 2, DeadLettered: 1, Elapsed: 2 * time.Second},
			"records in 10 = out 4 + filtered 3 + dropped 2 + dead-lettered 1 in 2s (5 records/s)"},
		{"elapsed rounded to ms", Summary{In: 3, Delivered: 3, Elapsed: 1500*time.Millisecond + 400*time.Microsecond},
			"records in 3 = out 3 + filtered 0 + dropped 0 + dead-lettered 0 in 1.5s (2 records/s)"},
		{"late", Summary{In: 5, Delivered: 2, DeadLettered: 3, Late: 3},
			"records in 5 = out 2 + filtered 0 + dropped 0 + dead-lettered 3; 3 late"},
		{"in flight", Summary{In: 5, Delivered: 2, InFlight: 3},
			"records in 5 = out 2 + filtered 0 + dropped 0 + dead-lettered 0 (+3 in flight)"},
		{"in flight, late and rate", Summary{In: 100, Delivered: 50, InFlight: 40, Dropped: 10, Late: 10, Elapsed: time.Second},
			"records in 100 = out 50 + filtered 0 + dropped 10 + dead-lettered 0 (+40 in flight); 10 late in 1s (100 records/s)"},
		{"negative late is not shown", Summary{Late: -1}, "records in 0 = out 0 + filtered 0 + dropped 0 + dead-lettered 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.String(); got != c.want {
				t.Fatalf("String() =\n%q, want\n%q", got, c.want)
			}
		})
	}
}

func TestSummary_Balanced_Cases(t *testing.T) {
	for _, c := range []struct {
		name string
		s    Summary
		want bool
	}{
		{"zero", Summary{}, true},
		{"every outcome", Summary{In: 10, Delivered: 4, Filtered: 3, Dropped: 2, DeadLettered: 1}, true},
		{"missing one", Summary{In: 10, Delivered: 4, Filtered: 3, Dropped: 2}, false},
		{"one too many", Summary{In: 1, Delivered: 1, DeadLettered: 1}, false},
		{"late is not an outcome", Summary{In: 2, Delivered: 2, Late: 2}, true},
		{"in flight is not an outcome", Summary{In: 2, Delivered: 1, InFlight: 1}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.Balanced(); got != c.want {
				t.Fatalf("Balanced() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRunner_Summary_AfterRun(t *testing.T) {
	for _, c := range []struct {
		name      string
		source    string
		eventTime bool
	}{
		{"without event time", `{name: in, type: file, path: in.jsonl}`, false},
		{"with event time", `{name: in, type: file, path: in.jsonl, event_time: {field: ts, unit: s}, watermark: {}}`, true},
		{"event time without watermark is not tracked", `{name: in, type: file, path: in.jsonl, event_time: {field: ts, unit: s}}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", "{\"ts\":100,\"k\":1}\n{\"ts\":200,\"k\":2}\n{\"ts\":300,\"k\":3}\n")
			sum, _, err := runFile(t, dir, `id: s
sources: [`+c.source+`]
services: {out: {type: file, path: out.jsonl}}
stages:
  - {id: f, type: filter, condition: record.payload.k > 1}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`)
			if err != nil {
				t.Fatal(err)
			}
			if sum.In != 3 || sum.Delivered != 2 || sum.Filtered != 1 || sum.InFlight != 0 || sum.Elapsed <= 0 || !sum.Balanced() {
				t.Fatalf("summary %+v", sum)
			}
			if len(readLines(t, filepath.Join(dir, "out.jsonl"))) != 2 {
				t.Fatal("output does not match the summary")
			}
			want := []StageStats{{ID: "in", Type: "source", Out: 3}, {ID: "f", Type: "filter", In: 3, Out: 2}, {ID: "s", Type: "sink", In: 2, Out: 0}}
			if len(sum.Stages) != len(want) {
				t.Fatalf("stages %+v", sum.Stages)
			}
			for i := range want {
				got := sum.Stages[i]
				got.Parallelism, got.QueueDepth, got.Busy = 0, 0, 0
				if got != want[i] {
					t.Fatalf("stage %d: %+v, want %+v", i, sum.Stages[i], want[i])
				}
			}
			if !c.eventTime {
				if !sum.Watermark.IsZero() || len(sum.Sources) != 0 {
					t.Fatalf("watermark %v, sources %+v without event time", sum.Watermark, sum.Sources)
				}
				return
			}
			// Every source finished: the combined watermark is the end of
			// time, reported as zero, as is the finished source's own.
			if !sum.Watermark.IsZero() || len(sum.Sources) != 1 || sum.Sources[0].Source != "in" || sum.Sources[0].State != "finished" || !sum.Sources[0].Watermark.IsZero() {
				t.Fatalf("watermark %v, sources %+v", sum.Watermark, sum.Sources)
			}
		})
	}
}
