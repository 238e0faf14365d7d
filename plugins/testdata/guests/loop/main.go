// Command loop is a test guest that spins forever on a record whose payload
// is "loop" and copies every other record.
package main

import (
	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

var spins uint64

func init() {
	rawabi.Process = func(in []abi.Record, out []abi.Output) []abi.Output {
		for i := range in {
			if string(in[i].Payload) == "loop" {
				for {
					spins++
				}
			}
		}
		return rawabi.Noop(in, out)
	}
}

func main() {}
