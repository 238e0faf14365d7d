package engine

import (
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/internal/schematest"
)

// The schema enumerates the values of the connectors' enumerated keys
// (connectors.Enumerated) and of the wasm service's runtime, as Load
// checks them, so an editor flags the typos Load would.
func TestWriteJSONSchema_ConnectorAndRuntimeEnums(t *testing.T) {
	t.Parallel()
	s := compiledSchema(t)
	for name, tc := range map[string]struct{ old, new, want string }{
		"stdout format":     {"{type: discard}", "{type: stdout, format: xml}", "format"},
		"file sink sync":    {"{type: discard}", "{type: file, path: o.jsonl, sync: always}", "sync"},
		"file source codec": {"type: generate\n    count: 10", "type: file\n    path: in.jsonl\n    codec: csv", "codec"},
		"wasm runtime":      {"{type: discard}", "{type: discard}\n  plug: {type: wasm, path: x.wasm, runtime: wasmer}", "runtime"},
	} {
		src := strings.Replace(validPipeline, tc.old, tc.new, 1)
		if src == validPipeline {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if err := compileErr(t, src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load: err = %v, want one about %s", name, err, tc.want)
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
	for _, ok := range []string{"{type: stdout, format: envelope}", "{type: file, path: o.jsonl, sync: flush}"} {
		if err := s.Validate(schematest.YAML(t, []byte(strings.Replace(validPipeline, "{type: discard}", ok, 1)))); err != nil {
			t.Errorf("%s rejected: %v", ok, err)
		}
	}
}
