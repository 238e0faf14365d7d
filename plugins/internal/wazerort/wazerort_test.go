package wazerort

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

var testCache = filepath.Join(os.TempDir(), "conveyor-wasm-test-cache")

// fakeHost records host function calls.
type fakeHost struct {
	mu      sync.Mutex
	logs    []string
	metrics map[string]int64
	config  map[string]string
}

func (h *fakeHost) Log(_ context.Context, level int32, msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, string(msg))
}

func (h *fakeHost) ConfigGet(key []byte) (string, bool) {
	v, ok := h.config[string(key)]
	return v, ok
}

func (h *fakeHost) Now() int64 { return 1234 }

func (h *fakeHost) MetricAdd(name []byte, delta int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.metrics[string(name)] += delta
}

func newTestRuntime(t *testing.T, cfg wasmrt.Config) wasmrt.Runtime {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = testCache
	}
	rt, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func compileGuest(t *testing.T, rt wasmrt.Runtime, name string) wasmrt.Module {
	t.Helper()
	wasm, err := os.ReadFile(plugintest.BuildGo(t, filepath.Join("..", "..", "testdata", "guests", name)))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

// start instantiates mod, runs _initialize and conveyor_init with cfg.
func start(t *testing.T, mod wasmrt.Module, cfg map[string]string) (wasmrt.Instance, []uint64) {
	t.Helper()
	ctx := context.Background()
	inst, err := mod.Instantiate(ctx, wasmrt.InstanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close(ctx) })
	stack := make([]uint64, 2)
	if err := inst.Func(abi.ExportInitialize).Call(ctx, stack); err != nil {
		t.Fatal(err)
	}
	frame := abi.AppendConfig(nil, cfg)
	ptr := call(t, inst, stack, abi.ExportAlloc, uint64(len(frame)))
	copy(inst.Memory()[ptr:], frame)
	if r := call(t, inst, stack, abi.ExportInit, ptr, uint64(len(frame))); r != 0 {
		t.Fatalf("init returned %#x", r)
	}
	return inst, stack
}

func call(t *testing.T, inst wasmrt.Instance, stack []uint64, fn string, args ...uint64) uint64 {
	t.Helper()
	copy(stack, args)
	if err := inst.Func(fn).Call(context.Background(), stack); err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	return stack[0]
}

// process sends payloads as a batch; it returns the call error.
func process(ctx context.Context, t *testing.T, inst wasmrt.Instance, stack []uint64, payloads ...string) ([]abi.Output, error) {
	t.Helper()
	recs := make([]abi.Record, len(payloads))
	for i, p := range payloads {
		recs[i].Payload = []byte(p)
	}
	frame := abi.AppendInputBatch(nil, recs)
	ptr := call(t, inst, stack, abi.ExportAlloc, uint64(len(frame)))
	copy(inst.Memory()[ptr:], frame)
	stack[0], stack[1] = ptr, uint64(len(frame))
	if err := inst.Func(abi.ExportProcess).Call(ctx, stack); err != nil {
		return nil, err
	}
	optr, olen := abi.UnpackPtrLen(stack[0])
	return abi.DecodeOutputBatch(append([]byte(nil), inst.Memory()[optr:optr+olen]...), len(recs), nil)
}

func TestModule_ImportsExports_Noop(t *testing.T) {
	mod := compileGuest(t, newTestRuntime(t, wasmrt.Config{}), "noop")
	exports := map[string]wasmrt.Export{}
	for _, e := range mod.Exports() {
		exports[e.Name] = e
	}
	if e := exports["conveyor_process"]; e.Kind != wasmrt.KindFunc || e.Signature != "(i32,i32)->i64" {
		t.Errorf("conveyor_process = %+v", e)
	}
	if e := exports["_initialize"]; e.Signature != "()->()" {
		t.Errorf("_initialize = %+v", e)
	}
	if e := exports["memory"]; e.Kind != wasmrt.KindMemory || e.MinPages == 0 {
		t.Errorf("memory = %+v", e)
	}
	found := false
	for _, imp := range mod.Imports() {
		if imp.Module == "wasi_snapshot_preview1" && imp.Name == "fd_write" {
			found = imp.Signature == "(i32,i32,i32,i32)->i32"
		}
	}
	if !found {
		t.Errorf("fd_write import not listed: %+v", mod.Imports())
	}
}

func TestInstance_Call_Noop(t *testing.T) {
	mod := compileGuest(t, newTestRuntime(t, wasmrt.Config{}), "noop")
	inst, stack := start(t, mod, nil)
	if inst.Func("no_such_export") != nil {
		t.Fatal("Func returned a missing export")
	}
	out, err := process(context.Background(), t, inst, stack, "a", "b")
	if err != nil || len(out) != 2 || string(out[1].Record.Payload) != "b" {
		t.Fatalf("process = %+v, %v", out, err)
	}
}

func TestInstance_Call_Outcomes(t *testing.T) {
	tests := []struct {
		guest, payload string
		cfg            wasmrt.Config
		timeout        time.Duration
		want           wasmrt.Outcome
	}{
		{"trap", "panic", wasmrt.Config{}, 0, wasmrt.Trap},
		{"loop", "loop", wasmrt.Config{Interruptible: true}, 100 * time.Millisecond, wasmrt.Interrupted},
	}
	for _, tt := range tests {
		t.Run(tt.guest, func(t *testing.T) {
			mod := compileGuest(t, newTestRuntime(t, tt.cfg), tt.guest)
			inst, stack := start(t, mod, nil)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := process(ctx, t, inst, stack, tt.payload)
			var ce *wasmrt.CallError
			if !errors.As(err, &ce) || ce.Outcome != tt.want {
				t.Fatalf("err = %v, want outcome %d", err, tt.want)
			}
		})
	}
}

func TestInstance_Memory_LimitPages(t *testing.T) {
	mod := compileGuest(t, newTestRuntime(t, wasmrt.Config{MemoryPages: 64}), "membomb")
	inst, stack := start(t, mod, nil)
	_, err := process(context.Background(), t, inst, stack, "bomb")
	if err == nil {
		t.Fatal("memory bomb succeeded under a 4 MiB limit")
	}
	if n := len(inst.Memory()); n > 64*65536 {
		t.Fatalf("memory is %d bytes, over the limit", n)
	}
}

func TestClassify_Outcomes(t *testing.T) {
	tests := []struct {
		err  error
		want wasmrt.Outcome
		code uint32
	}{
		{errors.New("wasm error: unreachable"), wasmrt.Trap, 0},
		{sys.NewExitError(3), wasmrt.Exit, 3},
		{sys.NewExitError(sys.ExitCodeDeadlineExceeded), wasmrt.Interrupted, 0},
		{sys.NewExitError(sys.ExitCodeContextCanceled), wasmrt.Interrupted, 0},
	}
	for _, tt := range tests {
		var ce *wasmrt.CallError
		if !errors.As(classify(tt.err), &ce) || ce.Outcome != tt.want || ce.ExitCode != tt.code || !errors.Is(ce, tt.err) {
			t.Errorf("classify(%v) = %+v, want outcome %d code %d", tt.err, ce, tt.want, tt.code)
		}
	}
}

func TestNew_BadCacheDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := New(context.Background(), wasmrt.Config{CacheDir: filepath.Join(file, "sub")}); err == nil {
		t.Fatal("cache dir under a file accepted")
	}
}
