package engine

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

func TestTransform_Splitter_AcksEveryOutput(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../examples/plugins/splitter")
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", `{"order":"o1","items":[{"n":1},{"n":2},{"n":3}]}
{"order":"o2","items":[]}
{"order":"o3"}
`)
	sum, dl, err := runFile(t, dir, `id: split
sources: [{name: in, type: file, path: in.jsonl, key_field: order}]
services:
  split: {type: wasm, path: `+wasm+`, config: {field: items}}
  out: {type: file, path: out.jsonl, format: envelope}
stages:
  - {id: split, type: transform, service_name: split}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: split}, {from: split, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	out := readEnvelopes(t, filepath.Join(dir, "out.jsonl"))
	if len(out) != 3 || sum.In != 3 || sum.Delivered != 1 || sum.Dropped != 1 || sum.DeadLettered != 1 || !sum.Balanced() {
		t.Fatalf("summary %s, %d written", sum, len(out))
	}
	for i, e := range out {
		if e.Key != "o1-"+string(rune('0'+i)) || e.Metadata["split.index"] != string(rune('0'+i)) || e.Metadata["split.count"] != "3" {
			t.Fatalf("output %d: %+v", i, e)
		}
	}
	if !strings.Contains(dl, `plugin \"split\"`) || !strings.Contains(dl, `"stage":"split"`) || !strings.Contains(dl, "o3") {
		t.Fatalf("dead letter: %s", dl)
	}
}

func TestTransform_Trap_FailsOnlyItsBatch(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../plugins/testdata/guests/trap")
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "a\npanic\nb\nc\n")
	sum, dl, err := runFile(t, dir, `id: trap
settings: {batch_size: 2}
sources: [{name: in, type: file, path: in.txt, codec: lines}]
services:
  trap: {type: wasm, path: `+wasm+`, batch_timeout: 5s}
  out: {type: file, path: out.txt}
stages:
  - {id: t, type: transform, service_name: trap}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: t}, {from: t, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out.txt"))
	if strings.Join(lines, ",") != "b,c" || sum.Delivered != 2 || sum.DeadLettered != 2 || !sum.Balanced() {
		t.Fatalf("summary %s, out %v", sum, lines)
	}
	if strings.Count(dl, "\n") != 2 || !strings.Contains(dl, "trap") || !strings.Contains(dl, `"stage":"t"`) {
		t.Fatalf("dead letters should name the plugin and the trap:\n%s", dl)
	}
}
