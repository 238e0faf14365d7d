package c_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// rawGuest drives a guest's exports directly, without the host's checks,
// so tests can hand it frames the host would never send.
type rawGuest struct {
	mod    api.Module
	stderr *bytes.Buffer
}

// rawRuntime compiles a guest once for many rawGuests.
type rawRuntime struct {
	r        wazero.Runtime
	compiled wazero.CompiledModule
}

func newRawRuntime(t *testing.T, wasm []byte) *rawRuntime {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	_, err := r.NewHostModuleBuilder("conveyor").
		NewFunctionBuilder().WithFunc(func(context.Context, int32, uint32, uint32) {}).Export("log_v1").
		NewFunctionBuilder().WithFunc(func(context.Context, uint32, uint32, uint32, uint32) int32 { return -1 }).Export("config_get_v1").
		NewFunctionBuilder().WithFunc(func(context.Context) int64 { return 0 }).Export("clock_now_v1").
		NewFunctionBuilder().WithFunc(func(context.Context, uint32, uint32, int64) {}).Export("metric_add_v1").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return &rawRuntime{r: r, compiled: compiled}
}

// guest instantiates a fresh instance: a trap leaves an instance unusable.
func (rr *rawRuntime) guest(t *testing.T) *rawGuest {
	t.Helper()
	ctx := context.Background()
	stderr := &bytes.Buffer{}
	mod, err := rr.r.InstantiateModule(ctx, rr.compiled, wazero.NewModuleConfig().WithName("").WithStderr(stderr).WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(ctx) })
	return &rawGuest{mod: mod, stderr: stderr}
}

// call writes frame into a conveyor_alloc buffer, calls export with it and
// returns the packed result's bytes (copied).
func (g *rawGuest) call(export string, frame []byte) ([]byte, uint64, error) {
	ctx := context.Background()
	res, err := g.mod.ExportedFunction("conveyor_alloc").Call(ctx, uint64(len(frame)))
	if err != nil {
		return nil, 0, err
	}
	if !g.mod.Memory().Write(uint32(res[0]), frame) {
		panic("conveyor_alloc returned a pointer outside memory")
	}
	res, err = g.mod.ExportedFunction(export).Call(ctx, res[0], uint64(len(frame)))
	if err != nil {
		return nil, 0, err
	}
	ptr, n := abi.UnpackPtrLen(res[0])
	out, ok := g.mod.Memory().Read(ptr, n)
	if !ok {
		panic("result outside memory")
	}
	return bytes.Clone(out), res[0], nil
}

// abiExample is ABI.md section 6.9's input batch: one record, key K,
// payload P, event time 258.
var abiExample = []byte{
	0x43, 0x56, 0x59, 0x42, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x4b,
	0x01, 0x00, 0x00, 0x00, 0x50,
	0x00, 0x00, 0x00, 0x00,
}

func patch(b []byte, off int, v ...byte) []byte {
	b = bytes.Clone(b)
	copy(b[off:], v)
	return b
}

// TestFrames_Strict drives the conformance guest's exports with frames
// byte for byte: the ABI example round-trips exactly, every malformed batch
// or lookup frame of ABI.md section 6.6 traps with the offset on stderr,
// and a malformed config frame fails conveyor_init with the offset in its
// message (as the Go SDK does).
func TestFrames_Strict(t *testing.T) {
	wasm, err := os.ReadFile(build(t, "conformance"))
	if err != nil {
		t.Fatal(err)
	}
	rr := newRawRuntime(t, wasm)
	emptyConfig := abi.AppendConfig(nil, nil)
	t.Run("abi_example_echo", func(t *testing.T) {
		g := rr.guest(t)
		if _, packed, err := g.call("conveyor_init", emptyConfig); err != nil || packed != 0 {
			t.Fatalf("init = %#x, %v", packed, err)
		}
		out, _, err := g.call("conveyor_process", abiExample)
		if err != nil {
			t.Fatalf("process: %v\n%s", err, g.stderr)
		}
		// Header with minor 1, kind 2, count 1; entry kind 0, input 0;
		// then the record's bytes exactly as they came in.
		want := append([]byte{0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, abiExample[16:]...)
		if !bytes.Equal(out, want) {
			t.Fatalf("output\n% x\nwant\n% x", out, want)
		}
	})
	t.Run("abi_example_lookup", func(t *testing.T) {
		g := rr.guest(t)
		g.call("conveyor_init", emptyConfig)
		req := []byte{0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 3, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 'h', 'i', 't', '-', 'x', 0, 0, 0, 0}
		out, _, err := g.call("conveyor_lookup", req)
		if err != nil {
			t.Fatalf("lookup: %v\n%s", err, g.stderr)
		}
		row := `{"key":"hit-x","n":5}`
		want := append([]byte{0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 4, 0, 0, 0, 2, 0, 0, 0, 1}, binary.LittleEndian.AppendUint32(nil, uint32(len(row)))...)
		want = append(append(want, row...), 0)
		if !bytes.Equal(out, want) {
			t.Fatalf("output\n% x\nwant\n% x", out, want)
		}
	})
	bad := []struct {
		name, export string
		frame        []byte
		want         string // on stderr, or in the init error
	}{
		{"short header", "conveyor_process", abiExample[:15], "offset 15"},
		{"bad magic", "conveyor_process", patch(abiExample, 0, 'X'), "offset 0"},
		{"major 2", "conveyor_process", patch(abiExample, 4, 2), "offset 4"},
		{"output kind", "conveyor_process", patch(abiExample, 8, 2), "offset 8"},
		{"header flags", "conveyor_process", patch(abiExample, 9, 1), "offset 9"},
		{"reserved", "conveyor_process", patch(abiExample, 11, 1), "offset 10"},
		{"count past end", "conveyor_process", patch(abiExample, 12, 2), "offset 12"},
		{"record flags", "conveyor_process", patch(abiExample, 16, 3), "offset 16"},
		{"event time without flag", "conveyor_process", patch(abiExample, 16, 0), "offset 17"},
		{"key past end", "conveyor_process", patch(abiExample, 25, 200), "offset 25"},
		{"truncated metadata count", "conveyor_process", abiExample[:len(abiExample)-1], "offset 35"},
		{"trailing byte", "conveyor_process", append(bytes.Clone(abiExample), 0), "offset 39"},
		{"lookup kind 1", "conveyor_lookup", patch(abiExample, 8, 1), "offset 8"},
		{"lookup key past end", "conveyor_lookup", []byte{0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 3, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 'a'}, "offset 16"},
		{"config unsorted", "conveyor_init", []byte{0x43, 0x56, 0x59, 0x43, 1, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 'b', 0, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 0, 0, 0}, "offset 21"},
		{"config trailing", "conveyor_init", append(bytes.Clone(emptyConfig), 0), "offset 12"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			g := rr.guest(t)
			if tt.export != "conveyor_init" {
				g.call("conveyor_init", emptyConfig)
			}
			out, packed, err := g.call(tt.export, tt.frame)
			if tt.export == "conveyor_init" {
				if err != nil || packed == 0 || !strings.Contains(string(out), tt.want) {
					t.Fatalf("init = %q (%#x), %v; want an init error containing %q", out, packed, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s accepted the frame and answered % x", tt.export, out)
			}
			if !strings.Contains(g.stderr.String(), tt.want) {
				t.Fatalf("stderr %q does not contain %q (err %v)", g.stderr, tt.want, err)
			}
		})
	}
}
