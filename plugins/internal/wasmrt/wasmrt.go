// Package wasmrt is the runtime-neutral interface the plugin host drives:
// compile a module once, instantiate it many times, call its exports and read
// its memory. wazero implements it in package wazerort; a wasmtime
// implementation can sit beside it without the plugins package changing.
//
// Nothing here knows the conveyor ABI beyond the host functions in Host.
package wasmrt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Config configures a Runtime. One Runtime serves one plugin.
type Config struct {
	// CacheDir is the on-disk compilation cache; empty disables it.
	CacheDir string
	// MemoryPages caps every instance's linear memory (64 KiB pages);
	// 0 keeps the runtime's maximum.
	MemoryPages uint32
	// Interruptible says the plugin has a time limit. Runtimes stop calls
	// whose context is done in any case where they can do so cheaply (fuel
	// instrumentation on wazero); Interruptible asks them to guarantee it
	// even where that is expensive.
	Interruptible bool
	// NoFuel turns off fuel instrumentation (benchmarks compare with it).
	NoFuel bool
	// HeapMemory backs linear memory with the Go heap instead of mmap.
	HeapMemory bool
	// Host implements the conveyor host functions.
	Host Host
}

// Host implements the functions of the conveyor import module. Memory
// arguments are views of guest memory valid only during the call.
type Host interface {
	Log(ctx context.Context, level int32, msg []byte)
	// ConfigGet returns the value of key and whether it exists.
	ConfigGet(key []byte) (string, bool)
	// Now returns the wall clock in Unix nanoseconds.
	Now() int64
	MetricAdd(name []byte, delta int64)
}

// Runtime compiles modules. Close releases everything it created.
type Runtime interface {
	Compile(ctx context.Context, wasm []byte) (Module, error)
	Close(ctx context.Context) error
}

// Module is a compiled module: inspect it, then instantiate it many times.
type Module interface {
	Imports() []Import
	Exports() []Export
	Instantiate(ctx context.Context, cfg InstanceConfig) (Instance, error)
}

// InstanceConfig is the per-instance WASI environment. Zero values grant
// nothing: no environment, no files, empty stdin, discarded output.
type InstanceConfig struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Env            map[string]string
	// Dirs maps guest paths to host directories mounted read-only.
	Dirs map[string]string
}

// Instance is one instantiated module. It is not safe for concurrent use.
type Instance interface {
	// Func returns the exported function name, or nil if there is none.
	Func(name string) Func
	// Memory returns the current view of the exported memory "memory", or
	// nil. The view is invalid after any call into the guest: memory may
	// grow and move.
	Memory() []byte
	Close(ctx context.Context) error
}

// Func is an exported function.
type Func interface {
	// Call calls the function with its parameters in stack and leaves its
	// results there; stack must be as long as the larger of both. Errors
	// are *CallError.
	Call(ctx context.Context, stack []uint64) error
}

// Import is one import of a module.
type Import struct {
	Module, Name string
	Kind         Kind
	Signature    string // functions only, e.g. "(i32,i32)->i64"
}

// Export is one export of a module.
type Export struct {
	Name      string
	Kind      Kind
	Signature string // functions only
	// MinPages and MaxPages describe memories; MaxPages is 0 when unbounded.
	MinPages, MaxPages uint32
}

// Kind is the kind of an import or export.
type Kind uint8

// Import and export kinds.
const (
	KindFunc Kind = iota
	KindMemory
	KindTable
	KindGlobal
)

// String returns "func", "memory", "table" or "global".
func (k Kind) String() string {
	switch k {
	case KindFunc:
		return "func"
	case KindMemory:
		return "memory"
	case KindTable:
		return "table"
	case KindGlobal:
		return "global"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Signature formats a function type as "(i32,i64)->i64"; "()->()" has
// neither parameters nor results.
func Signature(params, results []string) string {
	r := "()"
	if len(results) == 1 {
		r = results[0]
	} else if len(results) > 1 {
		r = "(" + strings.Join(results, ",") + ")"
	}
	return "(" + strings.Join(params, ",") + ")->" + r
}

// Outcome says how a call failed.
type Outcome uint8

// Call outcomes.
const (
	// Trap: the guest trapped (unreachable, out-of-bounds access, a host
	// function failed, ...).
	Trap Outcome = iota + 1
	// Exit: the guest called proc_exit.
	Exit
	// Interrupted: the call's context was done and the runtime stopped it.
	Interrupted
	// StackOverflow: the guest exhausted the runtime's call stack.
	StackOverflow
)

// CallError is the error of a failed call. The instance must be discarded.
type CallError struct {
	Outcome  Outcome
	ExitCode uint32 // for Exit
	Err      error
}

// Error implements error.
func (e *CallError) Error() string { return e.Err.Error() }

// Unwrap returns the runtime's error.
func (e *CallError) Unwrap() error { return e.Err }

// OutcomeOf returns the Outcome of err, or 0 if err is not a *CallError.
func OutcomeOf(err error) Outcome {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce.Outcome
	}
	return 0
}
