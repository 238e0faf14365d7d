// Package conveyor is the Go guest SDK for conveyor-wasm plugins.
//
// A plugin is a Go package main that registers one transform from init and is
// compiled to a WASI reactor:
//
//	package main
//
//	import conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
//
//	func init() {
//		conveyor.RegisterTransform(func(r conveyor.Record, out conveyor.Emitter) error {
//			out.Emit(r) // zero emits drop the record, several split it
//			return nil
//		})
//	}
//
//	func main() {}
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// The SDK implements the guest side of ABI v1 (abi/ABI.md): it exports
// conveyor_abi_version, conveyor_alloc, conveyor_init, conveyor_process and
// conveyor_close, decodes each input batch with package abi, calls the
// transform once per record and encodes the outputs into an output batch
// frame. A transform that returns an error or panics fails only its record:
// the host receives a per-record error entry carrying the error text (or
// "panic: " and the panic value) and dead-letters that record; whatever the
// transform emitted for that record before failing is discarded. Faults the
// SDK cannot recover (a runtime trap, running out of memory) fail the whole
// batch on the host side.
//
// With -buildmode=c-shared the Go runtime runs package init functions when the
// host calls _initialize, but never calls main: register from init.
//
// Outside wasip1 the package builds natively with a stand-in host so plugins
// can be unit-tested with plain go test; see package conveyortest.
//
// TinyGo: the SDK uses only //go:wasmimport, //go:wasmexport and the standard
// library, which TinyGo's wasip1 target also supports, but TinyGo builds are
// not tested.
package conveyor

import (
	"time"
)

// Record is one record as a transform sees it.
//
// Payload aliases memory the SDK reuses for the next batch: it is valid until
// the transform returns. A transform may modify it in place or emit it as is;
// to keep it longer, copy it (bytes.Clone).
type Record struct {
	// Key identifies the record for partitioning.
	Key string
	// Payload is the record body, JSON unless the pipeline says otherwise.
	Payload []byte
	// Metadata holds string attributes.
	Metadata Metadata
	// EventTime is the event time; the zero Time means the record has none.
	EventTime time.Time
	// Index is the record's position in its input batch (0-based), set by
	// the SDK for the transform; Emit ignores it.
	Index int
}

// KV is one metadata attribute.
type KV struct {
	Key   string
	Value string
}

// Metadata is an ordered set of string attributes. Like the engine's record
// metadata it is a slice, not a map: records carry a handful of entries, and a
// nil Metadata is ready to use.
type Metadata []KV

// Get returns the value stored under key.
func (m Metadata) Get(key string) (string, bool) {
	for i := range m {
		if m[i].Key == key {
			return m[i].Value, true
		}
	}
	return "", false
}

// Set stores value under key, replacing any previous value.
func (m *Metadata) Set(key, value string) {
	s := *m
	for i := range s {
		if s[i].Key == key {
			s[i].Value = value
			return
		}
	}
	*m = append(s, KV{Key: key, Value: value})
}

// Delete removes key if present.
func (m *Metadata) Delete(key string) {
	s := *m
	for i := range s {
		if s[i].Key == key {
			*m = append(s[:i], s[i+1:]...)
			return
		}
	}
}

// Emitter receives the records a transform produces for its input record.
// Emit encodes the record at once, so the caller may reuse its buffers after
// Emit returns. An Emitter is valid only during the transform call it was
// passed to.
type Emitter interface {
	Emit(r Record)
}

// TransformFunc transforms one input record into zero or more output records
// emitted on out. Returning an error fails this record only: the host
// dead-letters it with the error text and discards what was emitted for it.
type TransformFunc func(r Record, out Emitter) error

// hooks is what a plugin registers. The SDK drives one set per module.
type hooks struct {
	transform TransformFunc
	lookup    LookupFunc
	init      func() error
	close     func()
}

var registered hooks

// RegisterTransform sets the plugin's transform. Call it from an init
// function of package main (c-shared builds never run main). A module has
// one transform: a later call replaces the earlier one. A plugin registers
// a transform, a lookup (RegisterLookup) or both.
func RegisterTransform(f TransformFunc) { registered.transform = f }

// OnInit registers f to run when the host initializes the plugin, after the
// configuration is available through Config. A non-nil error makes the
// plugin fail to load with that message; use it to validate configuration.
func OnInit(f func() error) { registered.init = f }

// OnClose registers f to run when the host closes the plugin instance.
func OnClose(f func()) { registered.close = f }

// Config returns the value of a configuration key of this plugin instance.
// After the host has initialized the plugin (in OnInit hooks and
// transforms), it reads the configuration frame the host passed to
// conveyor_init; before that (in init functions) it asks the host through
// config_get_v1.
func Config(key string) (string, bool) {
	if g := current; g != nil && g.config != nil {
		v, ok := g.config[key]
		return v, ok
	}
	return hostConfig(key)
}
