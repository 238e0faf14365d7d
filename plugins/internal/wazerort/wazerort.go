// Package wazerort implements wasmrt on wazero: one wazero.Runtime per
// plugin with WASI preview 1 and the conveyor host module, compilation
// through a process-wide on-disk cache, and mmap-backed linear memory.
package wazerort

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/fuel"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// Name is the runtime's name in plugins.Options.Runtime.
const Name = "wazero"

var (
	cachesMu sync.Mutex
	caches   = map[string]wazero.CompilationCache{}
)

// sharedCache returns one compilation cache per directory for the whole
// process, so plugins loading the same module share compiled code.
func sharedCache(dir string) (wazero.CompilationCache, error) {
	cachesMu.Lock()
	defer cachesMu.Unlock()
	if c, ok := caches[dir]; ok {
		return c, nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
	}
	caches[dir] = c
	return c, nil
}

type runtime struct {
	r   wazero.Runtime
	cfg wasmrt.Config
	// closeOnDone: the runtime was built WithCloseOnContextDone, the
	// fallback for modules the fuel instrumenter cannot rewrite.
	closeOnDone bool
}

// RefuelInterval is how many loop iterations (or calls of loop-free
// functions) a fuel-instrumented guest runs between two calls into the
// host, where the host checks the call's deadline and cancellation and Go
// may preempt the goroutine. See plugins/BENCHMARKS.md for the choice.
const RefuelInterval = 1 << 14

// MaxCallDepth bounds a guest's call depth on instrumented modules: wazero
// grows a Go-allocated native stack for guest frames up to ~50 MB before it
// traps, and an overflowing instance then peaked at ~300 MB of host memory.
// 50,000 frames of a C guest's recursion cost it a few MB (BENCHMARKS.md).
const MaxCallDepth = 50_000

// New returns a wazero runtime with WASI and the conveyor host module.
// Calls stop when their context is done (deadline or cancellation):
// modules are fuel-instrumented (package fuel) so that they call into the
// host every RefuelInterval loop iterations, where the host checks the
// context. A module the instrumenter cannot rewrite falls back to wazero's
// WithCloseOnContextDone when cfg.Interruptible is set.
func New(ctx context.Context, cfg wasmrt.Config) (wasmrt.Runtime, error) {
	return newRuntime(ctx, cfg, cfg.Interruptible && cfg.NoFuel)
}

func newRuntime(ctx context.Context, cfg wasmrt.Config, closeOnDone bool) (*runtime, error) {
	rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(closeOnDone)
	if cfg.MemoryPages > 0 {
		rc = rc.WithMemoryLimitPages(cfg.MemoryPages)
	}
	if cfg.CacheDir != "" {
		c, err := sharedCache(cfg.CacheDir)
		if err != nil {
			return nil, err
		}
		rc = rc.WithCompilationCache(c)
	}
	r := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	if cfg.Host != nil {
		if err := instantiateHost(ctx, r, cfg.Host); err != nil {
			r.Close(ctx)
			return nil, err
		}
	}
	if err := instantiateRefuel(ctx, r); err != nil {
		r.Close(ctx)
		return nil, err
	}
	return &runtime{r: r, cfg: cfg, closeOnDone: closeOnDone}, nil
}

func (rt *runtime) Compile(ctx context.Context, wasm []byte) (wasmrt.Module, error) {
	src := wasm
	if !rt.cfg.NoFuel {
		res, err := fuel.Instrument(wasm, RefuelInterval, MaxCallDepth)
		switch {
		case err == nil:
			wasm = res.Wasm
		case rt.cfg.Interruptible && !rt.closeOnDone:
			// Rebuild this plugin's runtime with wazero's own (slower)
			// interruption, so that the time limit still holds.
			nr, nerr := newRuntime(ctx, rt.cfg, true)
			if nerr != nil {
				return nil, nerr
			}
			rt.r.Close(ctx)
			rt.r, rt.closeOnDone = nr.r, true
		}
	}
	cm, err := rt.r.CompileModule(ctx, wasm)
	if err != nil {
		if len(src) != len(wasm) {
			// Report the user's module, not the instrumented one.
			if _, oerr := rt.r.CompileModule(ctx, src); oerr != nil {
				err = oerr
			}
		}
		return nil, fmt.Errorf("compile: %w", err)
	}
	return &module{rt: rt, cm: cm, fueled: len(src) != len(wasm)}, nil
}

// instantiateRefuel registers the function fuel-instrumented guests call:
// it ends the call when its context is done and otherwise grants the next
// RefuelInterval. Being a call into Go, it is also where the scheduler can
// preempt a goroutine that runs guest code.
func instantiateRefuel(ctx context.Context, r wazero.Runtime) error {
	_, err := r.NewHostModuleBuilder(fuel.ImportModule).
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(ctx context.Context, stack []uint64) {
		if err := ctx.Err(); err != nil {
			panic(exitFor(err))
		}
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
		}
		stack[0] = RefuelInterval
		goruntime.Gosched()
	}), nil, []api.ValueType{api.ValueTypeI32}).Export(fuel.ImportName).
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(context.Context, []uint64) {
		panic(fuel.ErrCallDepth)
	}), nil, nil).Export(fuel.OverflowName).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("instantiate host module %s: %w", fuel.ImportModule, err)
	}
	return nil
}

func exitFor(err error) *sys.ExitError {
	if errors.Is(err, context.DeadlineExceeded) {
		return sys.NewExitError(sys.ExitCodeDeadlineExceeded)
	}
	return sys.NewExitError(sys.ExitCodeContextCanceled)
}

func (rt *runtime) Close(ctx context.Context) error { return rt.r.Close(ctx) }

type module struct {
	rt     *runtime
	cm     wazero.CompiledModule
	fueled bool // instrumented: its fuel import is the host's, not the user's
}

func valueTypes(ts []api.ValueType) []string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = api.ValueTypeName(t)
	}
	return s
}

func (m *module) Imports() []wasmrt.Import {
	var out []wasmrt.Import
	for _, f := range m.cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod == fuel.ImportModule && m.fueled {
			continue // added by the instrumenter, not by the user
		}
		out = append(out, wasmrt.Import{Module: mod, Name: name, Kind: wasmrt.KindFunc,
			Signature: wasmrt.Signature(valueTypes(f.ParamTypes()), valueTypes(f.ResultTypes()))})
	}
	for _, mem := range m.cm.ImportedMemories() {
		mod, name, _ := mem.Import()
		out = append(out, wasmrt.Import{Module: mod, Name: name, Kind: wasmrt.KindMemory})
	}
	return out
}

func (m *module) Exports() []wasmrt.Export {
	var out []wasmrt.Export
	for name, f := range m.cm.ExportedFunctions() {
		out = append(out, wasmrt.Export{Name: name, Kind: wasmrt.KindFunc,
			Signature: wasmrt.Signature(valueTypes(f.ParamTypes()), valueTypes(f.ResultTypes()))})
	}
	for name, mem := range m.cm.ExportedMemories() {
		e := wasmrt.Export{Name: name, Kind: wasmrt.KindMemory, MinPages: mem.Min()}
		if max, ok := mem.Max(); ok {
			e.MaxPages = max
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (m *module) Instantiate(ctx context.Context, cfg wasmrt.InstanceConfig) (wasmrt.Instance, error) {
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // the host calls _initialize itself
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithStdout(orDiscard(cfg.Stdout)).
		WithStderr(orDiscard(cfg.Stderr))
	if cfg.Stdin != nil {
		mc = mc.WithStdin(cfg.Stdin)
	}
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mc = mc.WithEnv(k, cfg.Env[k])
	}
	if len(cfg.Dirs) > 0 {
		fsc := wazero.NewFSConfig()
		for guest, host := range cfg.Dirs {
			fsc = fsc.WithReadOnlyDirMount(host, guest)
		}
		mc = mc.WithFSConfig(fsc)
	}
	if !m.rt.cfg.HeapMemory {
		ctx = withMmapAllocator(ctx)
	}
	mod, err := m.rt.r.InstantiateModule(ctx, m.cm, mc)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", classify(err))
	}
	inst := &instance{mod: mod, mem: mod.ExportedMemory(abi.ExportMemory), funcs: map[string]*function{}}
	return inst, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

type instance struct {
	mod   api.Module
	mem   api.Memory
	funcs map[string]*function
}

func (i *instance) Func(name string) wasmrt.Func {
	if f, ok := i.funcs[name]; ok {
		if f == nil {
			return nil
		}
		return f
	}
	fn := i.mod.ExportedFunction(name)
	if fn == nil {
		i.funcs[name] = nil
		return nil
	}
	f := &function{fn: fn}
	i.funcs[name] = f
	return f
}

func (i *instance) Memory() []byte {
	if i.mem == nil {
		return nil
	}
	b, _ := i.mem.Read(0, i.mem.Size())
	return b
}

func (i *instance) Close(ctx context.Context) error { return i.mod.Close(ctx) }

type function struct{ fn api.Function }

func (f *function) Call(ctx context.Context, stack []uint64) error {
	if err := f.fn.CallWithStack(ctx, stack); err != nil {
		return classify(err)
	}
	return nil
}

// classify turns a wazero call error into a *wasmrt.CallError.
func classify(err error) error {
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			return &wasmrt.CallError{Outcome: wasmrt.Interrupted, Err: err}
		}
		return &wasmrt.CallError{Outcome: wasmrt.Exit, ExitCode: ee.ExitCode(), Err: err}
	}
	if errors.Is(err, fuel.ErrCallDepth) || strings.Contains(err.Error(), "wasm error: stack overflow") {
		return &wasmrt.CallError{Outcome: wasmrt.StackOverflow, Err: err}
	}
	return &wasmrt.CallError{Outcome: wasmrt.Trap, Err: err}
}

// withMmapAllocator backs linear memory with an anonymous mapping where the
// platform has one (see plugins/RATIONALE.md).
func withMmapAllocator(ctx context.Context) context.Context {
	if a := mmapAllocator(); a != nil {
		return experimental.WithMemoryAllocator(ctx, a)
	}
	return ctx
}
