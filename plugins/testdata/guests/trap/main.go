// Command trap is a test guest that panics (a trap) on a record whose
// payload is "panic", or "panic-if-used" on an instance that already
// processed a batch, and copies every other record.
package main

import (
	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

func init() {
	rawabi.Process = func(in []abi.Record, out []abi.Output) []abi.Output {
		for i := range in {
			switch string(in[i].Payload) {
			case "panic":
				panic("guest asked to panic")
			case "panic-if-used":
				if rawabi.Batches > 1 {
					panic("instance already used")
				}
			}
		}
		return rawabi.Noop(in, out)
	}
}

func main() {}
