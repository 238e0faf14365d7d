// Package rawabi implements the conveyor ABI v1 guest exports directly with
// //go:wasmexport, without the SDK, for the plugin runtime's test guests. A
// guest's main package sets the hooks in its init function.
package rawabi

import (
	"unsafe"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

var (
	// Version is what conveyor_abi_version reports.
	Version uint32 = abi.Version
	// Init is called by conveyor_init with the decoded config. A non-nil
	// error is reported to the host as the init error.
	Init func(cfg map[string]string) error
	// Process maps a decoded input batch to outputs. The default copies
	// every input to the output.
	Process = Noop
	// RawProcess, when set, replaces Process and returns the packed
	// pointer and length conveyor_process reports to the host.
	RawProcess func(frame []byte) uint64
	// Batches counts conveyor_process calls on this instance.
	Batches int
)

var (
	inBuf  []byte
	outBuf []byte
	errBuf []byte
	recs   []abi.Record
	outs   []abi.Output
)

// Noop returns every input record unchanged.
func Noop(in []abi.Record, out []abi.Output) []abi.Output {
	for i := range in {
		out = append(out, abi.Output{Kind: abi.KindRecord, Input: uint32(i), Record: in[i]})
	}
	return out
}

// Ptr returns the guest address of b's first byte (b must not be empty).
func Ptr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(&b[0]))) }

// Bytes returns the guest memory at ptr as a slice of n bytes.
func Bytes(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

// Pack returns the packed pointer and length of b, keeping b alive in a
// package variable until the next call.
func Pack(b []byte) uint64 {
	outBuf = append(outBuf[:0], b...)
	if len(outBuf) == 0 {
		outBuf = append(outBuf, 0)
		return abi.PackPtrLen(Ptr(outBuf), 0)
	}
	return abi.PackPtrLen(Ptr(outBuf), uint32(len(outBuf)))
}

//go:wasmexport conveyor_abi_version
func abiVersion() uint32 { return Version }

//go:wasmexport conveyor_alloc
func alloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	if uint32(cap(inBuf)) < size {
		inBuf = make([]byte, size)
	}
	return Ptr(inBuf[:size])
}

//go:wasmexport conveyor_init
func initialize(ptr, n uint32) uint64 {
	cfg, err := abi.DecodeConfig(Bytes(ptr, n))
	if err == nil && Init != nil {
		err = Init(cfg)
	}
	if err != nil {
		errBuf = append(errBuf[:0], err.Error()...)
		return abi.PackPtrLen(Ptr(errBuf), uint32(len(errBuf)))
	}
	return 0
}

//go:wasmexport conveyor_process
func process(ptr, n uint32) uint64 {
	Batches++
	frame := Bytes(ptr, n)
	if RawProcess != nil {
		return RawProcess(frame)
	}
	var err error
	recs, err = abi.DecodeInputBatch(frame, recs[:0])
	if err != nil {
		panic(err)
	}
	outs = Process(recs, outs[:0])
	outBuf = abi.AppendOutputBatch(outBuf[:0], outs)
	return abi.PackPtrLen(Ptr(outBuf), uint32(len(outBuf)))
}

//go:wasmexport conveyor_close
func closeGuest() {}
