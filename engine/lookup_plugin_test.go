package engine

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// A `type: wasm` service whose plugin exports conveyor_lookup (ABI 1.1) is
// a lookup service: keys go to the plugin in batches, hits are stored at
// result_field, misses follow the miss strategy.
func TestLookupStage_WasmService(t *testing.T) {
	t.Parallel()
	wasm := plugintest.BuildGo(t, "../examples/plugins/user-tier")
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", `{"user":"u1","n":1}
{"user":"nobody","n":2}
{"user":"u3","n":3}
{"n":4}
`)
	sum, dl, err := runFile(t, dir, fmt.Sprintf(`id: wasm-lookup
settings: {batch_size: 2}
sources: [{name: in, type: file, path: in.jsonl}]
services:
  tiers: {type: wasm, path: %q}
  out: {type: file, path: out.jsonl}
stages:
  - id: enrich
    type: lookup
    lookup:
      lookup_service: tiers
      key_mappings: [{record_field: user, lookup_field: user_id}]
      result_field: account.tier
      miss_strategy: dead_letter
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: enrich}, {from: enrich, to: s}]
`, wasm))
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out.jsonl"))
	if len(lines) != 2 || sum.Delivered != 2 || sum.DeadLettered != 2 || !sum.Balanced() {
		t.Fatalf("summary %s, lines %v\n%s", sum, lines, dl)
	}
	var got struct {
		User    string
		Account struct {
			Tier struct{ Tier string }
		}
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil || got.User != "u1" || got.Account.Tier.Tier != "gold" {
		t.Fatalf("enriched %s (%v)", lines[0], err)
	}
	if !strings.Contains(dl, `no match in \"tiers\" for user_id=\"nobody\"`) || !strings.Contains(dl, `user_id=<missing>`) {
		t.Fatalf("dead letters:\n%s", dl)
	}
}

// A plugin without conveyor_lookup cannot be a lookup service; more than
// one key mapping is refused for wasm lookups.
func TestLookupStage_WasmService_Errors(t *testing.T) {
	t.Parallel()
	noop := plugintest.BuildGo(t, "../examples/plugins/noop")
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "{}\n")
	src := `id: w
sources: [{name: in, type: file, path: in.jsonl}]
services: {tiers: {type: wasm, path: %q}, out: {type: discard}}
stages:
  - {id: enrich, type: lookup, lookup: {lookup_service: tiers, key_mappings: [%s], result_field: r}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: enrich}, {from: enrich, to: s}]
`
	p, err := Load(writeFile(t, dir, "p.yaml", fmt.Sprintf(src, noop, "{record_field: a, lookup_field: a}")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRunner(p, RunOptions{}); err == nil || !strings.Contains(err.Error(), "exports no conveyor_lookup") {
		t.Fatalf("err = %v", err)
	}
	err = compileErr(t, fmt.Sprintf(src, noop, "{record_field: a, lookup_field: a}, {record_field: b, lookup_field: b}"))
	if err == nil || !strings.Contains(err.Error(), "a wasm lookup service is asked one key per record; key_mappings has 2 entries") {
		t.Fatalf("err = %v", err)
	}
}
