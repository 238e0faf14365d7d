package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type envelope struct {
	Key       string
	Payload   map[string]any
	Metadata  map[string]string
	EventTime time.Time `json:"event_time"`
	Source    string
}

func readEnvelopes(t *testing.T, path string) []envelope {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []envelope
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e envelope
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		out = append(out, e)
	}
	return out
}

// writeDisordered writes n events of source name with event times
// base+i*step moved back by up to disorder, in arrival order.
func writeDisordered(t testing.TB, dir, name string, n int, step, disorder time.Duration, rng *rand.Rand) {
	var b strings.Builder
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := 0; i < n; i++ {
		ts := base + int64(i)*step.Milliseconds()
		if disorder > 0 {
			ts -= rng.Int64N(disorder.Milliseconds() + 1)
		}
		fmt.Fprintf(&b, `{"src":%q,"i":%d,"ts":%d}`+"\n", name, i, ts)
	}
	writeFile(t, dir, name+".jsonl", b.String())
}

const fanInPipeline = `id: merge
settings: {batch_size: 16, queue_depth: 2, allowed_lateness: %[1]s, late_records: %[4]s%[5]s}
sources:
  - {name: a, type: file, path: a.jsonl, event_time: {field: ts, unit: ms}, watermark: {max_out_of_orderness: %[2]s}}
  - {name: b, type: file, path: b.jsonl, event_time: {field: ts, unit: ms}, watermark: {max_out_of_orderness: %[2]s}}
  - {name: c, type: file, path: c.jsonl, event_time: {field: ts, unit: ms}, watermark: {max_out_of_orderness: %[2]s}}
services:
  out: {type: file, path: out.jsonl, format: envelope}
  late: {type: file, path: late.jsonl, format: envelope}
stages:
  - id: merge
    type: fan_in
    fan_in:
      sources: [{source_name: a}, {source_name: b}, {source_name: c}]
      merge_strategy: event_time
      buffer: %[3]d
  - {id: write, type: sink, service_name: out}%[6]s
edges:
  - {from: merge, to: write}
`

// mergePipeline fills fanInPipeline: allowed lateness, the sources'
// out-of-orderness bound, the fan-in buffer and the late policy (with
// "route", a late side output stage writing late.jsonl).
func mergePipeline(lateness, bound string, buffer int, policy string) string {
	route, stage := "", ""
	if policy == "route" {
		route = ", late_route: late"
		stage = "\n  - {id: late, type: sink, service_name: late}"
	}
	return fmt.Sprintf(fanInPipeline, lateness, bound, buffer, policy, route, stage)
}

// TestFanIn_EventTime_Property: for random inputs with bounded disorder,
// the merged output is sorted by event time and every input record is
// written exactly once, to the output or (when late) to the side output.
func TestFanIn_EventTime_Property(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			dir := t.TempDir()
			n := map[string]int{"a": 50 + rng.IntN(300), "b": 50 + rng.IntN(300), "c": 1 + rng.IntN(50)}
			for _, s := range []string{"a", "b", "c"} {
				writeDisordered(t, dir, s, n[s], time.Duration(1+rng.IntN(5))*time.Second, time.Duration(rng.IntN(4))*time.Second, rng)
			}
			// A bound of 3s covers the disorder (at most 3s): nothing may be
			// late, and the output must be fully sorted.
			sum, dl, err := runFile(t, dir, mergePipeline("0s", "3s", 8+rng.IntN(64), "route"))
			if err != nil {
				t.Fatal(err)
			}
			out := readEnvelopes(t, filepath.Join(dir, "out.jsonl"))
			total := n["a"] + n["b"] + n["c"]
			if dl != "" || sum.Late != 0 || len(out) != total || sum.Delivered != int64(total) || !sum.Balanced() {
				t.Fatalf("summary %s, %d written, dl %q", sum, len(out), dl)
			}
			if !sort.SliceIsSorted(out, func(i, j int) bool { return out[i].EventTime.Before(out[j].EventTime) }) {
				t.Fatal("merge output is not in event-time order")
			}
			seen := map[string]bool{}
			for _, e := range out {
				k := fmt.Sprintf("%v/%v", e.Payload["src"], e.Payload["i"])
				if seen[k] {
					t.Fatalf("%s written twice", k)
				}
				seen[k] = true
			}
		})
	}
}

func TestFanIn_EventTime_LateRecordsRouted(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	dir := t.TempDir()
	for _, s := range []string{"a", "b", "c"} {
		writeDisordered(t, dir, s, 400, time.Second, 10*time.Second, rng)
	}
	// The sources promise 1s of disorder but deliver up to 10s: records
	// behind the watermark are late and go to the late side output.
	sum, _, err := runFile(t, dir, mergePipeline("0s", "1s", 64, "route"))
	if err != nil {
		t.Fatal(err)
	}
	out := readEnvelopes(t, filepath.Join(dir, "out.jsonl"))
	late := readEnvelopes(t, filepath.Join(dir, "late.jsonl"))
	if sum.Late == 0 || len(late) != int(sum.Late) || len(out)+len(late) != 1200 || !sum.Balanced() {
		t.Fatalf("summary %s: %d out, %d late", sum, len(out), len(late))
	}
	for _, e := range late {
		if e.Metadata["late"] != "true" {
			t.Fatalf("late record not marked: %+v", e)
		}
	}
	if !sort.SliceIsSorted(out, func(i, j int) bool { return out[i].EventTime.Before(out[j].EventTime) }) {
		t.Fatal("on-time output must stay sorted")
	}
}

func TestFanIn_LatePolicies(t *testing.T) {
	for _, policy := range []string{"drop", "dead_letter", "allow"} {
		t.Run(policy, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 3))
			dir := t.TempDir()
			for _, s := range []string{"a", "b", "c"} {
				writeDisordered(t, dir, s, 300, time.Second, 8*time.Second, rng)
			}
			sum, dl, err := runFile(t, dir, mergePipeline("0s", "0s", 32, policy))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Late == 0 || !sum.Balanced() || sum.In != 900 {
				t.Fatalf("summary %s", sum)
			}
			out := readEnvelopes(t, filepath.Join(dir, "out.jsonl"))
			switch policy {
			case "drop":
				if sum.Dropped != sum.Late || len(out) != 900-int(sum.Late) {
					t.Fatalf("drop: %s, %d out", sum, len(out))
				}
			case "dead_letter":
				if sum.DeadLettered != sum.Late || strings.Count(dl, "\n") != int(sum.Late) || !strings.Contains(dl, "behind the watermark") {
					t.Fatalf("dead_letter: %s", sum)
				}
			case "allow":
				marked := 0
				for _, e := range out {
					if e.Metadata["late"] == "true" {
						marked++
					}
				}
				if len(out) != 900 || marked != int(sum.Late) {
					t.Fatalf("allow: %d out, %d marked, %s", len(out), marked, sum)
				}
			}
		})
	}
}

// TestFanIn_IdleInputDoesNotStall: one input stays open but silent; after
// the idle timeout the merge goes on without it.
func TestFanIn_IdleInputDoesNotStall(t *testing.T) {
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: idle
settings: {idle_timeout: 200ms, batch_size: 8}
sources:
  - {name: quiet, type: file, path: "-", event_time: {field: ts, unit: ms}, watermark: {}}
  - name: busy
    type: generate
    count: 500
    start: "2026-01-01T00:00:00Z"
    step: 1s
    watermark: {}
services: {out: {type: file, path: out.jsonl, format: envelope}}
stages:
  - id: merge
    type: fan_in
    fan_in: {sources: [{source_name: quiet}, {source_name: busy}]}
  - {id: write, type: sink, service_name: out}
edges: [{from: merge, to: write}]
`))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	var dl bytes.Buffer
	r, err := NewRunner(p, RunOptions{Stdin: pr, DeadLetterOut: &dl})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Summary)
	go func() {
		sum, err := r.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- sum
	}()
	// One early record from the quiet source, then silence.
	fmt.Fprintf(pw, `{"ts":%d}`+"\n", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	deadline := time.Now().Add(10 * time.Second)
	for r.Summary().Delivered < 400 {
		if time.Now().After(deadline) {
			t.Fatalf("merge stalled behind the idle input: %s", r.Summary())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The pipeline's tracker reports the silent source idle too (within a
	// few of its ticks).
	quietState := func() string {
		for _, s := range r.Summary().Sources {
			if s.Source == "quiet" {
				return s.State
			}
		}
		return "missing"
	}
	for quietState() != "idle" {
		if time.Now().After(deadline) {
			t.Fatalf("quiet source is %q, not idle, in the pipeline tracker", quietState())
		}
		time.Sleep(10 * time.Millisecond)
	}
	pw.Close()
	sum := <-done
	if sum.Delivered != 501 || !sum.Balanced() {
		t.Fatalf("summary %s, dead letters: %s", sum, dl.String())
	}
}

// TestRunner_Run_WatermarkInCEL: a stage's conditions see its input
// watermark. With monotonic event times and batches of one, the watermark
// after record i is t_i - 1ns, so every record is just ahead of it.
func TestRunner_Run_WatermarkInCEL(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "{\"ts\":1000}\n{\"ts\":2000}\n{\"ts\":3000}\n")
	sum, dl, err := runFile(t, dir, `id: wm
settings: {batch_size: 1}
sources: [{name: in, type: file, path: in.jsonl, event_time: {field: ts, unit: ms}, watermark: {}}]
services: {out: {type: file, path: out.jsonl}}
stages:
  - id: ahead
    type: filter
    condition: record.event_time > watermark && record.event_time - watermark == duration("1ns")
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: ahead}, {from: ahead, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Delivered != 3 || dl != "" {
		t.Fatalf("summary %s, dead letters %s", sum, dl)
	}
}
