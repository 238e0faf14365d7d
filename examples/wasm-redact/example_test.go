// Package wasmredact_test runs the wasm-redact example end to end.
package wasmredact_test

import (
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/examples/exampletest"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

func TestExample_WasmRedact(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../plugins/pii-redactor")
	dir := exampletest.Copy(t, ".", "../../bin/plugins/pii-redactor.wasm", wasm)
	sum := exampletest.Run(t, dir, engine.RunOptions{PluginCacheDir: t.TempDir()})
	if sum.In != 120 || sum.Delivered != 118 || sum.DeadLettered != 2 || !sum.Balanced() {
		t.Fatalf("summary: %s", sum)
	}
	// The guest's own counter (metric_add_v1) reaches the run summary.
	if len(sum.Plugins) != 1 || sum.Plugins[0].Name != "redactor" || sum.Plugins[0].Metrics["fields_redacted"] < 118 {
		t.Fatalf("plugin stats %+v", sum.Plugins)
	}
	read := func(name string) []string { return exampletest.Lines(t, dir, name) }
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
