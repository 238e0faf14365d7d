package engine

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestFilterProc_Process_Cases(t *testing.T) {
	const in = `{"n":0}
{"n":5}
{"m":1}
{"n":"text"}
{"n":3}
`
	for _, c := range []struct {
		name                    string
		cond                    string
		delivered, filtered, dl int64
		wantReason              string
	}{
		{"compare", `record.payload.n > 1`, 2, 1, 2, `filter \"f\": condition \"record.payload.n > 1\": `},
		{"has guards the missing field", `has(record.payload.n) && record.payload.n == 5`, 1, 4, 0, ""},
		{"all pass", `true`, 5, 0, 0, ""},
		{"none pass", `record.key == "nobody"`, 0, 5, 0, ""},
		{"watermark is absent without event time", `record.payload.n < 0 || watermark > timestamp(0)`, 0, 0, 5, `filter \"f\": condition \"record.payload.n < 0 || watermark > timestamp(0)\": `},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", in)
			sum, dl, err := runFile(t, dir, fmt.Sprintf(`id: f
sources: [{name: in, type: file, path: in.jsonl}]
services: {out: {type: file, path: out.jsonl}}
stages:
  - {id: f, type: filter, condition: %q}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`, c.cond))
			if err != nil {
				t.Fatal(err)
			}
			if sum.In != 5 || sum.Delivered != c.delivered || sum.Filtered != c.filtered || sum.DeadLettered != c.dl || !sum.Balanced() {
				t.Fatalf("summary %s", sum)
			}
			if got := len(readLines(t, filepath.Join(dir, "out.jsonl"))); int64(got) != c.delivered {
				t.Fatalf("%d lines written, want %d", got, c.delivered)
			}
			reasons, _ := deadLetters(t, dl)
			if int64(len(reasons)) != c.dl {
				t.Fatalf("%d dead letters: %s", len(reasons), dl)
			}
			if c.dl > 0 && !strings.Contains(dl, c.wantReason) {
				t.Fatalf("dead letters do not name the condition (%s):\n%s", c.wantReason, dl)
			}
			if c.dl > 0 && !strings.Contains(dl, `"stage":"f"`) {
				t.Fatalf("dead letters do not name the stage:\n%s", dl)
			}
		})
	}
}

// TestFilterProc_Process_Watermark: with event time, a filter sees its
// input watermark: with batches of one record and no out-of-orderness, the
// watermark a record is filtered under is its own event time minus 1ns.
func TestFilterProc_Process_Watermark(t *testing.T) {
	for _, c := range []struct {
		cond                string
		delivered, filtered int64
	}{
		{"record.event_time > watermark", 3, 0},
		{"record.event_time - watermark == duration('1ns')", 3, 0},
		{"record.event_time <= watermark", 0, 3},
	} {
		t.Run(c.cond, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", "{\"ts\":1000}\n{\"ts\":2000}\n{\"ts\":3000}\n")
			sum, dl, err := runFile(t, dir, fmt.Sprintf(`id: w
settings: {batch_size: 1}
sources:
  - {name: in, type: file, path: in.jsonl, event_time: {field: ts, unit: s}, watermark: {max_out_of_orderness: 0s}}
services: {out: {type: file, path: out.jsonl}}
stages:
  - {id: f, type: filter, condition: %q}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`, c.cond))
			if err != nil {
				t.Fatal(err)
			}
			if sum.In != 3 || sum.Delivered != c.delivered || sum.Filtered != c.filtered || !sum.Balanced() || dl != "" {
				t.Fatalf("summary %s, dead letters %s", sum, dl)
			}
		})
	}
}

func TestMetadataProc_Process_Cases(t *testing.T) {
	for _, c := range []struct {
		name     string
		stage    string
		want     map[string]string
		wantDL   int
		wantText string
	}{
		{"set", `set: {a: "'1'", region: record.payload.geo}`, map[string]string{"a": "1", "region": "eu"}, 0, ""},
		{"remove after set", `set: {a: "'1'", b: "'2'"}
    remove: [b, never_set]`, map[string]string{"a": "1"}, 0, ""},
		{"remove only", `remove: [x]`, map[string]string{}, 0, ""},
		{"non-string values", `set: {n: record.payload.n, ok: record.payload.n > 1}`, map[string]string{"n": "2", "ok": "true"}, 0, ""},
		{"set error dead-letters", `set: {a: "'1'", z: record.payload.missing}`, nil, 1, `metadata \"m\": set \"z\": `},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", `{"geo":"eu","n":2}`+"\n")
			sum, dl, err := runFile(t, dir, `id: m
sources: [{name: in, type: file, path: in.jsonl}]
services: {out: {type: file, path: out.jsonl, format: envelope}}
stages:
  - id: m0
    type: metadata
    set: {x: "'gone'", b: "'old'"}
  - id: m
    type: metadata
    `+c.stage+`
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: m0}, {from: m0, to: m}, {from: m, to: s}]
`)
			if err != nil {
				t.Fatal(err)
			}
			if sum.DeadLettered != int64(c.wantDL) || !sum.Balanced() {
				t.Fatalf("summary %s", sum)
			}
			if c.wantDL > 0 {
				if !strings.Contains(dl, c.wantText) || !strings.Contains(dl, `"stage":"m"`) {
					t.Fatalf("dead letter %s, want %s", dl, c.wantText)
				}
				return
			}
			out := readEnvelopes(t, filepath.Join(dir, "out.jsonl"))
			if len(out) != 1 {
				t.Fatalf("%d records out", len(out))
			}
			// m0 set x and b; each case's stage then changes them.
			want := map[string]string{"x": "gone", "b": "old"}
			for k, v := range c.want {
				want[k] = v
			}
			if strings.Contains(c.stage, "remove: [b") {
				delete(want, "b")
			}
			if strings.Contains(c.stage, "remove: [x") {
				delete(want, "x")
			}
			got := out[0].Metadata
			if len(got) != len(want) {
				t.Fatalf("metadata %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("metadata %v, want %v", got, want)
				}
			}
		})
	}
}

// TestSinkProc_Process_WriteFails: a sink whose write keeps failing
// dead-letters the batch with the sink's name once the retries are spent; the run carries on and the other branch
// of a fan-out still delivers.
func TestSinkProc_Process_WriteFails(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, `{"i":%d,"bad":%t}`+"\n", i, i%2 == 0)
	}
	writeFile(t, dir, "in.jsonl", in.String())
	sum, dl, err := runFile(t, dir, `id: s
settings: {batch_size: 3, sink_retries: 2, sink_retry_backoff: 1ms}
sources: [{name: in, type: file, path: in.jsonl}]
services:
  good: {type: file, path: good.jsonl}
  broken: {type: test-failing, write_error: connection reset}
stages:
  - id: fo
    type: fan_out
    fan_out:
      sinks:
        - sink_name: g
        - {sink_name: b, condition: record.payload.bad}
  - {id: g, type: sink, service_name: good}
  - {id: b, type: sink, service_name: broken}
edges: [{from: in, to: fo}]
`)
	if err != nil {
		t.Fatalf("a failing sink should not stop the run: %v", err)
	}
	if got := readLines(t, filepath.Join(dir, "good.jsonl")); len(got) != 10 {
		t.Fatalf("good sink got %d records", len(got))
	}
	reasons, payloads := deadLetters(t, dl)
	if len(reasons) != 5 {
		t.Fatalf("%d dead letters: %s", len(reasons), dl)
	}
	for i, r := range reasons {
		if r != `sink "broken": connection reset (3 attempts)` || !strings.Contains(payloads[i], `"bad":true`) {
			t.Fatalf("dead letter %d: %q %s", i, r, payloads[i])
		}
	}
	// A record with a dead-lettered copy counts as dead-lettered.
	if sum.In != 10 || sum.DeadLettered != 5 || sum.Delivered != 5 || !sum.Balanced() {
		t.Fatalf("summary %s", sum)
	}
}

// TestSinkProc_Process_SharedService: two sink stages naming one service
// write to the same sink (one file holds both streams).
func TestSinkProc_Process_SharedService(t *testing.T) {
	dir := t.TempDir()
	sum, _, err := runFile(t, dir, `id: shared
settings: {batch_size: 8}
sources: [{name: g, type: generate, count: 300, seed: 2}]
services: {out: {type: file, path: out.jsonl}}
stages:
  - {id: a, type: sink, service_name: out, replicas: 2}
  - {id: b, type: sink, service_name: out}
edges:
  - {from: g, to: a, condition: 'record.payload.type == "click"'}
  - {from: g, to: b, condition: 'record.payload.type != "click"'}
`)
	if err != nil {
		t.Fatal(err)
	}
	if lines := readLines(t, filepath.Join(dir, "out.jsonl")); len(lines) != 300 || sum.Delivered != 300 {
		t.Fatalf("%d lines, summary %s", len(lines), sum)
	}
	var a, b int64
	for _, st := range sum.Stages {
		switch st.ID {
		case "a":
			a = st.In
		case "b":
			b = st.In
		}
	}
	if a == 0 || b == 0 || a+b != 300 {
		t.Fatalf("stage a got %d, b %d", a, b)
	}
}
