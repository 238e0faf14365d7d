package pipetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCase writes a pipeline and a test file beside it and returns the
// test file's path.
func writeCase(t *testing.T, pipeline, test string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "p_test.yaml")
	if err := os.WriteFile(path, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const mergePipeline = `id: steps
settings: {idle_timeout: 5s}
sources:
  - {name: a, type: generate, event_time: {field: ts, unit: ms}, watermark: {}}
  - {name: b, type: generate, event_time: {field: ts, unit: ms}, watermark: {}}
  - {name: c, type: generate, event_time: {field: ts, unit: ms, missing: use_processing_time}}
services: {out: {type: discard}, stamped: {type: discard}}
stages:
  - {id: merge, type: fan_in, fan_in: {sources: [{source_name: a}, {source_name: b}]}}
  - {id: write, type: sink, service_name: out}
  - {id: stamp, type: sink, service_name: stamped}
edges: [{from: merge, to: write}, {from: c, to: stamp}]
`

func runCase(t *testing.T, test string) Result {
	t.Helper()
	res := RunFile(context.Background(), writeCase(t, mergePipeline, test), Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res
}

// Steps feed records in order and check the sinks between them; the clock
// moves only where a step says, so the idle timeout fires exactly there.
func TestRunFile_Steps_VirtualClock(t *testing.T) {
	t.Parallel()
	res := runCase(t, `cases:
  - name: idle
    clock: 2026-01-01T00:00:00Z
    steps:
      - {source: a, records: [{payload: {ts: 1000}}]}
      - {source: b, records: [{payload: {ts: 2000}}, {payload: {ts: 3000}}]}
      - expect: {out: {count: 0}}
      - advance: 4s
      - {source: b, records: [{payload: {ts: 4000}}]}
      - expect: {out: {count: 0}}
      - advance: 2s
      - expect: {out: {ordered: true, records: [{payload: {ts: 1000}}, {payload: {ts: 2000}}, {payload: {ts: 3000}}]}}
      - {source: a, watermark: "1970-01-01T00:00:10Z"}
      - {source: b, end: true}
      - expect: {out: {count: 4}}
      - {source: c, records: [{payload: {n: 1}}]}
    expect:
      out: {count: 4}
      stamped: {records: [{payload: {n: 1}, event_time: "2026-01-01T00:00:06Z"}]}  # the clock moved 6s
`)
	if res.Failed() {
		t.Fatalf("failures: %q", res.Cases[0].Failures)
	}
}

// A step's expectation that does not hold fails the case, naming the step
// and its line, and the case goes on to its end.
func TestRunFile_Steps_FailureNamesTheStep(t *testing.T) {
	t.Parallel()
	res := runCase(t, `cases:
  - name: too early
    steps:
      - {source: a, records: [{payload: {ts: 1000}}]}
      - {source: b, records: [{payload: {ts: 2000}}]}
      - expect: {out: {count: 1}}
    expect: {out: {count: 2}}
`)
	fails := res.Cases[0].Failures
	if len(fails) != 1 || !strings.Contains(fails[0], "step 3 (line 6): out: got 0 records, want 1") {
		t.Fatalf("failures: %q", fails)
	}
}

// A step that cannot settle (a merge whose small buffer waits on an input
// only a later step would feed) fails the case with the reason instead of
// hanging.
func TestRunFile_Steps_DoesNotSettle(t *testing.T) {
	t.Parallel()
	pipeline := strings.Replace(mergePipeline, "fan_in: {sources:", "fan_in: {buffer: 2, sources:", 1)
	pipeline = strings.Replace(pipeline, "idle_timeout: 5s", "idle_timeout: 5s, batch_size: 1", 1)
	test := `cases:
  - name: full buffer
    steps:
      - {source: a, records: [{payload: {ts: 1000}}]}
      - {source: b, records: [{payload: {ts: 2001}}, {payload: {ts: 2002}}, {payload: {ts: 2003}}, {payload: {ts: 2004}}, {payload: {ts: 2005}}, {payload: {ts: 2006}}]}
      - {source: a, records: [{payload: {ts: 9000}}]}
    timeout: 2s
`
	res := RunFile(context.Background(), writeCase(t, pipeline, test), Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !res.Failed() {
		t.Fatal("the case passed: the merge's buffer of 2 took 6 records from b while a waited")
	}
	if got := strings.Join(res.Cases[0].Failures, "\n"); !strings.Contains(got, "step 2 (line 5): the pipeline did not settle") {
		t.Fatalf("failures: %s", got)
	}
}

// Malformed steps are refused at load, with their line.
func TestLoad_Steps_Errors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ steps, want string }{
		{"      - {source: a}", `p_test.yaml:4: case "c": a step needs one of records, watermark, idle or end`},
		{"      - {source: a, end: true, advance: 1s}", "a step does one thing; this one has end and advance"},
		{"      - {records: [{payload: {ts: 1}}]}", "records needs source: the source it is for"},
		{"      - {source: a, advance: 1s}", "advance takes no source"},
		{"      - {advance: -1s}", "the clock does not go back"},
		{"      - {source: a, watermark: soon}", `watermark: parsing time "soon"`},
		{"      - {source: nope, end: true}", `p_test.yaml:4: case "c": no source "nope"`},
		{"      - {expect: {nope: {count: 1}}}", `no sink "nope"`},
	} {
		path := writeCase(t, mergePipeline, "cases:\n  - name: c\n    steps:\n"+tc.steps+"\n")
		res := RunFile(context.Background(), path, Options{})
		if res.Err == nil || !strings.Contains(res.Err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.steps, res.Err, tc.want)
		}
	}
	path := writeCase(t, mergePipeline, "cases:\n  - name: c\n    inputs: {a: [{payload: {ts: 1}}]}\n    steps: [{advance: 1s}]\n")
	if res := RunFile(context.Background(), path, Options{}); res.Err == nil || !strings.Contains(res.Err.Error(), "give inputs or steps, not both") {
		t.Errorf("inputs and steps: %v", res.Err)
	}
}

// A pipeline file can hold its own cases (tests:); discovery finds it, and
// a run of the pipeline ignores them.
func TestRunFile_TestsInThePipelineFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pipeline := `id: inline
sources: [{name: orders, type: generate, count: 1}]
services: {out: {type: discard}}
stages:
  - {id: big, type: filter, condition: "record.payload.n > 1"}
  - {id: w, type: sink, service_name: out}
edges: [{from: orders, to: big}, {from: big, to: w}]
tests:
  - name: big ones pass
    inputs: {orders: [{payload: {n: 1}}, {payload: {n: 2}}]}
    expect: {out: {records: [{payload: {n: 2}}]}}
  - name: a failing one
    inputs: {orders: [{payload: {n: 5}}]}
    expect: {out: {count: 0}}
`
	path := filepath.Join(dir, "orders.yaml")
	if err := os.WriteFile(path, []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.yaml"), []byte("id: plain\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	found, err := Discover([]string{dir})
	if err != nil || len(found) != 1 || found[0] != path {
		t.Fatalf("Discover = %q, %v; want only %s", found, err, path)
	}
	res := RunFile(context.Background(), path, Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Cases) != 2 || res.Cases[0].Failed() || !res.Cases[1].Failed() {
		t.Fatalf("cases: %+v", res.Cases)
	}
	if got := res.Cases[1].Failures[0]; !strings.Contains(got, "out: got 1 records, want 0") {
		t.Errorf("failure: %s", got)
	}
	// A typo inside the tests is an error with its line, not a silent skip.
	bad := strings.Replace(pipeline, "    expect: {out: {count: 0}}", "    expct: {out: {count: 0}}", 1)
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := RunFile(context.Background(), path, Options{}); res.Err == nil || !strings.Contains(res.Err.Error(), `orders.yaml:14: unknown key "expct" in a case`) {
		t.Errorf("typo: %v", res.Err)
	}
}

// Steps can feed one partition of a source (its own watermark input) and
// mark one partition idle: the slow partition holds the merge back until it
// idles.
func TestRunFile_Steps_Partitions(t *testing.T) {
	t.Parallel()
	res := runCase(t, `cases:
  - name: partitions
    steps:
      - {source: a, partition: p1, records: [{payload: {ts: 1000}}]}
      - {source: a, partition: p2, records: [{payload: {ts: 5000}}]}
      - {source: b, records: [{payload: {ts: 2000}}, {payload: {ts: 3000}}]}
      - expect: {out: {count: 0}}        # p1 holds a at 999 ms
      - {source: a, partition: p1, idle: true}
      - expect: {out: {ordered: true, records: [{payload: {ts: 1000}}, {payload: {ts: 2000}}]}}   # a follows p2; b holds at 2999
    expect: {out: {count: 4}}
`)
	if res.Failed() {
		t.Fatalf("failures: %q", res.Cases[0].Failures)
	}
	path := writeCase(t, mergePipeline, "cases:\n  - name: c\n    steps:\n      - {source: a, partition: p1, end: true}\n")
	if res := RunFile(context.Background(), path, Options{}); res.Err == nil || !strings.Contains(res.Err.Error(), "partition goes with records or idle, not end") {
		t.Errorf("partition with end: %v", res.Err)
	}
}
