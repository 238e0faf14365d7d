package conformance

import (
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

// TestConformance runs the suite over every runtime compiled into this
// binary and every SDK's guest.
func TestConformance(t *testing.T) {
	for _, rt := range plugins.Runtimes() {
		t.Run(rt, func(t *testing.T) {
			t.Run("runtime", func(t *testing.T) { RunRuntime(t, rt) })
			for _, g := range Guests {
				t.Run(g.Name, func(t *testing.T) {
					Run(t, Target{Runtime: rt, Guest: g.Name, Wasm: BuildOrSkip(t, g)})
				})
			}
		})
	}
}
