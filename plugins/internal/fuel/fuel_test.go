package fuel

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// testModule is
//
//	(import "env" "f" (func (param i32) (result i32)))       ;; func 0
//	(table 1 funcref) (elem (i32.const 0) 1)
//	(func $sum (param $n i32) (result i32) (local $acc i32)  ;; func 1
//	  (loop (local.set $acc (i32.add (local.get $acc) (local.get $n)))
//	        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
//	  (call 0 (local.get $acc)))
//	(func (export "run") (param i32) (result i32) (call $sum (local.get 0)))  ;; func 2
//	(func (export "leaf") (result i32) (i32.const 7))        ;; func 3
func testModule() []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	sec := func(id byte, body ...byte) {
		b = append(append(append(b, id), uleb(nil, uint64(len(body)))...), body...)
	}
	sec(1, 2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 0, 1, 0x7f)
	sec(2, append(append(append([]byte{1}, name("env")...), name("f")...), 0, 0)...)
	sec(3, 3, 0, 0, 1)
	sec(4, 1, 0x70, 0, 1)
	exports := []byte{2}
	exports = append(append(exports, name("run")...), 0, 2)
	exports = append(append(exports, name("leaf")...), 0, 3)
	sec(7, exports...)
	sec(9, 1, 0, 0x41, 0, 0x0b, 1, 1)
	sum := []byte{1, 1, 0x7f, 0x03, 0x40, 0x20, 1, 0x20, 0, 0x6a, 0x21, 1, 0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x20, 1, 0x10, 0, 0x0b}
	run := []byte{0, 0x20, 0, 0x10, 1, 0x0b}
	leaf := []byte{0, 0x41, 7, 0x0b}
	code := []byte{3}
	for _, f := range [][]byte{sum, run, leaf} {
		code = append(append(code, uleb(nil, uint64(len(f)))...), f...)
	}
	sec(10, code...)
	return b
}

func TestInstrument_RunsAndRefuels(t *testing.T) {
	res, err := Instrument(testModule(), 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loops != 1 || res.Entries != 2 {
		t.Fatalf("loops %d entries %d, want 1 loop check and 2 entry checks", res.Loops, res.Entries)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	refuels := 0
	if _, err := r.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithFunc(func(v int32) int32 { return v }).Export("f").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewHostModuleBuilder(ImportModule).NewFunctionBuilder().
		WithFunc(func() int32 { refuels++; return 1000 }).Export(ImportName).
		NewFunctionBuilder().WithFunc(func() { panic(ErrCallDepth) }).Export(OverflowName).Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := r.Instantiate(ctx, res.Wasm)
	if err != nil {
		t.Fatalf("instrumented module does not instantiate: %v", err)
	}
	out, err := mod.ExportedFunction("run").Call(ctx, api.EncodeI32(100000))
	if err != nil {
		t.Fatal(err)
	}
	var want int32
	for n := int32(100000); n > 0; n-- {
		want += n
	}
	if got := api.DecodeI32(out[0]); got != want {
		t.Fatalf("run(100000) = %d, want %d", got, want)
	}
	// 100000 loop iterations + 1 entry of the loop-free "run" = 100 refuels.
	if refuels != 100 {
		t.Fatalf("refuel called %d times, want 100", refuels)
	}
	if out, err := mod.ExportedFunction("leaf").Call(ctx); err != nil || api.DecodeI32(out[0]) != 7 {
		t.Fatalf("leaf = %v, %v", out, err)
	}
}

func TestInstrument_Rejects(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{"not wasm", []byte("hello"), "not a core WebAssembly module"},
		{"reserved import", append([]byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x02"),
			append(append(append([]byte{byte(len(ImportModule) + len(ImportName) + 5), 1}, name(ImportModule)...), name(ImportName)...), 0, 0)...), "reserved module"},
		{"unknown opcode", []byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x05\x01\x03\x00\xff\x0b"), "unsupported opcode 0xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Instrument(tt.wasm, 10, 0); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// recursive is (func $down (param i32) (result i32) (if (result i32) (local.get 0)
// (then (i32.add (call $down (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
// (else (i32.const 0)))) exported as "down", and "early" which returns from
// inside a block: (func (param i32) (result i32) (block (br_if 0 (local.get 0))
// (return (i32.const 5))) (i32.const 9)).
func recursive() []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	sec := func(id byte, body ...byte) {
		b = append(append(append(b, id), uleb(nil, uint64(len(body)))...), body...)
	}
	sec(1, 1, 0x60, 1, 0x7f, 1, 0x7f)
	sec(3, 2, 0, 0)
	exports := []byte{2}
	exports = append(append(exports, name("down")...), 0, 0)
	exports = append(append(exports, name("early")...), 0, 1)
	sec(7, exports...)
	down := []byte{0, 0x20, 0, 0x04, 0x7f, 0x20, 0, 0x41, 1, 0x6b, 0x10, 0, 0x41, 1, 0x6a, 0x05, 0x41, 0, 0x0b, 0x0b}
	early := []byte{0, 0x02, 0x40, 0x20, 0, 0x0d, 0, 0x41, 5, 0x0f, 0x0b, 0x41, 9, 0x0b}
	code := []byte{2}
	for _, f := range [][]byte{down, early} {
		code = append(append(code, uleb(nil, uint64(len(f)))...), f...)
	}
	sec(10, code...)
	return b
}

func TestInstrument_BoundsCallDepth(t *testing.T) {
	res, err := Instrument(recursive(), 1000, 100)
	if err != nil || !res.DepthBounded {
		t.Fatalf("%+v, %v", res, err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	if _, err := r.NewHostModuleBuilder(ImportModule).NewFunctionBuilder().
		WithFunc(func() int32 { return 1000 }).Export(ImportName).
		NewFunctionBuilder().WithFunc(func() { panic(ErrCallDepth) }).Export(OverflowName).Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := r.Instantiate(ctx, res.Wasm)
	if err != nil {
		t.Fatalf("instrumented module does not instantiate: %v", err)
	}
	down, early := mod.ExportedFunction("down"), mod.ExportedFunction("early")
	// Depth 99 fits, and repeatedly: every return counts the frame out.
	for range 3 {
		out, err := down.Call(ctx, api.EncodeI32(98))
		if err != nil || api.DecodeI32(out[0]) != 98 {
			t.Fatalf("down(98) = %v, %v", out, err)
		}
		for _, arg := range []int32{0, 1} { // return from inside a block, and branch out of it
			if _, err := early.Call(ctx, api.EncodeI32(arg)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := down.Call(ctx, api.EncodeI32(150)); !errors.Is(err, ErrCallDepth) {
		t.Fatalf("down(150): err = %v, want ErrCallDepth", err)
	}
}
