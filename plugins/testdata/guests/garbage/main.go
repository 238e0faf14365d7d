// Command garbage is a test guest that returns an output frame that does not
// decode on a record whose payload is "garbage", a pointer outside its
// memory on "outside", an input index out of range on "index", and copies
// every other batch.
package main

import (
	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

func init() {
	rawabi.RawProcess = func(frame []byte) uint64 {
		in, err := abi.DecodeInputBatch(frame, nil)
		if err != nil {
			panic(err)
		}
		for i := range in {
			switch string(in[i].Payload) {
			case "garbage":
				return rawabi.Pack([]byte("CVYB this is not an output frame"))
			case "outside":
				return abi.PackPtrLen(0xffff0000, 0x1000)
			case "index":
				return rawabi.Pack(abi.AppendOutputBatch(nil, []abi.Output{{Kind: abi.KindDrop, Input: uint32(len(in))}}))
			}
		}
		return rawabi.Pack(abi.AppendOutputBatch(nil, rawabi.Noop(in, nil)))
	}
}

func main() {}
