package exampletest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine"
)

func TestCopyRunLines(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "data"), 0o755)
	os.MkdirAll(filepath.Join(src, "out"), 0o755)
	os.WriteFile(filepath.Join(src, "out", "stale.jsonl"), []byte("old\n"), 0o644)
	os.WriteFile(filepath.Join(src, "data", "in.jsonl"), []byte("{\"n\":1}\n{\"n\":2}\n"), 0o644)
	os.WriteFile(filepath.Join(src, "pipeline.yaml"), []byte(`id: x
sources: [{name: in, type: file, path: data/in.jsonl}]
services: {out: {type: file, path: out/OUT.jsonl}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`), 0o644)
	dir := Copy(t, src, "OUT", "copied")
	if _, err := os.Stat(filepath.Join(dir, "out", "stale.jsonl")); !os.IsNotExist(err) {
		t.Fatal("out/ must not be copied")
	}
	sum := Run(t, dir, engine.RunOptions{})
	if sum.Delivered != 2 || !sum.Balanced() {
		t.Fatalf("summary %s", sum)
	}
	if got := strings.Join(Lines(t, dir, "copied.jsonl"), ","); got != `{"n":1},{"n":2}` {
		t.Fatalf("lines: %s", got)
	}
}
