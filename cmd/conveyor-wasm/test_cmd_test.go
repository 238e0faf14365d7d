package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/examples/exampletest"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// examplesDir is the repository's examples/ directory.
var examplesDir = filepath.Join("..", "..", "examples")

// Every example pipeline has a test file, and it passes. The Wasm examples
// name their plugin where `make plugins` puts it (bin/plugins); here each
// example is copied to a temporary directory with its pipeline pointing
// at the plugin built from source, so the test needs no earlier build and
// writes nothing into the repository.
func TestCLI_Test_EveryExample(t *testing.T) {
	t.Parallel()
	plugins := map[string][2]string{
		"wasm-redact": {"../../bin/plugins/pii-redactor.wasm", plugintest.BuildGo(t, filepath.Join(examplesDir, "plugins", "pii-redactor"))},
		"wasm-lookup": {"../../bin/plugins/user-tier.wasm", plugintest.BuildGo(t, filepath.Join(examplesDir, "plugins", "user-tier"))},
	}
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(examplesDir, e.Name(), "pipeline.yaml")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(examplesDir, e.Name(), "pipeline_test.yaml")); err != nil {
			t.Errorf("examples/%s has a pipeline.yaml but no pipeline_test.yaml", e.Name())
			continue
		}
		var replace []string
		if p, ok := plugins[e.Name()]; ok {
			replace = p[:]
		}
		dirs = append(dirs, exampletest.Copy(t, filepath.Join(examplesDir, e.Name()), replace...))
	}
	if len(dirs) < 5 {
		t.Fatalf("found %d example pipelines, want at least 5", len(dirs))
	}
	code, stdout, stderr := run(t, "", append([]string{"test", "--plugin-cache", t.TempDir()}, dirs...)...)
	if code != 0 || strings.Count(stdout, "ok   ") != len(dirs) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}

// writeTest writes a pipeline and its test file into a new directory and
// returns the test file's path.
func writeTest(t *testing.T, pipeline, test string) string {
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

const doublePipeline = `id: double
sources: [{name: in, type: file, path: never-read.jsonl, key_field: id}]
services: {out: {type: file, path: never-written.jsonl}}
stages:
  - {id: big, type: filter, condition: record.payload.n > 1}
  - {id: tag, type: metadata, set: {size: 'record.payload.n > 2 ? "large" : "small"'}}
  - {id: write, type: sink, service_name: out}
edges: [{from: in, to: big}, {from: big, to: tag}, {from: tag, to: write}]
`

func TestCLI_Test_PassingCase(t *testing.T) {
	t.Parallel()
	path := writeTest(t, doublePipeline, `cases:
  - name: small ones are filtered, the rest tagged
    inputs:
      in:
        - payload: {id: a, n: 1}
        - payload: {id: b, n: 2}
        - payload: '{"id": "c", "n": 3}'
          metadata: {origin: test}
    expect:
      out:
        count: 2
        records:
          - {payload: {id: b, n: 2}, key: b, metadata: {size: small}}
          - {payload: {id: c, n: 3}, key: c, metadata: {origin: test, size: large}}
        contains: [{payload: {n: 3}}]
        assert: record.payload.n > 1 && record.key == record.payload.id
      write: {count: 2}   # a sink stage id names its service
`)
	code, stdout, stderr := run(t, "", "test", "-v", path)
	if code != 0 || !strings.Contains(stdout, "--- PASS: small ones are filtered, the rest tagged") ||
		!regexp.MustCompile(`(?m)^ok   .*p_test\.yaml \(1 cases, [0-9.]+s\)$`).MatchString(stdout) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{"never-written.jsonl"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), f)); err == nil {
			t.Fatalf("%s was written", f)
		}
	}
}

// A failing case exits 1 and says, per sink, what was wanted and what came.
func TestCLI_Test_FailingCase_PrintsDiff(t *testing.T) {
	t.Parallel()
	path := writeTest(t, doublePipeline, `cases:
  - name: passes
    inputs: {in: [{payload: {id: a, n: 5}}]}
    expect: {out: {count: 1}}
  - name: wrong expectations
    inputs:
      in:
        - payload: {id: a, n: 2}
        - payload: {id: b, n: 3}
        - payload: {id: c}
    expect:
      out:
        count: 3
        records:
          - {payload: {id: a, n: 2}}
          - {payload: {id: b, n: 4}}
        assert: record.payload.n < 3
    dead_letters:
      - {reason_contains: no such key, count: 2}
`)
	code, stdout, _ := run(t, "", "test", path)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	for _, want := range []string{
		"--- FAIL: wrong expectations (",
		"out: got 2 records, want 3",
		"out: records differ (in any order; - want, + got):",
		`- {"payload":{"id":"b","n":4}}`,
		`+ {"payload":{"id":"b","n":3}}`,
		"(1 more records as wanted)",
		"out: assert record.payload.n < 3 failed for 1 of 2 records:",
		`{"key":"b","payload":{"id":"b","n":3}}: false`,
		`dead letters: 1 match {reason_contains "no such key"}, want 2`,
		`stage "big", reason "filter \"big\": condition \"record.payload.n > 1\": no such key: n", from `,
		`p_test.yaml:10: {"id":"c"}`,
		"FAIL ", "(1 of 2 cases failed, ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(stdout, "--- FAIL: passes") {
		t.Error("the passing case failed")
	}
	if t.Failed() {
		t.Log(stdout)
	}
}

// Records in order, with their event times: the event time of an input
// is kept where the source extracts none, and reaches the sinks.
func TestCLI_Test_EventTime_Ordered(t *testing.T) {
	t.Parallel()
	pipeline := `id: et
settings: {allowed_lateness: 1s, late_records: route, late_route: late}
sources: [{name: in, type: file, path: x.jsonl, watermark: {}}]
services: {out: {type: file, path: o.jsonl}, late: {type: file, path: l.jsonl}}
stages:
  - {id: write, type: sink, service_name: out}
  - {id: late, type: sink, service_name: late}
edges: [{from: in, to: write}]
`
	path := writeTest(t, pipeline, `cases:
  - name: in order, one late
    inputs:
      in:
        - {payload: {n: 1}, event_time: "2026-01-01T00:00:01Z"}
        - {payload: {n: 2}, event_time: "2026-01-01T00:00:10Z"}
        - {payload: {n: 3}, event_time: "2026-01-01T00:00:02Z"}
    expect:
      out:
        ordered: true
        records:
          - {payload: {n: 1}, event_time: "2026-01-01T00:00:01Z"}
          - {payload: {n: 2}, event_time: "2026-01-01T00:00:10Z"}
      late:
        records: [{payload: {n: 3}, event_time: "2026-01-01T00:00:02Z", metadata: {late: "true"}}]
  - name: wrong order
    inputs:
      in:
        - {payload: {n: 1}, event_time: "2026-01-01T00:00:01Z"}
        - {payload: {n: 2}, event_time: "2026-01-01T00:00:02Z"}
    expect:
      out:
        ordered: true
        records:
          - {payload: {n: 2}, event_time: "2026-01-01T00:00:02Z"}
          - {payload: {n: 1}, event_time: "2026-01-01T00:00:01Z"}
`)
	code, stdout, _ := run(t, "", "test", path)
	if code != 1 || strings.Contains(stdout, "--- FAIL: in order, one late") || !strings.Contains(stdout, "--- FAIL: wrong order") ||
		!strings.Contains(stdout, "records differ (in order; - want, + got):\n"+
			`        - {"event_time":"2026-01-01T00:00:02Z","payload":{"n":2}}`+"\n"+
			`          {"event_time":"2026-01-01T00:00:01Z","payload":{"n":1}}`+"\n"+
			`        + {"event_time":"2026-01-01T00:00:02Z","payload":{"n":2}}`) {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
}

// A Wasm plugin runs inside a pipeline test; a missing plugin file fails
// every case with the path.
func TestCLI_Test_WasmPlugin(t *testing.T) {
	t.Parallel()
	wasm := plugintest.BuildGo(t, filepath.Join(examplesDir, "plugins", "pii-redactor"))
	pipeline := `id: w
sources: [{name: in, type: file, path: x.jsonl}]
services:
  redactor: {type: wasm, path: PLUGIN, config: {fields: email}}
  out: {type: file, path: o.jsonl}
stages:
  - {id: redact, type: transform, service_name: redactor}
  - {id: write, type: sink, service_name: out}
edges: [{from: in, to: redact}, {from: redact, to: write}]
`
	test := `cases:
  - name: redacted
    inputs: {in: [{payload: {email: a@b.c, n: 1}}]}
    expect:
      out: {records: [{payload: {email: "[REDACTED]", n: 1}}]}
`
	path := writeTest(t, strings.Replace(pipeline, "PLUGIN", wasm, 1), test)
	if code, stdout, stderr := run(t, "", "test", "--plugin-cache", t.TempDir(), path); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	missing := filepath.Join(t.TempDir(), "missing.wasm")
	path = writeTest(t, strings.Replace(pipeline, "PLUGIN", missing, 1), test)
	code, stdout, _ := run(t, "", "test", path)
	if code != 1 || !strings.Contains(stdout, "--- FAIL: redacted") || !strings.Contains(stdout, "the pipeline could not start") ||
		!strings.Contains(stdout, missing) {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
}

func TestCLI_Test_JUnit(t *testing.T) {
	t.Parallel()
	path := writeTest(t, doublePipeline, `cases:
  - name: ok
    inputs: {in: [{payload: {id: a, n: 5}}]}
    expect: {out: {count: 1}}
  - name: "fails <&>"
    inputs: {in: [{payload: {id: a, n: 5}}]}
    expect: {out: {count: 2}}
`)
	code, stdout, _ := run(t, "", "test", "--format", "junit", path)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, stdout)
	}
	if doc.Tests != 2 || doc.Failures != 1 || len(doc.Suites) != 1 || doc.Suites[0].Name != path ||
		len(doc.Suites[0].Cases) != 2 || doc.Suites[0].Cases[0].Failure != nil ||
		doc.Suites[0].Cases[1].Name != "fails <&>" || doc.Suites[0].Cases[1].Failure == nil ||
		!strings.Contains(doc.Suites[0].Cases[1].Failure.Text, "got 1 records, want 2") {
		t.Fatalf("%+v\n%s", doc, stdout)
	}
}

// Problems with the test file itself are reported with the file, and
// nothing runs.
func TestCLI_Test_BadFiles(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, test, want string }{
		{"unknown sink", "cases: [{name: a, expect: {outt: {count: 1}}}]", `no sink "outt"`},
		{"unknown source", "cases: [{name: a, inputs: {inn: []}}]", `no source "inn"`},
		{"unknown key", "cases: [{name: a, expct: {}}]", `unknown key "expct" in a case (want name, inputs, expect, dead_letters, timeout, clock or steps) (did you mean "expect"?)`},
		{"no cases", "pipeline: p.yaml", "no cases"},
		{"bad assert", "cases: [{name: a, expect: {out: {assert: 'recrd.key'}}}]", "undeclared reference to 'recrd.key'"},
		{"payload and file", "cases: [{name: a, inputs: {in: [{file: x, payload: 1}]}}]", "needs either payload or file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := writeTest(t, doublePipeline, c.test)
			code, stdout, _ := run(t, "", "test", path)
			if code != 1 || !strings.Contains(stdout, "FAIL "+path) || !strings.Contains(stdout, c.want) {
				t.Fatalf("exit %d\n%s", code, stdout)
			}
		})
	}
	if code, _, stderr := run(t, "", "test", t.TempDir()); code != 1 || !strings.Contains(stderr, "no test files") {
		t.Fatalf("empty dir: exit %d %s", code, stderr)
	}
	if code, _, _ := run(t, "", "test", "--format", "tap", t.TempDir()); code != 2 {
		t.Fatalf("bad format: exit %d", code)
	}
}
