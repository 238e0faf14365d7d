//go:build wasip1

package conveyor

import (
	"unsafe"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// The guest exports of ABI v1. They drive one package-level guest: a Wasm
// instance is single-threaded and the host never calls it concurrently.

var instance guest

//go:wasmexport conveyor_abi_version
func exportABIVersion() uint32 { return abi.Version }

//go:wasmexport conveyor_alloc
func exportAlloc(size uint32) uint32 { return addr(instance.alloc(size)) }

//go:wasmexport conveyor_init
func exportInit(ptr, n uint32) uint64 {
	instance.hooks = registered
	in, err := instance.inputAt(addr(instance.in), ptr, n)
	if err == nil {
		err = instance.init(in)
	}
	if err == nil {
		return 0
	}
	msg := instance.initError(err)
	return abi.PackPtrLen(addr(msg), uint32(len(msg)))
}

//go:wasmexport conveyor_process
func exportProcess(ptr, n uint32) uint64 {
	in, err := instance.inputAt(addr(instance.in), ptr, n)
	var out []byte
	if err == nil {
		out, err = instance.process(in)
	}
	if err != nil {
		// The host broke the protocol and no record is to blame: trap, which
		// fails the batch. The host sees the panic text on stderr.
		panic(err)
	}
	return abi.PackPtrLen(addr(out), uint32(len(out)))
}

//go:wasmexport conveyor_lookup
func exportLookup(ptr, n uint32) uint64 {
	in, err := instance.inputAt(addr(instance.in), ptr, n)
	var out []byte
	if err == nil {
		out, err = instance.lookupBatch(in)
	}
	if err != nil {
		panic(err) // fails the lookup batch; the host sees the text on stderr
	}
	return abi.PackPtrLen(addr(out), uint32(len(out)))
}

//go:wasmexport conveyor_capabilities
func exportCapabilities() uint32 { return instance.hooks.capabilities() }

//go:wasmexport conveyor_close
func exportClose() { instance.close() }

// addr returns the linear-memory address of b's first byte. Go's garbage
// collector does not move objects, and the guest keeps every buffer it hands
// to the host referenced until the next call.
func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
