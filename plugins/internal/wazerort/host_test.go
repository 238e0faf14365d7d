package wazerort

import (
	"context"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

func TestInstance_Call_HostFunctions(t *testing.T) {
	h := &fakeHost{metrics: map[string]int64{}, config: map[string]string{"prefix": "p-"}}
	mod := compileGuest(t, newTestRuntime(t, wasmrt.Config{Host: h}), "hostcalls")
	inst, stack := start(t, mod, h.config)
	out, err := process(context.Background(), t, inst, stack, "x")
	if err != nil {
		t.Fatal(err)
	}
	if string(out[0].Record.Payload) != "p-x" || out[0].Record.EventTime != 1234 {
		t.Fatalf("output = %+v", out[0].Record)
	}
	if h.metrics["records"] != 1 || len(h.logs) != 2 || h.logs[0] != "prefix is p-" || h.logs[1] != "batch done" {
		t.Fatalf("metrics %v logs %q", h.metrics, h.logs)
	}
}
