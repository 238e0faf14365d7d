package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

func TestCLI_Init_WritesAStarterThatValidatesTestsAndRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "starter")
	code, stdout, stderr := run(t, "", "init", dir)
	if code != 0 || !strings.Contains(stdout, "wrote a starter pipeline") {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"pipeline.yaml", "pipeline_test.yaml", "pipeline.schema.json", "pipeline_test.schema.json", "README.md", "data/orders.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init wrote no %s: %v", f, err)
		}
	}
	pipeline := filepath.Join(dir, "pipeline.yaml")
	if code, stdout, stderr := run(t, "", "validate", pipeline); code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("validate: exit %d: %s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run(t, "", "test", dir); code != 0 {
		t.Fatalf("test: exit %d: %s%s", code, stdout, stderr)
	}
	// Relative paths are the pipeline file's: run it from elsewhere.
	code, _, stderr = run(t, "", "run", "-q", "--state-dir", "none", pipeline)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	if got := lines(t, filepath.Join(dir, "out", "large-orders.jsonl")); len(got) != 2 {
		t.Errorf("large orders: %q", got)
	}
	if got := lines(t, filepath.Join(dir, "out", "other-orders.jsonl")); len(got) != 1 {
		t.Errorf("other orders: %q", got)
	}

	// The schema it wrote accepts the pipeline it wrote.
	sch, err := os.ReadFile(filepath.Join(dir, "pipeline.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(sch))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("pipeline.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("pipeline.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(pipeline)
	var y any
	if err := yaml.Unmarshal(src, &y); err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(y)
	v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err := s.Validate(v); err != nil {
		t.Errorf("the starter does not validate against its schema: %v", err)
	}
	if !strings.HasPrefix(string(src), "# yaml-language-server: $schema=pipeline.schema.json\n") {
		t.Errorf("no editor hint on the first line:\n%.200s", src)
	}

	// And the test file validates against the test-file schema it wrote.
	tsch, err := os.ReadFile(filepath.Join(dir, "pipeline_test.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	tdoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tsch))
	if err != nil {
		t.Fatal(err)
	}
	tc := jsonschema.NewCompiler()
	if err := tc.AddResource("pipeline_test.schema.json", tdoc); err != nil {
		t.Fatal(err)
	}
	ts, err := tc.Compile("pipeline_test.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	tsrc, _ := os.ReadFile(filepath.Join(dir, "pipeline_test.yaml"))
	var ty any
	if err := yaml.Unmarshal(tsrc, &ty); err != nil {
		t.Fatal(err)
	}
	tj, _ := json.Marshal(ty)
	tv, _ := jsonschema.UnmarshalJSON(bytes.NewReader(tj))
	if err := ts.Validate(tv); err != nil {
		t.Errorf("the starter test file does not validate against its schema: %v", err)
	}
	if !strings.HasPrefix(string(tsrc), "# yaml-language-server: $schema=pipeline_test.schema.json\n") {
		t.Errorf("no editor hint on the test file's first line:\n%.200s", tsrc)
	}
}

func TestCLI_Init_KeepsExistingFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "", "init", dir)
	if code != 1 || !strings.Contains(stderr, "pipeline.yaml exists (--force overwrites it)") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pipeline.yaml")); string(b) != "mine" {
		t.Fatalf("overwritten: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err == nil {
		t.Error("a refused init wrote README.md")
	}
	if code, _, stderr := run(t, "", "init", "--force", dir); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, stderr)
	}
	if code, _, _ := run(t, "", "init", dir, "other"); code != 2 {
		t.Errorf("two directories: exit %d, want 2", code)
	}
}
