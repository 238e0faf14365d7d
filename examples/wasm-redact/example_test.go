// Package wasmredact_test runs the wasm-redact example end to end.
package wasmredact_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

func TestExample_WasmRedact(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../plugins/pii-redactor")
	dir := t.TempDir()
	src, err := os.ReadFile("pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.Replace(src, []byte("../../bin/plugins/pii-redactor.wasm"), []byte(wasm), 1)
	data, err := os.ReadFile("data/customers.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data/customers.jsonl"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "pipeline.yaml"), src, 0o644)

	p, err := engine.Load(filepath.Join(dir, "pipeline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := engine.NewRunner(p, engine.RunOptions{PluginCacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.In != 120 || sum.Delivered != 118 || sum.DeadLettered != 2 || !sum.Balanced() {
		t.Fatalf("summary: %s", sum)
	}
	read := func(name string) []string {
		b, err := os.ReadFile(filepath.Join(dir, "out", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	archive := read("redacted.jsonl")
	if len(archive) != 118 {
		t.Fatalf("archive has %d lines", len(archive))
	}
	for _, l := range archive {
		if strings.Contains(l, "@example.com") || strings.Contains(l, "+64") || strings.Contains(l, "Queen St") {
			t.Fatalf("PII left in %s", l)
		}
		if !strings.Contains(l, `"email":"[REDACTED]"`) || !strings.Contains(l, `"city":`) {
			t.Fatalf("unexpected redaction: %s", l)
		}
	}
	for _, l := range read("pro.jsonl") {
		if !strings.Contains(l, `"plan":"pro"`) {
			t.Fatalf("non-pro record in pro.jsonl: %s", l)
		}
	}
	dead := strings.Join(read("dead-letters.jsonl"), "\n")
	if !strings.Contains(dead, `"stage":"route"`) || !strings.Contains(dead, `customers.jsonl:100`) {
		t.Fatalf("dead letters:\n%s", dead)
	}
}
