// Package wasmlookup_test runs the wasm-lookup example end to end.
package wasmlookup_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/examples/exampletest"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

func TestExample_WasmLookup(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../plugins/user-tier")
	dir := exampletest.Copy(t, ".", "../../bin/plugins/user-tier.wasm", wasm)
	sum := exampletest.Run(t, dir, engine.RunOptions{PluginCacheDir: t.TempDir()})
	if sum.In != 60 || sum.Delivered != 50 || sum.DeadLettered != 10 || !sum.Balanced() {
		t.Fatalf("summary: %s", sum)
	}
	archive := exampletest.Lines(t, dir, "orders.jsonl")
	gold := 0
	for _, l := range archive {
		var o struct {
			UserID   string `json:"user_id"`
			Customer struct{ Tier string }
		}
		if err := json.Unmarshal([]byte(l), &o); err != nil || o.Customer.Tier == "" {
			t.Fatalf("not enriched: %s (%v)", l, err)
		}
		if o.Customer.Tier == "gold" {
			gold++
		}
	}
	if got := len(exampletest.Lines(t, dir, "gold.jsonl")); got != gold || gold == 0 {
		t.Fatalf("gold.jsonl has %d lines, the archive %d gold customers", got, gold)
	}
	dead := strings.Join(exampletest.Lines(t, dir, "dead-letters.jsonl"), "\n")
	if strings.Count(dead, `no match in \"tiers\" for user_id=\"u9`) != 10 {
		t.Fatalf("dead letters:\n%s", dead)
	}
}
