//go:build cgo && wasmtime

package wasmtimert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// Available reports whether wasmtime is compiled into this binary.
const Available = true

// maxWasmStack bounds the guest's call stack (wasmtime's default).
const maxWasmStack = 512 << 10

// engines are the live engines the ticker bumps.
var (
	enginesMu sync.Mutex
	engines   = map[*runtime]struct{}{}
	tickOnce  sync.Once
)

func startTicker() {
	go func() {
		t := time.NewTicker(Tick)
		for range t.C {
			enginesMu.Lock()
			for rt := range engines {
				rt.engine.IncrementEpoch()
			}
			enginesMu.Unlock()
		}
	}()
}

type runtime struct {
	cfg    wasmrt.Config
	engine *wasmtime.Engine
	linker *wasmtime.Linker
	epoch  bool // epoch interruption is compiled in
}

// noDeadline is the epoch deadline of a call without a time limit, in
// ticks (2^21 x 5 ms, ~2.9 hours, after which such a call is interrupted):
// cancelling a call bumps the epoch past its deadline, ~0.2-0.5 s of
// IncrementEpoch calls for this one.
const noDeadline = 1 << 21

// New returns a wasmtime runtime: one engine per plugin with epoch
// interruption, WASI preview 1 and the conveyor host functions.
func New(ctx context.Context, cfg wasmrt.Config) (wasmrt.Runtime, error) {
	wc := wasmtime.NewConfig()
	// Always on, except for the benchmarks' "no-limit" baseline (NoFuel
	// without Interruptible), which measures what interruption costs.
	epoch := cfg.Interruptible || !cfg.NoFuel
	wc.SetEpochInterruption(epoch)
	wc.SetMaxWasmStack(maxWasmStack)
	engine := wasmtime.NewEngineWithConfig(wc)
	rt := &runtime{cfg: cfg, engine: engine, linker: wasmtime.NewLinker(engine), epoch: epoch}
	if err := rt.linker.DefineWasi(); err != nil {
		return nil, fmt.Errorf("define wasi: %w", err)
	}
	if cfg.Host != nil {
		if err := defineHost(rt.linker, cfg.Host); err != nil {
			return nil, err
		}
	}
	tickOnce.Do(startTicker)
	enginesMu.Lock()
	engines[rt] = struct{}{}
	enginesMu.Unlock()
	return rt, nil
}

func (rt *runtime) Close(context.Context) error {
	enginesMu.Lock()
	delete(engines, rt)
	enginesMu.Unlock()
	return nil
}

// Compile compiles wasm, or loads it from the cache: a directory private to
// the user (mode 0700, owned by the current user), keyed by the wasmtime
// version, the engine settings and the module's hash. Serialized modules
// are native code that wasmtime trusts, so a cache anyone else can write to
// is not used.
func (rt *runtime) Compile(ctx context.Context, wasm []byte) (wasmrt.Module, error) {
	var cached string
	if dir := rt.cfg.CacheDir; dir != "" && privateDir(dir) {
		h := sha256.New()
		fmt.Fprintf(h, "wasmtime-go %s epoch=%v stack=%d\n", Version, rt.epoch, maxWasmStack)
		h.Write(wasm)
		cached = filepath.Join(dir, hex.EncodeToString(h.Sum(nil))[:32]+".cwasm")
		if m, err := wasmtime.NewModuleDeserializeFile(rt.engine, cached); err == nil {
			return &module{rt: rt, m: m}, nil
		}
	}
	m, err := wasmtime.NewModule(rt.engine, wasm)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	if cached != "" {
		if b, err := m.Serialize(); err == nil {
			tmp, err := os.CreateTemp(filepath.Dir(cached), "tmp-*.cwasm")
			if err == nil {
				_, werr := tmp.Write(b)
				tmp.Close()
				if werr != nil || os.Rename(tmp.Name(), cached) != nil {
					os.Remove(tmp.Name())
				}
			}
		}
	}
	return &module{rt: rt, m: m}, nil
}

// privateDir creates dir (0700) if needed and reports whether only the
// current user can write to it.
func privateDir(dir string) bool {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm()&0o022 != 0 {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return false
	}
	return true
}

type module struct {
	rt *runtime
	m  *wasmtime.Module
}

func typeNames(vs []*wasmtime.ValType) []string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.Kind().String()
	}
	return s
}

func kindOf(t *wasmtime.ExternType) (wasmrt.Kind, string) {
	switch {
	case t.FuncType() != nil:
		ft := t.FuncType()
		return wasmrt.KindFunc, wasmrt.Signature(typeNames(ft.Params()), typeNames(ft.Results()))
	case t.MemoryType() != nil:
		return wasmrt.KindMemory, ""
	case t.TableType() != nil:
		return wasmrt.KindTable, ""
	}
	return wasmrt.KindGlobal, ""
}

func (m *module) Imports() []wasmrt.Import {
	var out []wasmrt.Import
	for _, it := range m.m.Imports() {
		name := ""
		if n := it.Name(); n != nil {
			name = *n
		}
		k, sig := kindOf(it.Type())
		out = append(out, wasmrt.Import{Module: it.Module(), Name: name, Kind: k, Signature: sig})
	}
	return out
}

func (m *module) Exports() []wasmrt.Export {
	var out []wasmrt.Export
	for _, et := range m.m.Exports() {
		k, sig := kindOf(et.Type())
		e := wasmrt.Export{Name: et.Name(), Kind: k, Signature: sig}
		if mt := et.Type().MemoryType(); mt != nil {
			e.MinPages = uint32(mt.Minimum())
			if ok, max := mt.Maximum(); ok {
				e.MaxPages = uint32(max)
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// instance is one store with one instance. Guest stdout and stderr go to
// two unlinked temporary files, copied to the configured writers after
// every call (wasmtime's WASI writes only to files).
type instance struct {
	rt     *runtime
	store  *wasmtime.Store
	inst   *wasmtime.Instance
	mem    *wasmtime.Memory
	funcs  map[string]*function
	outs   [2]*os.File
	writes [2]io.Writer
	offs   [2]int64
	// ticks is the epoch deadline of the running call, for cancellation.
	ticks atomic.Uint64
}

func (m *module) Instantiate(ctx context.Context, cfg wasmrt.InstanceConfig) (wasmrt.Instance, error) {
	store := wasmtime.NewStore(m.rt.engine)
	limit := int64(-1)
	if m.rt.cfg.MemoryPages > 0 {
		limit = int64(m.rt.cfg.MemoryPages) * 65536
	}
	store.Limiter(limit, -1, -1, -1, -1)
	in := &instance{rt: m.rt, store: store, funcs: map[string]*function{}, writes: [2]io.Writer{cfg.Stdout, cfg.Stderr}}
	wc := wasmtime.NewWasiConfig()
	for i := range in.outs {
		f, err := os.CreateTemp("", "conveyor-wasm-guest-*")
		if err != nil {
			in.Close(ctx)
			return nil, fmt.Errorf("instantiate: %w", err)
		}
		in.outs[i] = f
		if i == 0 {
			err = wc.SetStdoutFile(f.Name())
		} else {
			err = wc.SetStderrFile(f.Name())
		}
		if err != nil {
			in.Close(ctx)
			return nil, fmt.Errorf("instantiate: %w", err)
		}
	}
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = cfg.Env[k]
	}
	wc.SetEnv(keys, vals)
	if cfg.Stdin != nil {
		wc.InheritStdin()
	}
	for guest, host := range cfg.Dirs {
		if err := wc.PreopenDir(host, guest, wasmtime.DIR_READ, wasmtime.FILE_READ); err != nil {
			in.Close(ctx)
			return nil, fmt.Errorf("instantiate: preopen %s: %w", host, err)
		}
	}
	store.SetWasi(wc)
	for _, f := range in.outs {
		os.Remove(f.Name()) // wasmtime holds its own descriptors now
	}
	in.setDeadline(ctx)
	inst, err := m.rt.linker.Instantiate(store, m.m)
	if err != nil {
		in.Close(ctx)
		return nil, fmt.Errorf("instantiate: %w", classify(err, in, ctx))
	}
	in.inst = inst
	if e := inst.GetExport(store, abi.ExportMemory); e != nil {
		in.mem = e.Memory()
	}
	return in, nil
}

// setDeadline sets the store's epoch deadline from ctx: the ticks until its
// deadline, plus one; "never" (in practice) without one.
func (in *instance) setDeadline(ctx context.Context) {
	if !in.rt.epoch {
		return
	}
	ticks := uint64(noDeadline)
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		ticks = 1
		if left > 0 {
			ticks = uint64(left/Tick) + 1
		}
	}
	in.ticks.Store(ticks)
	in.store.SetEpochDeadline(ticks)
}

func (in *instance) Func(name string) wasmrt.Func {
	if f, ok := in.funcs[name]; ok {
		if f == nil {
			return nil
		}
		return f
	}
	var f *function
	if fn := in.inst.GetFunc(in.store, name); fn != nil {
		f = &function{in: in, fn: fn}
		for _, p := range fn.Type(in.store).Params() {
			f.i64 = append(f.i64, p.Kind() == wasmtime.KindI64)
		}
	}
	in.funcs[name] = f
	if f == nil {
		return nil
	}
	return f
}

func (in *instance) Memory() []byte {
	if in.mem == nil {
		return nil
	}
	return in.mem.UnsafeData(in.store)
}

func (in *instance) Close(context.Context) error {
	in.pump()
	for _, f := range in.outs {
		if f != nil {
			f.Close()
		}
	}
	if in.store != nil {
		in.store.Close()
	}
	return nil
}

// pump copies what the guest wrote to stdout and stderr since the last
// call to the writers.
func (in *instance) pump() {
	for i, f := range in.outs {
		if f == nil || in.writes[i] == nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || fi.Size() <= in.offs[i] {
			continue
		}
		n, _ := io.Copy(in.writes[i], io.NewSectionReader(f, in.offs[i], fi.Size()-in.offs[i]))
		in.offs[i] += n
	}
}

type function struct {
	in  *instance
	fn  *wasmtime.Func
	i64 []bool // per parameter: i64, else i32
}

// Call calls the function with the parameters in stack (i32 or i64 by the
// function's type) and leaves the result in stack[0]. A deadline is the
// store's epoch deadline; cancellation (not a deadline) of ctx bumps the
// engine's epoch past this call's deadline, so running calls of this
// plugin's other instances stop too (and are retried), which only happens
// when the engine shuts a run down.
func (f *function) Call(ctx context.Context, stack []uint64) error {
	in := f.in
	in.setDeadline(ctx)
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return // the store's epoch deadline ends the call by itself
		}
		for range in.ticks.Load() + 1 {
			in.rt.engine.IncrementEpoch()
		}
	})
	defer stop()
	args := make([]any, len(f.i64))
	for i, wide := range f.i64 {
		if wide {
			args[i] = int64(stack[i])
		} else {
			args[i] = int32(stack[i])
		}
	}
	res, err := f.fn.Call(in.store, args...)
	in.pump()
	if err != nil {
		return classify(err, in, ctx)
	}
	switch v := res.(type) {
	case int32:
		stack[0] = uint64(uint32(v))
	case int64:
		stack[0] = uint64(v)
	}
	return nil
}

// classify turns a wasmtime error into a *wasmrt.CallError.
func classify(err error, in *instance, ctx context.Context) error {
	var werr *wasmtime.Error
	if errors.As(err, &werr) {
		if code, ok := werr.ExitStatus(); ok {
			return &wasmrt.CallError{Outcome: wasmrt.Exit, ExitCode: uint32(code), Err: err}
		}
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		if c := trap.Code(); c != nil {
			switch *c {
			case wasmtime.Interrupt:
				return &wasmrt.CallError{Outcome: wasmrt.Interrupted, Err: err}
			case wasmtime.StackOverflow:
				return &wasmrt.CallError{Outcome: wasmrt.StackOverflow, Err: err}
			}
		}
	}
	if ctx.Err() != nil {
		return &wasmrt.CallError{Outcome: wasmrt.Interrupted, Err: err}
	}
	return &wasmrt.CallError{Outcome: wasmrt.Trap, Err: err}
}
