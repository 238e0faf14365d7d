// Command passthrough is a test guest that copies every input record to the
// output without decoding its fields: it walks the input frame by its length
// fields and copies each record's bytes verbatim behind an entry header. It
// is the cheapest possible transform, for measuring host overhead.
package main

import (
	"encoding/binary"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

var out []byte

func init() {
	rawabi.RawProcess = func(frame []byte) uint64 {
		le := binary.LittleEndian
		count := le.Uint32(frame[12:])
		out = append(out[:0], frame[:abi.BatchHeaderSize]...)
		out[8] = abi.FrameOutput
		off := abi.BatchHeaderSize
		for i := range count {
			start := off
			off += 9
			off += 4 + int(le.Uint32(frame[off:])) // key
			off += 4 + int(le.Uint32(frame[off:])) // payload
			n := le.Uint32(frame[off:])
			off += 4
			for range n {
				off += 4 + int(le.Uint32(frame[off:]))
				off += 4 + int(le.Uint32(frame[off:]))
			}
			out = append(out, byte(abi.KindRecord))
			out = le.AppendUint32(out, i)
			out = append(out, frame[start:off]...)
		}
		return abi.PackPtrLen(rawabi.Ptr(out), uint32(len(out)))
	}
}

func main() {}
