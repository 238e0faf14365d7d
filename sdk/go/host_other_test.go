//go:build !wasip1

package conveyor

import (
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/internal/hook"
)

func TestStderrHost_Defaults(t *testing.T) {
	var h stderrHost
	if _, ok := h.Config("anything"); ok {
		t.Error("default host has configuration")
	}
	if d := time.Since(time.Unix(0, h.Now())); d < 0 || d > time.Hour {
		t.Errorf("default host clock is %v off the local clock", d)
	}
	h.MetricAdd("x", 1) // discarded; must not panic
}

func TestHook_SetHost_NilRestoresDefault(t *testing.T) {
	saved := host
	t.Cleanup(func() { host = saved })
	f := &fakeHost{now: 5}
	hook.SetHost(f)
	if got := hostNow(); got != 5 {
		t.Fatalf("hostNow with fake host = %d, want 5", got)
	}
	hook.SetHost(nil)
	if _, ok := host.(stderrHost); !ok {
		t.Fatalf("after SetHost(nil) host is %T, want stderrHost", host)
	}
}

func TestHook_NewGuest_UsesRegisteredHooks(t *testing.T) {
	saveRegistered(t)
	closed := false
	RegisterTransform(func(r Record, out Emitter) error { out.Emit(r); return nil })
	OnClose(func() { closed = true })
	g := hook.NewGuest()
	batch := abi.AppendInputBatch(nil, []abi.Record{{Key: []byte("k")}})
	if _, err := g.Process(batch); err == nil {
		t.Fatal("Process before Init succeeded")
	}
	if err := g.Init(abi.AppendConfig(nil, nil)); err != nil {
		t.Fatal(err)
	}
	frame, err := g.Process(batch)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := abi.DecodeOutputBatch(frame, 1, nil)
	if err != nil || len(outs) != 1 || string(outs[0].Record.Key) != "k" {
		t.Fatalf("outputs = %+v, %v; want the registered identity transform's output", outs, err)
	}
	g.Close()
	if !closed {
		t.Fatal("Close did not run the OnClose hook")
	}
}
