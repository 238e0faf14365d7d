package plugins

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmbin"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// InspectOptions configure InspectWith. The zero value inspects with an
// empty config on the default runtime.
type InspectOptions struct {
	// Name is the plugin's name in Info.Name; default "plugin".
	Name string
	// Runtime names the WebAssembly runtime (Options.Runtime).
	Runtime string
	// Config is passed to conveyor_init.
	Config map[string]string
	// MemoryPages is the memory limit to check against (default
	// DefaultMemoryPages).
	MemoryPages uint32
}

// Inspect is InspectWith with the zero InspectOptions.
func Inspect(ctx context.Context, wasm []byte) (Info, error) {
	return InspectWith(ctx, wasm, InspectOptions{})
}

// InspectWith says what a module is and whether Load would accept it with
// o.Config (and no grants). When the imports and exports are acceptable it
// runs the whole start sequence (_initialize, conveyor_abi_version,
// conveyor_init with o.Config) on one instance and reports the result in
// Info.Init; guest output is discarded. An error means the bytes are not a
// module the runtime can compile; the message says what they look like.
func InspectWith(ctx context.Context, wasm []byte, o InspectOptions) (Info, error) {
	if what := wasmbin.What(wasm); what != "" {
		return Info{}, fmt.Errorf("inspect: %s, not a WebAssembly module", what)
	}
	name := o.Name
	if name == "" {
		name = "plugin"
	}
	rtName := o.Runtime
	if rtName == "" {
		rtName = DefaultRuntime
	}
	pages := o.MemoryPages
	if pages == 0 {
		pages = DefaultMemoryPages
	}
	rt, err := newRuntime(ctx, rtName, wasmrt.Config{
		CacheDir:      cacheDir("", rtName),
		MemoryPages:   max(pages, 1<<16-1),
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
	info.Name, info.Runtime, info.Size = name, rtName, len(wasm)
	if mem, err := wasmbin.DefinedMemory(wasm); err == nil && mem.Min > pages {
		info.Problems = append(info.Problems, fmt.Sprintf("the module's memory starts at %s, over the memory limit of %s",
			pagesText(mem.Min), pagesText(pages)))
		info.Loadable = false
	}
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
	if !info.Loadable {
		return info, nil
	}
	// The start sequence with the config, exactly as Load runs it.
	p, err := Load(ctx, Options{Name: name, Wasm: wasm, Runtime: rtName, Config: o.Config, Instances: 1,
		Limits: Limits{MemoryPages: pages}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "init failed: "); i >= 0 {
			msg = msg[i+len("init failed: "):]
		}
		info.Init = "failed: " + msg
		info.Problems = append(info.Problems, "init: "+msg)
		info.Loadable = false
		return info, nil
	}
	info.Transform, info.Lookup = p.caps.Transform, p.caps.Lookup
	info.setVersion(info.ABIVersion)
	p.Close(context.WithoutCancel(ctx))
	info.Init = "ok"
	return info, nil
}
