// Command forbiddenimport is a test guest that imports the WASI socket call
// sock_accept, which plugins are not granted.
package main

import (
	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

//go:wasmimport wasi_snapshot_preview1 sock_accept
func sockAccept(fd int32, flags int32, result uint32) int32

func init() {
	rawabi.Process = func(in []abi.Record, out []abi.Output) []abi.Output {
		if len(in) > 0 && string(in[0].Payload) == "accept" {
			sockAccept(3, 0, 0)
		}
		return rawabi.Noop(in, out)
	}
}

func main() {}
