//go:build cgo && wasmtime

package wasmtimert

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// spin is (wat2wasm) (module (memory (export "memory") 1 2)
// (func (export "spin") (loop (br 0)))
// (func (export "grow") (result i32) (memory.grow (i32.const 1)))
// (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_u (local.get 0)) (local.get 1))))
var spin = []byte("\x00\x61\x73\x6d\x01\x00\x00\x00\x01\x0e\x03\x60\x00\x00\x60\x00\x01\x7f\x60\x02\x7f\x7e\x01\x7e\x03\x04\x03\x00\x01\x02\x05\x04\x01\x01\x01\x02\x07\x1e\x04\x06\x6d\x65\x6d\x6f\x72\x79\x02\x00\x04\x73\x70\x69\x6e\x00\x00\x04\x67\x72\x6f\x77\x00\x01\x03\x61\x64\x64\x00\x02\x0a\x19\x03\x07\x00\x03\x40\x0c\x00\x0b\x0b\x06\x00\x41\x01\x40\x00\x0b\x08\x00\x20\x00\xad\x20\x01\x7c\x0b")

func instantiate(t *testing.T, cfg wasmrt.Config) wasmrt.Instance {
	t.Helper()
	ctx := context.Background()
	rt, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	m, err := rt.Compile(ctx, spin)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := m.Instantiate(ctx, wasmrt.InstanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close(ctx) })
	return inst
}

func TestFunc_Call_ParamsAndResult(t *testing.T) {
	inst := instantiate(t, wasmrt.Config{})
	stack := []uint64{0xffffffff, 1}
	if err := inst.Func("add").Call(context.Background(), stack); err != nil || stack[0] != 0x100000000 {
		t.Fatalf("add = %#x, %v", stack[0], err)
	}
	if inst.Func("missing") != nil || len(inst.Memory()) != 65536 {
		t.Fatal("exports wrong")
	}
}

func TestFunc_Call_DeadlineInterrupts(t *testing.T) {
	inst := instantiate(t, wasmrt.Config{Interruptible: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := inst.Func("spin").Call(ctx, make([]uint64, 1))
	if wasmrt.OutcomeOf(err) != wasmrt.Interrupted {
		t.Fatalf("err = %v, want Interrupted", err)
	}
}

func TestFunc_Call_CancelInterruptsWithoutDeadline(t *testing.T) {
	inst := instantiate(t, wasmrt.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := inst.Func("spin").Call(ctx, make([]uint64, 1)); wasmrt.OutcomeOf(err) != wasmrt.Interrupted {
		t.Fatalf("err = %v, want Interrupted", err)
	}
}

func TestInstance_MemoryLimit(t *testing.T) {
	inst := instantiate(t, wasmrt.Config{MemoryPages: 1})
	stack := make([]uint64, 1)
	if err := inst.Func("grow").Call(context.Background(), stack); err != nil || int32(stack[0]) != -1 {
		t.Fatalf("grow past the limit = %d, %v; want -1", int32(stack[0]), err)
	}
}

func TestRuntime_Compile_PrivateCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	ctx := context.Background()
	for range 2 {
		rt, err := New(ctx, wasmrt.Config{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.Compile(ctx, spin); err != nil {
			t.Fatal(err)
		}
		rt.Close(ctx)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".cwasm") {
		t.Fatalf("cache holds %v", entries)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir mode %v, want 0700", fi.Mode().Perm())
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if privateDir(dir) {
		t.Fatal("a world-writable cache dir is used")
	}
}
