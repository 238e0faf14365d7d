// Package wasmtimert implements wasmrt on wasmtime (github.com/bytecodealliance/
// wasmtime-go, cgo). It is compiled in only with cgo and the build tag
// "wasmtime" (linking wasmtime's static library adds ~14 s to every test
// binary that imports package plugins; see plugins/RATIONALE.md); without
// them New returns an error that says how to get it.
//
// Limits: memory through the store limiter, time through epoch
// interruption (one ticker per process bumps every engine's epoch every
// Tick; a call's deadline is its context's, in ticks), the call stack
// through wasmtime's max_wasm_stack (512 KiB). Traps, interrupts and
// proc_exit become *wasmrt.CallError.
package wasmtimert

import "time"

// Name is the runtime's name in plugins.Options.Runtime.
const Name = "wasmtime"

// Version is the wasmtime-go version compiled in; compiled modules are
// cached per version.
const Version = "v39.0.1"

// Tick is the epoch interval: a time limit is enforced to within about one
// tick.
const Tick = 5 * time.Millisecond
