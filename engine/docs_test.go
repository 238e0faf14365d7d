package engine

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"go.yaml.in/yaml/v3"
)

func TestWriteDocs_CoversEveryKey(t *testing.T) {
	var b strings.Builder
	WriteDocs(&b)
	doc := b.String()
	for _, want := range []string{"## stages[]", "`service_name`", "## source `file`", "`key_field`", "## sink `file`", "`max_memory_pages`", "| `batch_size` | int | `1024` |"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs missing %q", want)
		}
	}
}

// docConfigs are every section of the reference: the engine's and each
// connector's, by title (not the connectors tests register, "test-...").
func docConfigs() map[string]any {
	out := map[string]any{}
	for _, s := range docSections() {
		out[s.title] = s.cfg
	}
	for _, k := range []connectors.Kind{connectors.KindSource, connectors.KindSink, connectors.KindLookup} {
		for _, typ := range connectors.Types(k) {
			if strings.HasPrefix(typ, "test-") {
				continue
			}
			spec, _ := connectors.Lookup(k, typ)
			out[k.String()+" "+typ] = spec.NewConfig()
		}
	}
	return out
}

// Every key in the reference has an example, and the example is a value
// the key accepts: it decodes into the key's field without an error, and
// an enumerated key's example is one of its values.
func TestWriteDocs_EveryKeyHasAValidExample(t *testing.T) {
	t.Parallel()
	n := 0
	for title, cfg := range docConfigs() {
		for _, f := range docFields(cfg) {
			n++
			if f.Example == "" {
				t.Errorf("%s: %s has no example tag", title, f.Name)
				continue
			}
			if f.Enum != nil && !slices.Contains(f.Enum, f.Example) {
				t.Errorf("%s: %s: example %q is not one of %v", title, f.Name, f.Example, f.Enum)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(f.Name+": "+f.Example), &doc); err != nil {
				t.Errorf("%s: %s: example %q is not YAML: %v", title, f.Name, f.Example, err)
				continue
			}
			d := &decode.Decoder{File: "example.yaml"}
			d.Decode(&doc, reflect.New(reflect.Indirect(reflect.ValueOf(cfg)).Type()).Interface())
			for _, err := range d.Errs {
				if !strings.Contains(err.Error(), "missing required key") {
					t.Errorf("%s: %s: example %q does not decode: %v", title, f.Name, f.Example, err)
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d keys checked", n)
	}
}

// The reference shows an enumerated key's values as its type, and the
// stage types with their keys.
func TestWriteDocs_EnumsAndStageTypes(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	WriteDocs(&b)
	doc := b.String()
	for _, want := range []string{
		"| `unmatched` | one of `drop`, `dead_letter`, `error` | `dead_letter` |",
		"| `runtime` | one of `wazero`, `wasmtime` | `wazero` |",
		"| `codec` | one of `json_lines`, `lines` | `json_lines` |",
		"| `sink_retries` | int | `3` |",
		"| `lookup` | enriches each record",
		"| `sink` | writes records to a sink service; records end as delivered once the sink has flushed them | `service_name` | a sink service (",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs missing %q", want)
		}
	}
	for _, typ := range stageTypeNames() {
		if !strings.Contains(doc, "\n| `"+typ+"` | ") {
			t.Errorf("stage type %s not in the stage types table", typ)
		}
	}
}
