// Package plugins runs WebAssembly plugins that speak the conveyor ABI (see
// abi/ABI.md): transforms (Process, ProcessBatch) and, since ABI 1.1,
// lookups (Lookup). A Plugin compiles its module once, keeps a pool of
// instances, sends records in batches and isolates faults: a trapping,
// hanging, memory-hungry or garbage-returning guest loses only the batch in
// flight, and only after a retry on a fresh instance failed too.
//
// The runtime underneath (wazero today) stays behind this API; no runtime
// types appear in it.
package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmbin"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmtimert"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wazerort"
)

// Defaults applied by Load to zero-valued Options fields.
const (
	// DefaultMemoryPages caps a plugin instance at 256 MiB. It is the one
	// default for pipelines and `conveyor-wasm plugin run` alike (ABI.md
	// section 8): callers pass 0 to get it.
	DefaultMemoryPages = 4096
	// DefaultBatchTimeout bounds one batch (and one instance start).
	DefaultBatchTimeout = 10 * time.Second
	// DefaultRuntime is the WebAssembly runtime used when none is named.
	DefaultRuntime = wazerort.Name
)

// Limits bound what one plugin may consume. Zero values select defaults.
type Limits struct {
	// MemoryPages caps each instance's linear memory in 64 KiB pages
	// (default DefaultMemoryPages).
	MemoryPages uint32
	// BatchTimeout bounds the time of one batch (and of one instance
	// start). Zero selects DefaultBatchTimeout; a negative value disables
	// the limit. Either way a call stops when its context is cancelled (see
	// RATIONALE.md, "Why fuel instrumentation").
	BatchTimeout time.Duration
	// MaxBatchesPerInstance recycles an instance after that many batches
	// (0: never).
	MaxBatchesPerInstance int
	// MemoryHighWater recycles an instance whose linear memory has grown
	// past that many bytes after a batch (0: never). Guest memories only
	// grow, so this is how a plugin gives memory back.
	MemoryHighWater uint64
}

// Grants are capabilities a pipeline gives a plugin. The zero value grants
// nothing: no environment variables, no files, no stdin, no network.
type Grants struct {
	// Env is the guest's environment.
	Env map[string]string
	// Dirs maps guest paths to host directories, mounted read-only.
	Dirs map[string]string
	// Stdin connects the guest's stdin to the host process's stdin.
	Stdin bool
}

// Options configure Load.
type Options struct {
	// Name identifies the plugin in logs, errors and stats; default: the
	// base name of Path.
	Name string
	// Path is the .wasm file to load, unless Wasm is set.
	Path string
	// Wasm is the module's bytes, an alternative to Path.
	Wasm []byte
	// Runtime names the WebAssembly runtime: "" or "wazero" (the default),
	// or "wasmtime" (in binaries built with cgo and -tags wasmtime; see
	// Runtimes).
	Runtime string
	// Config is passed to the guest's conveyor_init and served by
	// config_get_v1.
	Config map[string]string
	Limits Limits
	Grants Grants
	// Instances is the size of the instance pool, the number of batches
	// that run at once (default runtime.GOMAXPROCS(0)).
	Instances int
	// CacheDir holds compiled code between runs; default
	// os.UserCacheDir()/conveyor-wasm/<runtime>; "off" disables it.
	CacheDir string
	// Logger receives guest logs, stdout and stderr (default slog.Default()).
	// Load adds the attribute plugin=<Name> to it: do not add it yourself,
	// or JSON logs carry the key twice.
	Logger *slog.Logger
}

// Stats are a plugin's counters since Load.
type Stats struct {
	// Batches counts successful Process calls that reached the guest.
	Batches uint64
	// RecordsIn counts input records of successful batches.
	RecordsIn uint64
	// RecordsOut, RecordErrors and RecordDrops count output entries by kind.
	RecordsOut, RecordErrors, RecordDrops uint64
	// FailedBatches counts batches returned as *BatchError.
	FailedBatches uint64
	// Faults counts failed attempts by kind, including those a retry
	// recovered.
	Faults map[Fault]uint64
	// InstancesCreated counts instantiations; InstancesRecycled counts
	// instances retired by Limits (faulted ones are not recycled but
	// discarded, and appear in Faults).
	InstancesCreated, InstancesRecycled uint64
	// Metrics are the guest's counters from metric_add_v1, by name, summed
	// over all instances. A run summary reports them per plugin.
	Metrics map[string]int64
	// Lookups counts successful Lookup batches, LookupKeys their keys and
	// LookupHits the keys that were found.
	Lookups, LookupKeys, LookupHits uint64
	// LogLinesSuppressed counts guest log lines (log_v1, stdout, stderr)
	// dropped by the rate limit (ABI.md section 4).
	LogLinesSuppressed uint64
}

// Plugin is a loaded plugin. Its methods are safe for concurrent use.
type Plugin struct {
	name      string
	limits    Limits
	grants    Grants
	logger    *slog.Logger
	host      *host
	rt        wasmrt.Runtime
	mod       wasmrt.Module
	info      Info
	caps      Capabilities
	cfgFrame  []byte
	pool      *pool
	closeOnce sync.Once
	closeErr  error

	batches, recordsIn, recordsOut, recordErrors, recordDrops atomic.Uint64
	failed, created, recycled                                 atomic.Uint64
	faults                                                    [numFaults]atomic.Uint64
	lookups, lookupKeys, lookupHits                           atomic.Uint64
}

// runtimes maps Options.Runtime to a constructor.
var runtimes = map[string]func(context.Context, wasmrt.Config) (wasmrt.Runtime, error){
	wazerort.Name:   wazerort.New,
	wasmtimert.Name: wasmtimert.New,
}

func newRuntime(ctx context.Context, name string, cfg wasmrt.Config) (wasmrt.Runtime, error) {
	if name == "" {
		name = DefaultRuntime
	}
	newRT, ok := runtimes[name]
	if !ok {
		return nil, fmt.Errorf("unknown runtime %q (available: %s)", name, strings.Join(Runtimes(), ", "))
	}
	return newRT(ctx, cfg)
}

// cacheDir resolves Options.CacheDir for runtime rt. Compiled code is
// native code the runtime trusts, so the cache must be private: the default
// directory is created with mode 0700, and a directory that others can
// write to (or that another user owns) is not used.
func cacheDir(dir, rt string) string {
	switch dir {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		if rt == "" {
			rt = DefaultRuntime
		}
		dir = filepath.Join(base, "conveyor-wasm", rt)
	}
	if !privateDir(dir) {
		return ""
	}
	return dir
}

// Load compiles the module, checks its imports and exports, starts one
// instance (running _initialize, checking conveyor_abi_version and calling
// conveyor_init with o.Config) and returns the plugin. A module that imports
// anything not allowed, reports another ABI major or fails init is refused
// with an error that says why.
func Load(ctx context.Context, o Options) (*Plugin, error) {
	return load(ctx, o, nil)
}

// load is Load with a hook to adjust the runtime configuration (tests and
// benchmarks compare runtime settings with it).
func load(ctx context.Context, o Options, tweak func(*wasmrt.Config)) (*Plugin, error) {
	wasm := o.Wasm
	if wasm == nil {
		if o.Path == "" {
			return nil, errors.New("load plugin: neither Path nor Wasm is set")
		}
		b, err := os.ReadFile(o.Path)
		if err != nil {
			return nil, fmt.Errorf("load plugin: %w", err)
		}
		wasm = b
	}
	if what := wasmbin.What(wasm); what != "" {
		src := o.Path
		if src == "" {
			src = "the module"
		}
		return nil, fmt.Errorf("load plugin: %s is %s, not a WebAssembly module", src, what)
	}
	name := o.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(o.Path), ".wasm")
		if o.Path == "" {
			name = "plugin"
		}
	}
	limits := o.Limits
	if limits.MemoryPages == 0 {
		limits.MemoryPages = DefaultMemoryPages
	}
	if limits.BatchTimeout == 0 {
		limits.BatchTimeout = DefaultBatchTimeout
	}
	n := o.Instances
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("plugin", name)
	p := &Plugin{
		name:     name,
		limits:   limits,
		grants:   o.Grants,
		logger:   logger,
		host:     newHost(logger, maps.Clone(o.Config)),
		cfgFrame: abi.AppendConfig(nil, o.Config),
		pool:     newPool(n),
	}
	rtName := o.Runtime
	if rtName == "" {
		rtName = DefaultRuntime
	}
	rtc := wasmrt.Config{
		CacheDir:      cacheDir(o.CacheDir, rtName),
		MemoryPages:   limits.MemoryPages,
		Interruptible: limits.BatchTimeout > 0,
		Host:          p.host,
	}
	if tweak != nil {
		tweak(&rtc)
	}
	rt, err := newRuntime(ctx, rtName, rtc)
	if err != nil {
		return nil, fmt.Errorf("load plugin %s: %w", name, err)
	}
	p.rt = rt
	if mem, err := wasmbin.DefinedMemory(wasm); err == nil && mem.Min > limits.MemoryPages {
		rt.Close(ctx)
		return nil, fmt.Errorf("load plugin %s: the module's memory starts at %s, over the memory limit of %s; raise the plugin's memory limit",
			name, pagesText(mem.Min), pagesText(limits.MemoryPages))
	}
	mod, err := rt.Compile(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("load plugin %s: %w", name, err)
	}
	p.mod = mod
	p.info = describe(mod, o.Grants)
	p.info.Name, p.info.Runtime, p.info.Size = name, rtName, len(wasm)
	if !p.info.Loadable {
		rt.Close(ctx)
		return nil, fmt.Errorf("load plugin %s: refused: %s", name, strings.Join(p.info.Problems, "; "))
	}
	inst, err := p.newInstance(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("load plugin %s: %w", name, err)
	}
	p.caps = inst.caps
	p.info.Transform, p.info.Lookup = inst.caps.Transform, inst.caps.Lookup
	p.info.setVersion(inst.version)
	p.pool.put(inst)
	return p, nil
}

// Info describes the loaded module.
func (p *Plugin) Info() Info {
	info := p.info
	info.Imports = slices.Clone(info.Imports)
	info.Exports = slices.Clone(info.Exports)
	info.Problems = slices.Clone(info.Problems)
	return info
}

// Stats returns a snapshot of the plugin's counters.
func (p *Plugin) Stats() Stats {
	s := Stats{
		Batches:           p.batches.Load(),
		RecordsIn:         p.recordsIn.Load(),
		RecordsOut:        p.recordsOut.Load(),
		RecordErrors:      p.recordErrors.Load(),
		RecordDrops:       p.recordDrops.Load(),
		FailedBatches:     p.failed.Load(),
		InstancesCreated:  p.created.Load(),
		InstancesRecycled: p.recycled.Load(),
		Faults:            map[Fault]uint64{},
		Metrics:           p.host.Metrics(),
		Lookups:           p.lookups.Load(),
		LookupKeys:        p.lookupKeys.Load(),
		LookupHits:        p.lookupHits.Load(),

		LogLinesSuppressed: p.host.limit.suppressed.Load(),
	}
	for f := Fault(1); f < numFaults; f++ {
		if n := p.faults[f].Load(); n > 0 {
			s.Faults[f] = n
		}
	}
	return s
}

// Process sends the records in to the guest as one batch and appends the
// outputs to out. Outputs reference a buffer owned by the caller from then
// on; they stay valid after Process returns.
//
// A per-record failure is an Output of kind abi.KindError. When the batch
// as a whole fails twice (on the pooled instance and on a fresh one),
// Process returns a *BatchError and out unchanged. Process blocks while all
// instances are busy.
func (p *Plugin) Process(ctx context.Context, in []abi.Record, out []abi.Output) ([]abi.Output, error) {
	out, _, _, err := p.run(ctx, in, out, nil, nil)
	return out, err
}

// Batch holds the outputs of ProcessBatch and the memory they point into.
// The zero value is ready to use. Each ProcessBatch call reuses that memory,
// so the Outputs of the previous call (their keys, payloads and metadata)
// become invalid: copy what must outlive the next call. A Batch is not safe
// for concurrent use; keep one per goroutine.
type Batch struct {
	// Outputs are the outputs of the last ProcessBatch call.
	Outputs []abi.Output
	frame   []byte
	kvs     []abi.KV
}

// ProcessBatch is Process for callers that convert outputs right away and
// recycle memory: it replaces b.Outputs and reuses b's buffers, saving the
// allocation of the output frame (the dominant host cost of a batch, see
// BENCHMARKS.md). Faults are handled as in Process; on error b.Outputs is
// empty.
func (p *Plugin) ProcessBatch(ctx context.Context, in []abi.Record, b *Batch) error {
	var err error
	b.Outputs, b.frame, b.kvs, err = p.run(ctx, in, b.Outputs[:0], b.frame, b.kvs)
	return err
}

// run implements Process and ProcessBatch.
func (p *Plugin) run(ctx context.Context, in []abi.Record, out []abi.Output, frame []byte, kvs []abi.KV) ([]abi.Output, []byte, []abi.KV, error) {
	if !p.caps.Transform {
		return out, frame, kvs, fmt.Errorf("plugin %s: %w", p.name, ErrNotTransform)
	}
	if len(in) == 0 {
		return out, frame, kvs, nil
	}
	res := out
	err := p.attempt(ctx, func(inst *instance) *fault {
		var f *fault
		res, frame, kvs, f = inst.process(ctx, in, out, frame, kvs)
		return f
	}, func() { p.count(in, res[len(out):]) })
	if err != nil {
		return out, frame, kvs, err
	}
	return res, frame, kvs, nil
}

// attempt runs call on a pooled instance and, when it faults, once more on
// a fresh one (RATIONALE.md). After a successful call it runs ok, then
// recycles the instance if Limits say so. It returns a *BatchError when
// both attempts fault, or the context's error.
func (p *Plugin) attempt(ctx context.Context, call func(*instance) *fault, ok func()) error {
	inst, err := p.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", p.name, err)
	}
	var last *fault
	for try := 0; try < 2; try++ {
		if inst == nil {
			if inst, err = p.newInstance(ctx); err != nil {
				inst = nil
				if ctx.Err() != nil {
					break
				}
				last = &fault{kind: FaultInit, msg: err.Error(), err: err}
				p.faults[FaultInit].Add(1)
				continue
			}
		}
		f := call(inst)
		if f == nil {
			ok()
			inst.batches++
			if p.shouldRecycle(inst) {
				p.recycled.Add(1)
				p.discardClean(ctx, inst)
				inst = nil
			}
			p.pool.release(inst)
			return nil
		}
		p.discard(inst)
		inst = nil
		if ctx.Err() != nil {
			break
		}
		p.faults[f.kind].Add(1)
		last = f
		if try == 0 {
			p.logger.Warn("plugin batch failed, retrying on a fresh instance",
				"fault", f.kind.String(), "error", f.msg)
		}
	}
	p.pool.release(inst)
	if last == nil || ctx.Err() != nil {
		return fmt.Errorf("plugin %s: %w", p.name, context.Cause(ctx))
	}
	p.failed.Add(1)
	return &BatchError{Plugin: p.name, Kind: last.kind, Message: last.msg, Err: last.err}
}

func (p *Plugin) count(in []abi.Record, outs []abi.Output) {
	p.batches.Add(1)
	p.recordsIn.Add(uint64(len(in)))
	var recs, errs, drops uint64
	for i := range outs {
		switch outs[i].Kind {
		case abi.KindRecord:
			recs++
		case abi.KindError:
			errs++
		case abi.KindDrop:
			drops++
		}
	}
	p.recordsOut.Add(recs)
	p.recordErrors.Add(errs)
	p.recordDrops.Add(drops)
}

func (p *Plugin) shouldRecycle(inst *instance) bool {
	if m := p.limits.MaxBatchesPerInstance; m > 0 && inst.batches >= m {
		return true
	}
	if hw := p.limits.MemoryHighWater; hw > 0 && uint64(len(inst.rt.Memory())) > hw {
		return true
	}
	return false
}

// Close waits for running batches, closes every instance (calling
// conveyor_close where exported) and releases the runtime. Process fails
// after Close. If ctx ends first, Close releases the runtime anyway.
func (p *Plugin) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		idle, err := p.pool.drain(ctx)
		if err != nil {
			p.closeErr = fmt.Errorf("close plugin %s: %w", p.name, err)
		}
		for _, inst := range idle {
			p.discardClean(ctx, inst)
		}
		if err := p.rt.Close(context.WithoutCancel(ctx)); err != nil && p.closeErr == nil {
			p.closeErr = fmt.Errorf("close plugin %s: %w", p.name, err)
		}
	})
	return p.closeErr
}

// Runtimes names the WebAssembly runtimes compiled into this binary, the
// default first.
func Runtimes() []string {
	names := []string{DefaultRuntime}
	for name := range runtimes {
		if name != DefaultRuntime && (name != wasmtimert.Name || wasmtimert.Available) {
			names = append(names, name)
		}
	}
	slices.Sort(names[1:])
	return names
}

// KnownRuntimes names every runtime Options.Runtime accepts, the default
// first, whether or not it is compiled into this binary (Runtimes): what a
// pipeline file may name, so that a typo is reported when it is validated.
func KnownRuntimes() []string {
	names := []string{DefaultRuntime}
	for name := range runtimes {
		if name != DefaultRuntime {
			names = append(names, name)
		}
	}
	slices.Sort(names[1:])
	return names
}
