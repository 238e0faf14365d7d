// Command recorderror is a test guest that reports a per-record error for a
// payload "bad", drops a record whose payload is "drop", emits two records
// for "twice", nothing at all for "skip" (an implicit drop), and copies
// every other record.
package main

import (
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

func init() {
	rawabi.Process = func(in []abi.Record, out []abi.Output) []abi.Output {
		for i := range in {
			idx := uint32(i)
			switch string(in[i].Payload) {
			case "bad":
				out = append(out, abi.Output{Kind: abi.KindError, Input: idx, Err: fmt.Sprintf("bad payload in record %d", i)})
			case "drop":
				out = append(out, abi.Output{Kind: abi.KindDrop, Input: idx})
			case "twice":
				out = append(out, abi.Output{Kind: abi.KindRecord, Input: idx, Record: in[i]},
					abi.Output{Kind: abi.KindRecord, Input: idx, Record: in[i]})
			case "skip":
			default:
				out = append(out, abi.Output{Kind: abi.KindRecord, Input: idx, Record: in[i]})
			}
		}
		return out
	}
}

func main() {}
