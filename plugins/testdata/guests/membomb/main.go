// Command membomb is a test guest that allocates without bound on a record
// whose payload is "bomb" and copies every other record.
package main

import (
	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

var hoard [][]byte

func init() {
	rawabi.Process = func(in []abi.Record, out []abi.Output) []abi.Output {
		for i := range in {
			if string(in[i].Payload) == "bomb" {
				for {
					b := make([]byte, 1<<20)
					b[0] = 1
					hoard = append(hoard, b)
				}
			}
		}
		return rawabi.Noop(in, out)
	}
}

func main() {}
