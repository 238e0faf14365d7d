package pipetest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/internal/schematest"
)

// The test-file schema is a valid draft 2020-12 schema; every example's
// test file validates against it, and a typo does not.
func TestWriteJSONSchema_ValidatesTheExamples(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteJSONSchema(&b); err != nil {
		t.Fatal(err)
	}
	s := schematest.Compile(t, "test.schema.json", b.Bytes())
	validate := func(src []byte) error { return s.Validate(schematest.YAML(t, src)) }
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "..", "examples", "*", "*_test.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("example test files: %v, %v", files, err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(src); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, err := Load(f); err != nil {
			t.Errorf("%s does not load: %v", f, err)
		}
	}
	for _, bad := range []string{
		"cases: [{name: a, expct: {}}]",
		"cases: [{name: a, steps: [{advanc: 1s}]}]",
		"cases: [{name: a, expect: {out: {count: many}}}]",
		"cases: [{name: a, steps: [{advance: soon}]}]",
	} {
		if err := validate([]byte(bad)); err == nil {
			t.Errorf("%s: validates", bad)
		} else if !strings.Contains(err.Error(), "jsonschema validation failed") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
