package plugins

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// Inspect says what a module is and whether Load would accept it (with no
// grants), without calling conveyor_init. When the imports are acceptable it
// instantiates the module and asks conveyor_abi_version (after _initialize);
// guest output is discarded. An error means the bytes are not a module the
// runtime can compile.
func Inspect(ctx context.Context, wasm []byte) (Info, error) {
	rt, err := newRuntime(ctx, DefaultRuntime, wasmrt.Config{
		CacheDir:      cacheDir("", DefaultRuntime),
		MemoryPages:   DefaultMemoryPages,
		Interruptible: true,
		Host:          newHost(slog.New(slog.NewTextHandler(io.Discard, nil)), nil),
	})
	if err != nil {
		return Info{}, fmt.Errorf("inspect: %w", err)
	}
	defer rt.Close(context.WithoutCancel(ctx))
	mod, err := rt.Compile(ctx, wasm)
	if err != nil {
		return Info{}, fmt.Errorf("inspect: %w", err)
	}
	info := describe(mod, Grants{})
	info.Runtime, info.Size = DefaultRuntime, len(wasm)
	for _, imp := range info.Imports {
		if !imp.Allowed {
			return info, nil // never run a module with forbidden imports
		}
	}
	hasVersion := false
	for _, e := range info.Exports {
		hasVersion = hasVersion || (e.Name == abi.ExportVersion && e.Signature == requiredExports[abi.ExportVersion])
	}
	if !hasVersion {
		return info, nil
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultBatchTimeout)
	defer cancel()
	inst, err := mod.Instantiate(ctx, wasmrt.InstanceConfig{})
	if err != nil {
		info.Problems = append(info.Problems, "instantiate: "+firstLine(err.Error()))
		info.Loadable = false
		return info, nil
	}
	defer inst.Close(context.WithoutCancel(ctx))
	stack := make([]uint64, 1)
	if f := inst.Func(abi.ExportInitialize); f != nil {
		if err := f.Call(ctx, stack); err != nil {
			info.Problems = append(info.Problems, "_initialize: "+firstLine(err.Error()))
			info.Loadable = false
			return info, nil
		}
	}
	if err := inst.Func(abi.ExportVersion).Call(ctx, stack); err != nil {
		info.Problems = append(info.Problems, abi.ExportVersion+": "+firstLine(err.Error()))
		info.Loadable = false
		return info, nil
	}
	info.setVersion(uint32(stack[0]))
	return info, nil
}
