package conveyor

import (
	"encoding/binary"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// headerCountOff is the offset of the entry count in a batch frame header.
const headerCountOff = 12

// frameWriter encodes an output batch frame entry by entry into a buffer it
// reuses across batches. Emit writes straight into the frame, so a transform
// may reuse its own buffers after Emit returns and no intermediate output
// slice is kept.
//
// package abi encodes whole batches; the SDK streams entries instead, and
// its tests check every frame it writes against abi.DecodeOutputBatch.
type frameWriter struct {
	buf    []byte
	count  uint32
	input  uint32 // index of the input record being transformed
	active bool   // Emit is allowed (a transform call is running)
}

// reset starts a new, empty output frame.
func (w *frameWriter) reset() {
	b := append(w.buf[:0], abi.BatchMagic...)
	b = binary.LittleEndian.AppendUint16(b, abi.Major)
	b = binary.LittleEndian.AppendUint16(b, abi.Minor)
	w.buf = append(b, abi.FrameOutput, 0, 0, 0, 0, 0, 0, 0) // kind, flags, reserved, count
	w.count = 0
}

// mark is a position to roll back to.
type mark struct {
	n     int
	count uint32
}

func (w *frameWriter) mark() mark { return mark{len(w.buf), w.count} }

// rollback discards every entry written after m.
func (w *frameWriter) rollback(m mark) { w.buf, w.count = w.buf[:m.n], m.count }

// Emit appends a record entry derived from the current input record.
func (w *frameWriter) Emit(r Record) {
	if !w.active {
		panic("conveyor: Emit called after the transform returned")
	}
	b := w.entry(abi.KindRecord)
	var flags byte
	var et int64
	if !r.EventTime.IsZero() {
		flags, et = abi.RecordFlagEventTime, r.EventTime.UnixNano()
	}
	b = append(b, flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(et))
	b = appendString(b, r.Key)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Payload)))
	b = append(b, r.Payload...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Metadata)))
	for _, kv := range r.Metadata {
		b = appendString(b, kv.Key)
		b = appendString(b, kv.Value)
	}
	w.buf = b
}

// appendError appends an error entry for input record i.
func (w *frameWriter) appendError(i uint32, msg string) {
	w.input = i
	w.buf = appendString(w.entry(abi.KindError), msg)
}

// entry appends the common head of an entry (kind, input index), counts it
// and returns the buffer.
func (w *frameWriter) entry(k abi.OutputKind) []byte {
	w.count++
	return binary.LittleEndian.AppendUint32(append(w.buf, byte(k)), w.input)
}

// finish patches the entry count into the header and returns the frame. The
// frame is valid until the next reset.
func (w *frameWriter) finish() []byte {
	binary.LittleEndian.PutUint32(w.buf[headerCountOff:], w.count)
	return w.buf
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
