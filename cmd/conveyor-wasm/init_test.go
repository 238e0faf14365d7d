package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/internal/schematest"
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

	// The schemas it wrote accept the pipeline and the test file it wrote,
	// whose first lines point the YAML language server at them.
	for _, f := range []struct{ file, schema string }{
		{"pipeline.yaml", "pipeline.schema.json"},
		{"pipeline_test.yaml", "pipeline_test.schema.json"},
	} {
		sch, err := os.ReadFile(filepath.Join(dir, f.schema))
		if err != nil {
			t.Fatal(err)
		}
		s := schematest.Compile(t, f.schema, sch)
		src, err := os.ReadFile(filepath.Join(dir, f.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(schematest.YAML(t, src)); err != nil {
			t.Errorf("the starter %s does not validate against %s: %v", f.file, f.schema, err)
		}
		if hint := "# yaml-language-server: $schema=" + f.schema + "\n"; !strings.HasPrefix(string(src), hint) {
			t.Errorf("no editor hint on the first line of %s:\n%.200s", f.file, src)
		}
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
