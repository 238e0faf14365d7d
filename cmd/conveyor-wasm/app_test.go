package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/examples/exampletest"
)

// cliMu serialises the CLI apps tests run in this process: urfave/cli
// shares its help and completion flags between apps (package variables it
// writes while parsing), so two apps parsing at once race. A process runs
// one app, so only tests meet this.
var cliMu sync.Mutex

// run drives the CLI in-process and returns exit code, stdout and stderr.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cliMu.Lock()
	defer cliMu.Unlock()
	code := doMain(append([]string{"conveyor-wasm"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestCLI_Run_UserAnalyticsExample(t *testing.T) {
	dir := exampletest.Copy(t, filepath.Join("..", "..", "examples", "user-analytics"))
	code, _, stderr := run(t, "", "run", "--progress", "0", filepath.Join(dir, "pipeline.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "summary: records in 200 = out ") {
		t.Fatalf("no summary on stderr:\n%s", stderr)
	}
	archive := lines(t, filepath.Join(dir, "out/archive.jsonl"))
	events := lines(t, filepath.Join(dir, "out/user-events.jsonl"))
	dead := lines(t, filepath.Join(dir, "out/dead-letters.jsonl"))
	if len(dead) != 2 || !strings.Contains(dead[0], "users.jsonl:42") || !strings.Contains(dead[1], "users.jsonl:138") {
		t.Fatalf("dead letters should be the two malformed lines with positions:\n%s", strings.Join(dead, "\n"))
	}
	for _, l := range archive {
		if !strings.Contains(l, `"active":true`) {
			t.Fatalf("inactive record archived: %s", l)
		}
	}
	if len(events) == 0 || len(events) >= len(archive) {
		t.Fatalf("user-events (%d) must be a non-empty subset of archive (%d)", len(events), len(archive))
	}
	for _, l := range events {
		if !strings.Contains(l, `"type":"user_event"`) || !strings.Contains(l, `"user_id":"u`) {
			t.Fatalf("user-events got %s", l)
		}
	}
}

func TestCLI_Validate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join("..", "..", "examples", "user-analytics", "pipeline.yaml")
	if code, out, errs := run(t, "", "validate", good); code != 0 || !strings.Contains(out, ": ok (1 sources, 5 stages, 3 edges)") {
		t.Fatalf("validate good: %d %q %q", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`id: bad
sources: [{name: in, type: generate}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: "record.payload.x >"}
  - {id: s, type: sink, service_name: out}
edges:
  - {from: in, to: f}
  - {from: f, to: s}
  - {from: s, to: f}
`), 0o644)
	code, _, errs := run(t, "", "validate", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"bad.yaml:5:", "^", "bad.yaml:10:5: edge from sink stage \"s\""} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if code, _, errs := run(t, "", "validate"); code != 2 || !strings.Contains(errs, "usage") {
		t.Fatalf("no argument: %d %s", code, errs)
	}
}

func TestCLI_Run_MissingInput(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte(`id: m
sources: [{name: in, type: file, path: nope.jsonl}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`), 0o644)
	code, _, errs := run(t, "", "run", p)
	if code != 2 || !strings.Contains(errs, "nope.jsonl: no such file or directory") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestCLI_Run_StdinToStdout(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte(`id: io
sources: [{name: in, type: file, path: "-"}]
services: {out: {type: stdout}}
stages:
  - {id: f, type: filter, condition: "record.payload.n % 2 == 0"}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`), 0o644)
	code, out, errs := run(t, "{\"n\":1}\n{\"n\":2}\n{\"n\":4}\n", "--log-format", "json", "run", p)
	if code != 0 || out != "{\"n\":2}\n{\"n\":4}\n" {
		t.Fatalf("exit %d out %q err %s", code, out, errs)
	}
	if !strings.Contains(errs, `"msg":"summary","in":3,"delivered":2,"filtered":1,"dropped":0,"dead_lettered":0,`) ||
		!strings.Contains(errs, `"sinks":[{"name":"out","written":2,"errors":0}]`) {
		t.Fatalf("summary: %s", errs)
	}
}

func TestCLI_Run_SignalDrains(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte(`id: forever
sources: [{name: g, type: generate, rate: 20000}]
services: {out: {type: file, path: out.jsonl}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: g, to: s}]
`), 0o644)
	var out bytes.Buffer
	errb := &lockedBuffer{}
	app := newApp(strings.NewReader(""), &out, errb)
	// Replace the OS signal context with one cancelled, as a SIGTERM
	// would, once a progress line counts 1000 records in (or after a
	// minute, for the checks below to report what came instead): however
	// slow the machine, the drain has records to write.
	envOf := app.Metadata["env"].(*appEnv)
	inRx := regexp.MustCompile(`(?m)^progress: in (\d+) `)
	envOf.signals = func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		go func() {
			defer cancel()
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				for _, m := range inRx.FindAllStringSubmatch(errb.String(), -1) {
					if n, _ := strconv.Atoi(m[1]); n >= 1000 {
						return
					}
				}
				if ctx.Err() != nil {
					return
				}
			}
		}()
		return ctx, cancel
	}
	// A stopped run exits 130 (SIGINT; 143 for SIGTERM), not 0.
	var ee *exitError
	cliMu.Lock()
	err := app.Run([]string{"conveyor-wasm", "run", "--state-dir", "none", "--progress", "500ms", p})
	cliMu.Unlock()
	if !errors.As(err, &ee) || ee.code != exitInterrupted ||
		!strings.Contains(err.Error(), "interrupted: the sources were stopped before their end") {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	n := len(lines(t, filepath.Join(dir, "out.jsonl")))
	if n < 1000 || !strings.Contains(errb.String(), "progress: in ") {
		t.Fatalf("wrote %d records; stderr:\n%s", n, errb.String())
	}
	if !strings.Contains(errb.String(), "summary: records in ") || strings.Contains(errb.String(), "unaccounted") {
		t.Fatalf("summary:\n%s", errb.String())
	}
}

func TestCLI_Graph(t *testing.T) {
	good := filepath.Join("..", "..", "examples", "user-analytics", "pipeline.yaml")
	code, out, _ := run(t, "", "graph", "--format", "mermaid", good)
	if code != 0 || !strings.HasPrefix(out, "flowchart LR") {
		t.Fatalf("mermaid: %d %s", code, out)
	}
	code, out, _ = run(t, "", "graph", good)
	if code != 0 || !strings.Contains(out, `"filter-active" -> "tag";`) {
		t.Fatalf("dot: %d %s", code, out)
	}
	if code, _, errs := run(t, "", "graph", "--format", "pdf", good); code != 2 || !strings.Contains(errs, "or svg or png") {
		t.Fatalf("unknown format exit %d, want 2: %s", code, errs)
	}
}

func TestCLI_VersionDocsAndFlags(t *testing.T) {
	code, out, _ := run(t, "", "version")
	if code != 0 || !strings.Contains(out, "abi v1.1") {
		t.Fatalf("version: %q", out)
	}
	code, out, _ = run(t, "", "docs")
	if code != 0 || !strings.Contains(out, "# Pipeline file reference") {
		t.Fatalf("docs: %d", code)
	}
	committed, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != out {
		t.Fatal("docs/reference.md is stale: run `make docs`")
	}
	code, _, errs := run(t, "", "--log-format", "xml", "version")
	if code != 2 || !strings.Contains(errs, "unknown format \"xml\"") {
		t.Fatalf("bad log format: %d %s", code, errs)
	}
}

func TestCLI_Run_EventTimeExample(t *testing.T) {
	dir := exampletest.Copy(t, filepath.Join("..", "..", "examples", "event-time"))
	code, _, stderr := run(t, "", "run", "--progress", "0", filepath.Join(dir, "pipeline.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type env struct {
		Payload struct {
			Sensor string
			Seq    int
		}
		Metadata  map[string]string
		EventTime time.Time `json:"event_time"`
	}
	parse := func(name string) []env {
		var out []env
		for _, l := range lines(t, filepath.Join(dir, "out", name)) {
			if l == "" {
				continue
			}
			var e env
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		return out
	}
	merged, late := parse("merged.jsonl"), parse("late.jsonl")
	if len(merged)+len(late) != 500 {
		t.Fatalf("%d merged + %d late != 500", len(merged), len(late))
	}
	for i := 1; i < len(merged); i++ {
		if merged[i].EventTime.Before(merged[i-1].EventTime) {
			t.Fatalf("merged output out of order at %d: %v after %v", i, merged[i].EventTime, merged[i-1].EventTime)
		}
	}
	for _, e := range late {
		// Only the 30s stragglers (every 97th north reading) can be late.
		if e.Payload.Sensor != "north" || e.Payload.Seq%97 != 0 || e.Metadata["late"] != "true" {
			t.Fatalf("unexpected late record %+v", e)
		}
	}
	if !strings.Contains(stderr, fmt.Sprintf("; %d late", len(late))) && len(late) > 0 {
		t.Fatalf("summary does not count the late records:\n%s", stderr)
	}
}

func TestFlagsFirst(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	cases := []struct{ in, want string }{
		{"x plugin run a.wasm --config k=v --config j=w", "x plugin run --config k=v --config j=w a.wasm"},
		{"x --log-level debug run p.yaml --progress 0", "x --log-level debug run --progress 0 p.yaml"},
		{"x plugin inspect a.wasm --json", "x plugin inspect --json a.wasm"},
		{"x run --progress=0 p.yaml", "x run --progress=0 p.yaml"},
		{"x run p.yaml -- --odd", "x run p.yaml -- --odd"},
		{"x nosuch --flag", "x nosuch --flag"},
		{"x", "x"},
	}
	for _, c := range cases {
		if got := strings.Join(flagsFirst(app, strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("flagsFirst(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
