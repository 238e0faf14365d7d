package wazerort

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// guestBytes returns guest memory [ptr, ptr+n) or panics, which wazero turns
// into a trap of the calling guest.
func guestBytes(mod api.Module, fn string, ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("%s: range [%d, %d) is outside guest memory of %d bytes",
			fn, ptr, uint64(ptr)+uint64(n), mod.Memory().Size()))
	}
	return b
}

// instantiateHost registers the conveyor host module on r. Functions use
// the stack-based GoModuleFunc form: no reflection per call.
func instantiateHost(ctx context.Context, r wazero.Runtime, h wasmrt.Host) error {
	b := r.NewHostModuleBuilder(abi.ImportModule)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		msg := guestBytes(mod, abi.FuncLog, api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
		h.Log(ctx, api.DecodeI32(stack[0]), msg)
	}), []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").Export(abi.FuncLog)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		key := guestBytes(mod, abi.FuncConfigGet, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
		v, ok := h.ConfigGet(key)
		if !ok {
			stack[0] = api.EncodeI32(-1)
			return
		}
		outPtr, outCap := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
		if uint64(len(v)) <= uint64(outCap) && len(v) > 0 {
			copy(guestBytes(mod, abi.FuncConfigGet, outPtr, uint32(len(v))), v)
		}
		stack[0] = api.EncodeI32(int32(len(v)))
	}), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("key_ptr", "key_len", "out_ptr", "out_cap").Export(abi.FuncConfigGet)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		stack[0] = api.EncodeI64(h.Now())
	}), nil, []api.ValueType{i64}).Export(abi.FuncClockNow)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		name := guestBytes(mod, abi.FuncMetricAdd, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
		h.MetricAdd(name, int64(stack[2]))
	}), []api.ValueType{i32, i32, i64}, nil).
		WithParameterNames("name_ptr", "name_len", "delta").Export(abi.FuncMetricAdd)
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate host module %s: %w", abi.ImportModule, err)
	}
	return nil
}
