package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runFile loads and runs the pipeline in src (written to dir/p.yaml) and
// returns the summary and the dead-letter output.
func runFile(t *testing.T, dir, src string) (Summary, string, error) {
	t.Helper()
	p, err := Load(writeFile(t, dir, "p.yaml", src))
	if err != nil {
		t.Fatal(err)
	}
	var dl bytes.Buffer
	r, err := NewRunner(p, RunOptions{DeadLetterOut: &dl})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	return sum, dl.String(), err
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

const fanOutPipeline = `id: fan
settings: {batch_size: 7}
sources:
  - name: users
    type: file
    path: in.jsonl
services:
  all: {type: file, path: out/all.jsonl}
  vip: {type: file, path: out/vip.jsonl}
stages:
  - id: active
    type: filter
    condition: record.payload.active
  - id: fo
    type: fan_out
    fan_out:
      sinks:
        - sink_name: all
        - sink_name: vip
          condition: record.payload.plan == "pro"
  - {id: all, type: sink, service_name: all}
  - {id: vip, type: sink, service_name: vip}
edges:
  - {from: source, to: active}
  - {from: active, to: fo}
`

func TestRunner_Run_FilterFanOutBalances(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	wantAll, wantVIP, wantFiltered := 0, 0, 0
	for i := 0; i < 100; i++ {
		active := i%3 != 0
		plan := []string{"free", "pro"}[i%2]
		fmt.Fprintf(&in, `{"id":%d,"active":%t,"plan":%q}`+"\n", i, active, plan)
		if !active {
			wantFiltered++
			continue
		}
		wantAll++
		if plan == "pro" {
			wantVIP++
		}
	}
	in.WriteString("{broken\n")
	writeFile(t, dir, "in.jsonl", in.String())
	sum, dl, err := runFile(t, dir, fanOutPipeline)
	if err != nil {
		t.Fatal(err)
	}
	all := readLines(t, filepath.Join(dir, "out/all.jsonl"))
	vip := readLines(t, filepath.Join(dir, "out/vip.jsonl"))
	if len(all) != wantAll || len(vip) != wantVIP {
		t.Fatalf("all=%d (want %d) vip=%d (want %d)", len(all), wantAll, len(vip), wantVIP)
	}
	for _, l := range vip {
		if !strings.Contains(l, `"plan":"pro"`) {
			t.Fatalf("non-pro record in vip sink: %s", l)
		}
	}
	if sum.In != 101 || sum.Delivered != int64(wantAll) || sum.Filtered != int64(wantFiltered) || sum.DeadLettered != 1 || !sum.Balanced() {
		t.Fatalf("summary %+v", sum)
	}
	var env struct {
		Reason, Stage, Origin string
		Record                struct{ Payload string }
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(dl)), &env); err != nil {
		t.Fatalf("dead letter is not one JSON line: %v\n%s", err, dl)
	}
	if !strings.HasSuffix(env.Origin, "in.jsonl:101") || !strings.Contains(env.Reason, "malformed JSON") || env.Record.Payload != "{broken" || env.Stage != "users" {
		t.Fatalf("dead letter %+v", env)
	}
}

func TestRunner_Run_ConditionErrorDeadLetters(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", `{"active":true,"plan":"pro"}`+"\n"+`{"plan":"free"}`+"\n")
	sum, dl, err := runFile(t, dir, fanOutPipeline)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Delivered != 1 || sum.DeadLettered != 1 || !sum.Balanced() {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(dl, `"stage":"active"`) || !strings.Contains(dl, "active") {
		t.Fatalf("dead letter should name the filter and the missing field: %s", dl)
	}
}

func TestRunner_Run_UnmatchedPolicies(t *testing.T) {
	src := func(policy string) string {
		return `id: u
settings: {unmatched: ` + policy + `}
sources: [{name: g, type: generate, count: 50, seed: 3}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: g, to: s, condition: record.payload.type == "click"}]
`
	}
	for _, c := range []struct {
		policy  string
		wantErr bool
	}{{"drop", false}, {"dead_letter", false}, {"error", true}} {
		t.Run(c.policy, func(t *testing.T) {
			sum, dl, err := runFile(t, t.TempDir(), src(c.policy))
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if !sum.Balanced() || sum.In != 50 {
				t.Fatalf("summary %+v", sum)
			}
			unmatched := sum.In - sum.Delivered
			switch c.policy {
			case "drop":
				if sum.Dropped != unmatched || unmatched == 0 || dl != "" {
					t.Fatalf("drop: %+v dl=%q", sum, dl)
				}
			case "dead_letter":
				if sum.DeadLettered != unmatched || !strings.Contains(dl, `no route matched at \"g\"`) {
					t.Fatalf("dead_letter: %+v dl=%q", sum, dl)
				}
			case "error":
				if !strings.Contains(err.Error(), "no route matched") || sum.DeadLettered == 0 {
					t.Fatalf("error: %v %+v", err, sum)
				}
			}
		})
	}
}

func TestRunner_Run_MissingInputFile(t *testing.T) {
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", fanOutPipeline))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewRunner(p, RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "in.jsonl") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("want a clear missing-file error, got %v", err)
	}
}

func TestRunner_Run_MetadataStage(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", `{"type":"user_event","user_id":"u1"}`+"\n"+`{"type":"click","user_id":"u2"}`+"\n")
	sum, _, err := runFile(t, dir, `id: m
sources: [{name: in, type: file, path: in.jsonl, key_field: user_id}]
services: {out: {type: file, path: out.jsonl, format: envelope}}
stages:
  - id: tag
    type: metadata
    set:
      type: record.payload.type
      k: record.key + "!"
  - id: s
    type: sink
    service_name: out
edges:
  - {from: in, to: tag}
  - {from: tag, to: s, condition: {metadata_equals: {key: type, value: user_event}}}
`)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out.jsonl"))
	if len(lines) != 1 || sum.DeadLettered != 1 {
		t.Fatalf("lines=%v sum=%+v", lines, sum)
	}
	var env struct {
		Key      string
		Metadata map[string]string
	}
	if err := json.Unmarshal([]byte(lines[0]), &env); err != nil {
		t.Fatal(err)
	}
	if env.Key != "u1" || env.Metadata["type"] != "user_event" || env.Metadata["k"] != "u1!" {
		t.Fatalf("envelope %+v", env)
	}
}

func TestRunner_Run_ReplicasHashKeepsKeyOrder(t *testing.T) {
	dir := t.TempDir()
	sum, _, err := runFile(t, dir, `id: r
settings: {batch_size: 16}
sources: [{name: g, type: generate, count: 5000, keys: 20}]
services: {out: {type: file, path: out.jsonl, format: envelope}}
stages:
  - id: work
    type: metadata
    set: {seen: "'yes'"}
    replicas: 4
    load_balance: {strategy: hash}
  - {id: s, type: sink, service_name: out}
edges:
  - {from: g, to: work}
  - {from: work, to: s}
`)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Delivered != 5000 || !sum.Balanced() {
		t.Fatalf("summary %+v", sum)
	}
	// Per key, ids must arrive in increasing order: hash balancing sends a
	// key to one replica, which keeps its order.
	last := map[string]int{}
	f, _ := os.Open(filepath.Join(dir, "out.jsonl"))
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var env struct {
			Key     string
			Payload struct{ ID int }
		}
		if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[env.Key]; ok && env.Payload.ID <= prev {
			t.Fatalf("key %s: id %d after %d", env.Key, env.Payload.ID, prev)
		}
		last[env.Key] = env.Payload.ID
	}
	if len(last) != 20 {
		t.Fatalf("saw %d keys, want 20", len(last))
	}
}

func TestRunner_Run_GracefulStopDrains(t *testing.T) {
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: g
sources: [{name: g, type: generate}]
services: {out: {type: file, path: out.jsonl}}
stages:
  - {id: f, type: filter, condition: "record.payload.id >= 0"}
  - {id: s, type: sink, service_name: out}
edges: [{from: g, to: f}, {from: f, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for r.Summary().Delivered < 20000 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	sum, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out.jsonl"))
	if !sum.Balanced() || sum.InFlight != 0 || int64(len(lines)) != sum.Delivered || sum.Delivered < 20000 {
		t.Fatalf("summary %+v, %d lines written", sum, len(lines))
	}
}

func TestRunner_Run_EventTime(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", `{"ts":1700000000123}`+"\n"+`{"no":1}`+"\n"+`{"ts":"x"}`+"\n")
	sum, dl, err := runFile(t, dir, `id: e
sources:
  - name: in
    type: file
    path: in.jsonl
    event_time: {field: ts, unit: ms}
services: {out: {type: file, path: out.jsonl, format: envelope}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out.jsonl"))
	if len(lines) != 1 || !strings.Contains(lines[0], `"event_time":"2023-11-14T22:13:20.123Z"`) {
		t.Fatalf("out: %v", lines)
	}
	if sum.DeadLettered != 2 || !strings.Contains(dl, `field \"ts\" is missing`) || !strings.Contains(dl, "want a number") {
		t.Fatalf("sum %+v dl %s", sum, dl)
	}
}

// TestRunner_Run_SlowStreamIsFlushed: on a quiet stream, records reach the
// output file (and dead letters theirs) without waiting for the end of the
// run or a full write buffer.
func TestRunner_Run_SlowStreamIsFlushed(t *testing.T) {
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: slow
settings: {dead_letter: dl}
sources: [{name: in, type: file, path: "-"}]
services:
  out: {type: file, path: out.jsonl}
  dl: {type: file, path: dl.jsonl}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	r, err := NewRunner(p, RunOptions{Stdin: pr})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Run(context.Background()); done <- err }()
	fmt.Fprint(pw, "{\"n\":1}\nnot json\n")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := os.ReadFile(filepath.Join(dir, "out.jsonl"))
		dl, _ := os.ReadFile(filepath.Join(dir, "dl.jsonl"))
		if string(out) == "{\"n\":1}\n" && strings.Contains(string(dl), "not json") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not flushed while the stream is open: out %q, dead letters %q", out, dl)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
