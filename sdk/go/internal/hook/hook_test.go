//go:build !wasip1

package hook_test

import (
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/internal/hook"
)

type clockHost struct{ now int64 }

func (clockHost) Log(int32, string)            {}
func (clockHost) Config(string) (string, bool) { return "", false }
func (h clockHost) Now() int64                 { return h.now }
func (clockHost) MetricAdd(string, int64)      {}

// TestHook_Wiring_SetByConveyor checks that importing package conveyor on a
// native build installs both hooks and that they reach the SDK.
func TestHook_Wiring_SetByConveyor(t *testing.T) {
	if hook.SetHost == nil || hook.NewGuest == nil {
		t.Fatal("package conveyor did not install the hooks")
	}
	hook.SetHost(clockHost{now: 42})
	defer hook.SetHost(nil)
	if got := conveyor.Now().UnixNano(); got != 42 {
		t.Fatalf("conveyor.Now() through the hook host = %d, want 42", got)
	}

	conveyor.RegisterTransform(func(r conveyor.Record, out conveyor.Emitter) error { return nil })
	defer conveyor.RegisterTransform(nil)
	g := hook.NewGuest()
	if err := g.Init(abi.AppendConfig(nil, nil)); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	frame, err := g.Process(abi.AppendInputBatch(nil, []abi.Record{{}}))
	if err != nil {
		t.Fatal(err)
	}
	if outs, err := abi.DecodeOutputBatch(frame, 1, nil); err != nil || len(outs) != 0 {
		t.Fatalf("dropping transform produced %+v, %v; want no outputs", outs, err)
	}
}
