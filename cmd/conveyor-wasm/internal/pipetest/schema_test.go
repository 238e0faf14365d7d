package pipetest

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

// The test-file schema is a valid draft 2020-12 schema; every example's
// test file validates against it, and a typo does not.
func TestWriteJSONSchema_ValidatesTheExamples(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteJSONSchema(&b); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("test.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("test.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(src []byte) error {
		var y any
		if err := yaml.Unmarshal(src, &y); err != nil {
			t.Fatal(err)
		}
		j, err := json.Marshal(y)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		return s.Validate(v)
	}
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
