package engine

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/conveyor-etl/conveyor-wasm/internal/schematest"
)

// compiledSchema compiles the generated schema with a JSON Schema
// validator (draft 2020-12), which also checks that it is a valid schema.
func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSONSchema(&b); err != nil {
		t.Fatal(err)
	}
	return schematest.Compile(t, SchemaID, b.Bytes())
}

func TestWriteJSONSchema_ExamplesValidate(t *testing.T) {
	s := compiledSchema(t)
	var files []string
	err := filepath.WalkDir(filepath.Join("..", "examples"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, "_test.yaml") && !strings.Contains(path, "testdata") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found only %d example pipelines: %v", len(files), files)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f, src); err != nil {
			t.Errorf("%s: not a valid pipeline, so no test of the schema: %v", f, err)
			continue
		}
		if err := s.Validate(schematest.YAML(t, src)); err != nil {
			t.Errorf("%s: valid pipeline rejected by the schema: %v", f, err)
		}
	}
}

func TestWriteJSONSchema_RejectsBrokenPipelines(t *testing.T) {
	s := compiledSchema(t)
	if err := s.Validate(schematest.YAML(t, []byte(validPipeline))); err != nil {
		t.Fatalf("valid pipeline rejected: %v", err)
	}
	for name, tc := range map[string]struct{ old, new, want string }{
		"unknown top-level key":    {"id: p", "id: p\nidd: q", "idd"},
		"missing required id":      {"id: p\n", "", "id"},
		"unknown stage type":       {"type: filter", "type: filtre", "/stages/0/type"},
		"unknown connector type":   {"type: generate", "type: generator", "/sources/0/type"},
		"key of another connector": {"count: 10", "count: 10\n    path: x.jsonl", "path"},
		"unknown service key":      {"{type: discard}", "{type: discard, path: x}", "path"},
		"integer expected":         {"id: p", "id: p\nsettings: {batch_size: many}", "batch_size"},
		"bad enum":                 {"id: p", "id: p\nsettings: {unmatched: ignore}", "unmatched"},
		"bad duration":             {"id: p", "id: p\nsettings: {idle_timeout: 5 seconds}", "idle_timeout"},
		"edge without to":          {"{from: keep, to: sink}", "{from: keep}", "to"},
	} {
		src := strings.Replace(validPipeline, tc.old, tc.new, 1)
		if src == validPipeline {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := Parse("p.yaml", []byte(src)); err == nil {
			if _, err := mustParse(t, src).Compile(); err == nil {
				t.Errorf("%s: the engine accepts it, so the schema must not be the only one to reject it", name)
			}
		}
		err := s.Validate(schematest.YAML(t, []byte(src)))
		if err == nil {
			t.Errorf("%s: broken pipeline accepted by the schema", name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error does not mention %q: %v", name, tc.want, err)
		}
	}
}

func mustParse(t *testing.T, src string) *Pipeline {
	t.Helper()
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteJSONSchema_DescribesKeys(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSONSchema(&b); err != nil {
		t.Fatal(err)
	}
	var sch map[string]any
	if err := json.Unmarshal(b.Bytes(), &sch); err != nil {
		t.Fatal(err)
	}
	settings := sch["properties"].(map[string]any)["settings"].(map[string]any)["properties"].(map[string]any)
	bs := settings["batch_size"].(map[string]any)
	if bs["type"] != "integer" || bs["default"] != float64(DefaultBatchSize) || !strings.Contains(bs["description"].(string), "records per batch") {
		t.Errorf("settings.batch_size: %v", bs)
	}
	if e := settings["unmatched"].(map[string]any)["enum"]; len(e.([]any)) != 3 {
		t.Errorf("settings.unmatched enum: %v", e)
	}
}

// Every value the schema enumerates for a key is named in that key's doc
// tag (or the doc of the settings key it overrides), so the schema and the
// Markdown reference say the same.
func TestWriteJSONSchema_EnumsMatchTheDocs(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSONSchema(&b); err != nil {
		t.Fatal(err)
	}
	var sch any
	if err := json.Unmarshal(b.Bytes(), &sch); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch v := x.(type) {
		case map[string]any:
			if e, ok := v["enum"].([]any); ok && !strings.HasSuffix(path, ".type") {
				doc, _ := v["description"].(string)
				if strings.HasPrefix(doc, "overrides settings.") {
					return // the values are those of the key it overrides
				}
				for _, val := range e {
					n++
					if !strings.Contains(doc, val.(string)) {
						t.Errorf("%s: enum value %q not in its description %q", path, val, doc)
					}
				}
			}
			for k, c := range v {
				walk(path+"."+k, c)
			}
		case []any:
			for _, c := range v {
				walk(path+"[]", c)
			}
		}
	}
	walk("", sch)
	if n < 20 {
		t.Errorf("only %d enum values checked", n)
	}
}
