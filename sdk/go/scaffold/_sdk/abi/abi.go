// Package abi is the wire contract between the conveyor-wasm host and its
// WebAssembly plugins: version constants, the record types that cross the
// boundary, and the codec for the three frames (config, input batch, output
// batch) described in ABI.md.
//
// The package is dependency-free so that both the host (package plugins) and
// guest SDKs compiled to wasm import the same code. Decoders are zero-copy:
// the byte slices of decoded records alias the source buffer, and decoding
// never panics on malformed input; every rejection is a *FrameError.
package abi

import "strconv"

// ABI version implemented by this package. A major bump breaks the wire
// format and renames every versioned import and export; a minor bump only
// adds. A host accepts a guest of any minor of its own major.
const (
	Major = 1
	Minor = 1
)

// Version is the packed version a guest returns from conveyor_abi_version:
// Major<<16 | Minor.
const Version = Major<<16 | Minor

// ImportModule is the only non-WASI import module a plugin may import from.
const ImportModule = "conveyor"

// Names of the host functions in ImportModule.
const (
	FuncLog       = "log_v1"
	FuncConfigGet = "config_get_v1"
	FuncClockNow  = "clock_now_v1"
	FuncMetricAdd = "metric_add_v1"
)

// Names of the guest exports. ExportInitialize and ExportClose are optional.
const (
	ExportMemory     = "memory"
	ExportInitialize = "_initialize"
	ExportVersion    = "conveyor_abi_version"
	ExportAlloc      = "conveyor_alloc"
	ExportInit       = "conveyor_init"
	ExportProcess    = "conveyor_process"
	// ExportLookup is optional (ABI 1.1); a module exports it, or
	// ExportProcess, or both.
	ExportLookup = "conveyor_lookup"
	// ExportCapabilities is optional (ABI 1.1): () -> i32, the bits
	// CapTransform and CapLookup of what the guest implements, called
	// after conveyor_init. Without it, the exports say.
	ExportCapabilities = "conveyor_capabilities"
	ExportClose        = "conveyor_close"
)

// Log levels of log_v1.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// VersionMajor returns the major part of a packed version.
func VersionMajor(v uint32) uint16 { return uint16(v >> 16) }

// VersionMinor returns the minor part of a packed version.
func VersionMinor(v uint32) uint16 { return uint16(v) }

// FormatVersion renders a packed version as "major.minor".
func FormatVersion(v uint32) string {
	return strconv.Itoa(int(VersionMajor(v))) + "." + strconv.Itoa(int(VersionMinor(v)))
}

// MinorLookup is the first minor version with conveyor_lookup.
const MinorLookup = 1

// Bits of conveyor_capabilities.
const (
	CapTransform = 1 << 0
	CapLookup    = 1 << 1
)

// Compatible reports whether a guest reporting the packed version v can be
// driven by this package: same major, any minor.
func Compatible(v uint32) bool { return VersionMajor(v) == Major }

// PackPtrLen packs a guest pointer and a length into the u64 returned by
// conveyor_init and conveyor_process: ptr<<32 | n.
func PackPtrLen(ptr, n uint32) uint64 { return uint64(ptr)<<32 | uint64(n) }

// UnpackPtrLen is the inverse of PackPtrLen.
func UnpackPtrLen(v uint64) (ptr, n uint32) { return uint32(v >> 32), uint32(v) }

// KV is one metadata attribute. Keys and values are bytes on the wire;
// conveyor itself stores UTF-8 strings.
type KV struct{ Key, Value []byte }

// Record is a record as it crosses the host/guest boundary.
type Record struct {
	Key      []byte
	Payload  []byte
	Metadata []KV
	// EventTime is the event time in Unix nanoseconds; meaningful only when
	// HasEventTime is set, and 0 otherwise.
	EventTime    int64
	HasEventTime bool
}

// OutputKind says what an output entry carries.
type OutputKind uint8

// Output kinds.
const (
	// KindRecord is an output record derived from an input record.
	KindRecord OutputKind = 0
	// KindDrop says the input record is deliberately dropped.
	KindDrop OutputKind = 1
	// KindError says the input record failed; the engine dead-letters it.
	KindError OutputKind = 2
)

// String returns "record", "drop", "error" or "kind(N)".
func (k OutputKind) String() string {
	switch k {
	case KindRecord:
		return "record"
	case KindDrop:
		return "drop"
	case KindError:
		return "error"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Output is one entry of an output batch. Input is the index of the input
// record it derives from. Record is set for KindRecord, Err for KindError.
type Output struct {
	Kind   OutputKind
	Input  uint32
	Record Record
	Err    string
}
