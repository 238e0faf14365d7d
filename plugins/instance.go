package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// instance is one guest instance with its exports resolved. It is used by
// one goroutine at a time (it lives in the pool between batches).
type instance struct {
	p                  *Plugin
	rt                 wasmrt.Instance
	alloc, proc, close wasmrt.Func
	lookup             wasmrt.Func // nil unless exported (ABI 1.1)
	stack              []uint64
	stdout, stderr     *lineWriter
	version            uint32
	caps               Capabilities // what the guest says it implements
	batches            int
}

// fault describes a failed batch attempt.
type fault struct {
	kind Fault
	msg  string
	err  error
}

// withTimeout bounds a call by Limits.BatchTimeout.
func (p *Plugin) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.limits.BatchTimeout > 0 {
		return context.WithTimeout(ctx, p.limits.BatchTimeout)
	}
	return ctx, func() {}
}

// newInstance instantiates the module and runs the start sequence:
// _initialize, conveyor_abi_version, conveyor_alloc + conveyor_init.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	inst := &instance{
		p:      p,
		stack:  make([]uint64, 2),
		stdout: newLineWriter(p.logger, p.host.limit, "stdout", slog.LevelInfo),
		stderr: newLineWriter(p.logger, p.host.limit, "stderr", slog.LevelWarn),
	}
	cfg := wasmrt.InstanceConfig{Stdout: inst.stdout, Stderr: inst.stderr, Env: p.grants.Env, Dirs: p.grants.Dirs}
	if p.grants.Stdin {
		cfg.Stdin = os.Stdin
	}
	rt, err := p.mod.Instantiate(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start instance: %w", err)
	}
	p.created.Add(1)
	inst.rt = rt
	err = inst.start(ctx)
	p.host.limit.flush()
	if err != nil {
		inst.stdout.Flush()
		inst.stderr.Flush()
		rt.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return inst, nil
}

func (in *instance) start(ctx context.Context) error {
	in.alloc = in.rt.Func(abi.ExportAlloc)
	in.proc = in.rt.Func(abi.ExportProcess)
	in.close = in.rt.Func(abi.ExportClose)
	in.lookup = in.rt.Func(abi.ExportLookup)
	version, initf := in.rt.Func(abi.ExportVersion), in.rt.Func(abi.ExportInit)
	if in.alloc == nil || (in.proc == nil && in.lookup == nil) || version == nil || initf == nil {
		return errors.New("start instance: missing conveyor exports")
	}
	if f := in.rt.Func(abi.ExportInitialize); f != nil {
		if err := f.Call(ctx, in.stack); err != nil {
			return in.callError("_initialize", err)
		}
	}
	if err := version.Call(ctx, in.stack); err != nil {
		return in.callError(abi.ExportVersion, err)
	}
	in.version = uint32(in.stack[0])
	if !abi.Compatible(in.version) {
		return errors.New(versionMismatch(in.version))
	}
	if in.lookup != nil && abi.VersionMinor(in.version) < abi.MinorLookup {
		return fmt.Errorf("guest exports %s but reports ABI version %s; lookups need 1.%d or later",
			abi.ExportLookup, abi.FormatVersion(in.version), abi.MinorLookup)
	}
	frame := in.p.cfgFrame
	ptr, err := in.allocate(ctx, len(frame))
	if err != nil {
		return err
	}
	copy(in.rt.Memory()[ptr:], frame)
	in.stack[0], in.stack[1] = uint64(ptr), uint64(len(frame))
	if err := initf.Call(ctx, in.stack); err != nil {
		return in.callError(abi.ExportInit, err)
	}
	if in.stack[0] != 0 {
		eptr, elen := abi.UnpackPtrLen(in.stack[0])
		msg, ok := in.guestBytes(eptr, elen)
		if !ok {
			return fmt.Errorf("init failed with an error message outside guest memory (ptr %d, len %d)", eptr, elen)
		}
		return fmt.Errorf("init failed: %s", msg)
	}
	in.caps = Capabilities{Transform: in.proc != nil, Lookup: in.lookup != nil}
	if f := in.rt.Func(abi.ExportCapabilities); f != nil {
		if err := f.Call(ctx, in.stack); err != nil {
			return in.callError(abi.ExportCapabilities, err)
		}
		bits := uint32(in.stack[0])
		in.caps.Transform = in.caps.Transform && bits&abi.CapTransform != 0
		in.caps.Lookup = in.caps.Lookup && bits&abi.CapLookup != 0
		if !in.caps.Transform && !in.caps.Lookup {
			return fmt.Errorf("%s returned %#x: the guest implements neither a transform nor a lookup", abi.ExportCapabilities, bits)
		}
	}
	return nil
}

// callError describes a failed call during start.
func (in *instance) callError(fn string, err error) error {
	msg := firstLine(err.Error())
	if tail := in.stderr.Tail(); tail != "" {
		msg += "; guest stderr: " + tail
	}
	return fmt.Errorf("%s: %s: %w", fn, msg, err)
}

// allocate calls conveyor_alloc and checks the pointer it returns.
func (in *instance) allocate(ctx context.Context, n int) (uint32, error) {
	if uint64(n) > math.MaxUint32 {
		return 0, fmt.Errorf("frame of %d bytes exceeds 4 GiB", n)
	}
	in.stack[0] = uint64(n)
	if err := in.alloc.Call(ctx, in.stack); err != nil {
		return 0, in.callError(abi.ExportAlloc, err)
	}
	ptr := uint32(in.stack[0])
	if _, ok := in.guestBytes(ptr, uint32(n)); !ok {
		return 0, fmt.Errorf("%s(%d) returned %d, outside guest memory of %d bytes",
			abi.ExportAlloc, n, ptr, len(in.rt.Memory()))
	}
	return ptr, nil
}

func (in *instance) guestBytes(ptr, n uint32) ([]byte, bool) {
	mem := in.rt.Memory()
	end := uint64(ptr) + uint64(n)
	if end > uint64(len(mem)) {
		return nil, false
	}
	return mem[ptr:end:end], true
}

// process runs one batch: encode the input frame straight into guest
// memory, call conveyor_process, copy the output frame out and decode it.
//
// The output frame is copied into frame[:0] (a new buffer when frame is nil)
// and metadata decoded into kvs; both are returned for reuse.
func (in *instance) process(ctx context.Context, recs []abi.Record, out []abi.Output, frame []byte, kvs []abi.KV) ([]abi.Output, []byte, []abi.KV, *fault) {
	ctx, cancel := in.p.withTimeout(ctx)
	defer cancel()
	in.stderr.Reset()
	size := abi.InputBatchSize(recs)
	ptr, err := in.allocate(ctx, size)
	if err != nil {
		return out, frame, kvs, in.fault(ctx, err)
	}
	dst, _ := in.guestBytes(ptr, uint32(size))
	abi.AppendInputBatch(dst[:0], recs)
	in.stack[0], in.stack[1] = uint64(ptr), uint64(size)
	err = in.proc.Call(ctx, in.stack)
	in.p.host.limit.flush()
	if err != nil {
		return out, frame, kvs, in.fault(ctx, fmt.Errorf("%s: %w", abi.ExportProcess, err))
	}
	optr, olen := abi.UnpackPtrLen(in.stack[0])
	src, ok := in.guestBytes(optr, olen)
	if !ok {
		return out, frame, kvs, &fault{kind: FaultInvalidOutput,
			msg: fmt.Sprintf("output frame [%d, %d) is outside guest memory of %d bytes",
				optr, uint64(optr)+uint64(olen), len(in.rt.Memory())),
			err: errors.New("output frame outside guest memory")}
	}
	frame = append(frame[:0], src...) // from nil: no zeroing before the copy
	res, kvs, err := abi.DecodeOutputBatchKV(frame, len(recs), out, kvs)
	if err != nil {
		return out, frame, kvs, &fault{kind: FaultInvalidOutput, msg: "invalid output frame: " + err.Error(), err: err}
	}
	res = res[:len(out)+normalize(res[len(out):], len(recs))]
	return res, frame, kvs, nil
}

// lookupBatch runs one lookup batch: encode the request into guest memory,
// call conveyor_lookup, copy the result frame out (into a fresh buffer, so
// rows stay valid for as long as the caller holds them) and decode it.
func (in *instance) lookupBatch(ctx context.Context, keys [][]byte, dst []LookupResult) ([]LookupResult, *fault) {
	ctx, cancel := in.p.withTimeout(ctx)
	defer cancel()
	in.stderr.Reset()
	size := abi.LookupRequestSize(keys)
	ptr, err := in.allocate(ctx, size)
	if err != nil {
		return dst, in.fault(ctx, err)
	}
	buf, _ := in.guestBytes(ptr, uint32(size))
	abi.AppendLookupRequest(buf[:0], keys)
	in.stack[0], in.stack[1] = uint64(ptr), uint64(size)
	err = in.lookup.Call(ctx, in.stack)
	in.p.host.limit.flush()
	if err != nil {
		return dst, in.fault(ctx, fmt.Errorf("%s: %w", abi.ExportLookup, err))
	}
	optr, olen := abi.UnpackPtrLen(in.stack[0])
	src, ok := in.guestBytes(optr, olen)
	if !ok {
		return dst, &fault{kind: FaultInvalidOutput,
			msg: fmt.Sprintf("lookup result frame [%d, %d) is outside guest memory of %d bytes",
				optr, uint64(optr)+uint64(olen), len(in.rt.Memory())),
			err: errors.New("lookup result frame outside guest memory")}
	}
	frame := append([]byte(nil), src...)
	base := len(dst)
	res, err := abi.DecodeLookupResult(frame, len(keys), dst)
	if err != nil {
		return dst, &fault{kind: FaultInvalidOutput, msg: "invalid lookup result: " + err.Error(), err: err}
	}
	for i := base; i < len(res); i++ {
		if res[i].Found && !isJSONObject(res[i].Row) {
			err := fmt.Errorf("row for key %d is not a JSON object: %.60q", i-base, res[i].Row)
			clear(res[base:])
			return res[:base], &fault{kind: FaultInvalidOutput, msg: "invalid lookup result: " + err.Error(), err: err}
		}
	}
	return res, nil
}

// fault classifies a failed call.
func (in *instance) fault(ctx context.Context, err error) *fault {
	f := &fault{kind: FaultTrap, err: err}
	tail := in.stderr.Tail()
	outcome := wasmrt.OutcomeOf(err)
	switch {
	case outcome == wasmrt.Interrupted || errors.Is(ctx.Err(), context.DeadlineExceeded):
		f.kind = FaultTimeout
		f.msg = fmt.Sprintf("batch exceeded the time limit of %s", in.p.limits.BatchTimeout)
	case outcome == wasmrt.StackOverflow:
		f.kind = FaultStack
		f.msg = "guest overflowed its call stack (unbounded recursion?)"
	case outOfMemory(tail) || in.nearMemoryLimit():
		f.kind = FaultMemory
		f.msg = "guest ran out of memory (limit " + pagesText(in.p.limits.MemoryPages) + ")"
	default:
		f.msg = "guest trapped: " + firstLine(err.Error())
	}
	if tail != "" {
		f.msg += "; guest stderr: " + tail
	}
	return f
}

// nearMemoryLimit reports whether the guest's memory is within 1 MiB of
// the limit, so that a trap after a failed memory.grow is a memory fault
// even when the guest wrote nothing (ABI.md section 3.2).
func (in *instance) nearMemoryLimit() bool {
	limit := uint64(in.p.limits.MemoryPages) * pageSize
	return limit > 0 && uint64(len(in.rt.Memory()))+1<<20 >= limit
}

// outOfMemory recognises the out-of-memory reports of the Go and Rust
// runtimes on the guest's stderr.
func outOfMemory(stderr string) bool {
	return strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "memory allocation of")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// discard closes an instance that faulted or is recycled, without calling
// into the guest again.
func (p *Plugin) discard(inst *instance) {
	inst.stdout.Flush()
	inst.stderr.Flush()
	inst.rt.Close(context.Background())
}

// discardClean closes a healthy instance, calling conveyor_close first.
func (p *Plugin) discardClean(ctx context.Context, inst *instance) {
	if inst.close != nil {
		cctx, cancel := p.withTimeout(ctx)
		if err := inst.close.Call(cctx, inst.stack); err != nil {
			p.logger.Warn("conveyor_close failed", "error", firstLine(err.Error()))
		}
		cancel()
		p.host.limit.flush()
	}
	p.discard(inst)
}
