package abi

import "slices"

// Frame layout constants; see ABI.md.
const (
	// BatchMagic starts every batch frame.
	BatchMagic = "CVYB"
	// ConfigMagic starts the config frame.
	ConfigMagic = "CVYC"
	// BatchHeaderSize is the size of the batch frame header.
	BatchHeaderSize = 16
	// ConfigHeaderSize is the size of the config frame header.
	ConfigHeaderSize = 12

	// FrameInput is the header kind of an input batch.
	FrameInput = 1
	// FrameOutput is the header kind of an output batch.
	FrameOutput = 2
	// FrameLookupRequest is the header kind of a lookup request (ABI 1.1).
	FrameLookupRequest = 3
	// FrameLookupResult is the header kind of a lookup result (ABI 1.1).
	FrameLookupResult = 4

	// RecordFlagEventTime is bit 0 of a record's flags: event_time is set.
	RecordFlagEventTime = 1

	// minRecordSize is the encoded size of an empty record: flags, event
	// time, key length, payload length, metadata count.
	minRecordSize = 1 + 8 + 4 + 4 + 4
	// minOutputSize is the encoded size of the smallest output entry (drop).
	minOutputSize = 1 + 4
)

// le reads and appends little-endian integers. It is encoding/binary's
// LittleEndian without the package, which would link reflect into every
// Go guest.
var le littleEndian

type littleEndian struct{}

func (littleEndian) Uint16(b []byte) uint16 {
	_ = b[1]
	return uint16(b[0]) | uint16(b[1])<<8
}

func (littleEndian) Uint32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func (littleEndian) Uint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func (littleEndian) AppendUint16(b []byte, v uint16) []byte {
	return append(b, byte(v), byte(v>>8))
}

func (littleEndian) AppendUint32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func (littleEndian) AppendUint64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

// RecordSize returns the encoded size of r inside a batch frame.
func RecordSize(r *Record) int {
	n := minRecordSize + len(r.Key) + len(r.Payload)
	for i := range r.Metadata {
		n += 8 + len(r.Metadata[i].Key) + len(r.Metadata[i].Value)
	}
	return n
}

// InputBatchSize returns the exact size of the frame AppendInputBatch
// produces for recs, so a host can allocate guest memory and encode in place.
func InputBatchSize(recs []Record) int {
	n := BatchHeaderSize
	for i := range recs {
		n += RecordSize(&recs[i])
	}
	return n
}

// OutputBatchSize returns the exact size of the frame AppendOutputBatch
// produces for outs.
func OutputBatchSize(outs []Output) int {
	n := BatchHeaderSize
	for i := range outs {
		n += minOutputSize
		switch outs[i].Kind {
		case KindRecord:
			n += RecordSize(&outs[i].Record)
		case KindError:
			n += 4 + len(outs[i].Err)
		}
	}
	return n
}

func appendHeader(dst []byte, kind byte, count int) []byte {
	dst = append(dst, BatchMagic...)
	dst = le.AppendUint16(dst, Major)
	dst = le.AppendUint16(dst, Minor)
	dst = append(dst, kind, 0, 0, 0)
	return le.AppendUint32(dst, uint32(count))
}

func appendBytes(dst, b []byte) []byte {
	dst = le.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

func appendRecord(dst []byte, r *Record) []byte {
	var flags byte
	var ts int64
	if r.HasEventTime {
		flags, ts = RecordFlagEventTime, r.EventTime
	}
	dst = append(dst, flags)
	dst = le.AppendUint64(dst, uint64(ts))
	dst = appendBytes(dst, r.Key)
	dst = appendBytes(dst, r.Payload)
	dst = le.AppendUint32(dst, uint32(len(r.Metadata)))
	for i := range r.Metadata {
		dst = appendBytes(dst, r.Metadata[i].Key)
		dst = appendBytes(dst, r.Metadata[i].Value)
	}
	return dst
}

// AppendInputBatch appends the input batch frame for recs to dst and returns
// the extended slice. Lengths must fit in a u32; EventTime is written only
// when HasEventTime is set.
func AppendInputBatch(dst []byte, recs []Record) []byte {
	dst = appendHeader(dst, FrameInput, len(recs))
	for i := range recs {
		dst = appendRecord(dst, &recs[i])
	}
	return dst
}

// AppendOutputBatch appends the output batch frame for outs to dst and
// returns the extended slice. Only the fields of each entry's kind are
// written: Record for KindRecord, Err for KindError.
func AppendOutputBatch(dst []byte, outs []Output) []byte {
	dst = appendHeader(dst, FrameOutput, len(outs))
	for i := range outs {
		o := &outs[i]
		dst = append(dst, byte(o.Kind))
		dst = le.AppendUint32(dst, o.Input)
		switch o.Kind {
		case KindRecord:
			dst = appendRecord(dst, &o.Record)
		case KindError:
			dst = le.AppendUint32(dst, uint32(len(o.Err)))
			dst = append(dst, o.Err...)
		}
	}
	return dst
}

// decoder walks a frame with bounds checks. The first failure is recorded
// in err; later reads return zero values.
type decoder struct {
	src   []byte
	off   int
	frame string
	err   error
	left  int // records still to decode after the current one
}

func (d *decoder) fail(off int, format string, args ...any) {
	if d.err == nil {
		d.err = &FrameError{Frame: d.frame, Offset: off, Reason: sprintf(format, args...)}
	}
}

func (d *decoder) remaining() int { return len(d.src) - d.off }

func (d *decoder) u8(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 1 {
		d.fail(d.off, "truncated %s", what)
		return 0
	}
	v := d.src[d.off]
	d.off++
	return v
}

func (d *decoder) u16(what string) uint16 {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 2 {
		d.fail(d.off, "truncated %s", what)
		return 0
	}
	v := le.Uint16(d.src[d.off:])
	d.off += 2
	return v
}

func (d *decoder) u32(what string) uint32 {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 4 {
		d.fail(d.off, "truncated %s", what)
		return 0
	}
	v := le.Uint32(d.src[d.off:])
	d.off += 4
	return v
}

func (d *decoder) u64(what string) uint64 {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 8 {
		d.fail(d.off, "truncated %s", what)
		return 0
	}
	v := le.Uint64(d.src[d.off:])
	d.off += 8
	return v
}

// bytes reads a u32 length and that many bytes, aliasing src. A zero length
// yields nil.
func (d *decoder) bytes(what string) []byte {
	if d.err != nil {
		return nil
	}
	start := d.off
	if d.remaining() < 4 {
		d.fail(d.off, "truncated %s length", what)
		return nil
	}
	n := le.Uint32(d.src[d.off:])
	d.off += 4
	if uint64(n) > uint64(d.remaining()) {
		d.fail(start, "%s length %d past end of frame (%d bytes left)", what, n, d.remaining())
		return nil
	}
	if n == 0 {
		return nil
	}
	b := d.src[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b
}

// count reads a u32 element count and rejects counts that cannot fit in the
// rest of the frame given the minimum element size, so a hostile count never
// drives an allocation.
func (d *decoder) count(what string, minSize int) int {
	start := d.off
	n := d.u32(what)
	if d.err != nil {
		return 0
	}
	if uint64(n)*uint64(minSize) > uint64(d.remaining()) {
		d.fail(start, "%s %d exceeds what %d remaining bytes can hold", what, n, d.remaining())
		return 0
	}
	return int(n)
}

func (d *decoder) header(kind byte) int {
	if len(d.src) < BatchHeaderSize {
		d.fail(len(d.src), "truncated header: %d bytes, need %d", len(d.src), BatchHeaderSize)
		return 0
	}
	if string(d.src[:4]) != BatchMagic {
		d.fail(0, "bad magic %q, want %q", d.src[:4], BatchMagic)
		return 0
	}
	d.off = 4
	major := d.u16("major")
	_ = d.u16("minor") // any minor of our major is accepted
	if major != Major {
		d.fail(4, "unsupported version %d.%d, want major %d", major, le.Uint16(d.src[6:]), Major)
		return 0
	}
	if k := d.u8("kind"); k != kind {
		d.fail(8, "frame kind %d, want %d", k, kind)
		return 0
	}
	if f := d.u8("flags"); f != 0 {
		d.fail(9, "unknown header flags %#x", f)
		return 0
	}
	if r := d.u16("reserved"); r != 0 {
		d.fail(10, "reserved field is %#x, want 0", r)
		return 0
	}
	switch kind {
	case FrameInput:
		return d.count("record count", minRecordSize)
	case FrameLookupRequest:
		return d.count("key count", 4)
	case FrameLookupResult:
		return d.count("entry count", 1)
	}
	return d.count("entry count", minOutputSize)
}

// fastRecord decodes a well-formed record in one pass over local offsets.
// It reports false, consuming nothing, when anything is wrong; record then
// redoes the work with full diagnostics.
func (d *decoder) fastRecord(r *Record, kvs []KV) ([]KV, bool) {
	b := d.src[d.off:]
	if len(b) < minRecordSize || b[0]&^RecordFlagEventTime != 0 {
		return kvs, false
	}
	ts := int64(le.Uint64(b[1:]))
	has := b[0] != 0
	if !has && ts != 0 {
		return kvs, false
	}
	kl := uint64(le.Uint32(b[9:]))
	if kl+minRecordSize > uint64(len(b)) {
		return kvs, false
	}
	p := 13 + int(kl)
	pl := uint64(le.Uint32(b[p:]))
	if uint64(p)+pl+8 > uint64(len(b)) {
		return kvs, false
	}
	q := p + 4 + int(pl)
	n := le.Uint32(b[q:])
	q += 4
	var md []KV
	if n != 0 {
		if uint64(n)*8 > uint64(len(b)-q) {
			return kvs, false
		}
		if kvs == nil {
			kvs = d.kvArray(int(n))
		}
		first := len(kvs)
		for range n {
			if len(b)-q < 4 {
				return kvs[:first], false
			}
			l := uint64(le.Uint32(b[q:]))
			if l+8 > uint64(len(b)-q) {
				return kvs[:first], false
			}
			k := q + 4
			q = k + int(l)
			l = uint64(le.Uint32(b[q:]))
			if l+4 > uint64(len(b)-q) {
				return kvs[:first], false
			}
			v := q + 4
			q = v + int(l)
			// Extend and fill in place: appending a KV value would copy it
			// with a bulk write barrier while the GC is marking.
			if len(kvs) == cap(kvs) {
				kvs = slices.Grow(kvs, 1)
			}
			kvs = kvs[:len(kvs)+1]
			kv := &kvs[len(kvs)-1]
			kv.Key, kv.Value = nil, nil
			if k != v-4 {
				kv.Key = b[k : v-4 : v-4]
			}
			if v != q {
				kv.Value = b[v:q:q]
			}
		}
		md = kvs[first:len(kvs):len(kvs)]
	}
	r.HasEventTime, r.EventTime = has, ts
	r.Key, r.Payload = nil, nil
	if kl != 0 {
		r.Key = b[13:p:p]
	}
	if pl != 0 {
		r.Payload = b[p+4 : p+4+int(pl) : p+4+int(pl)]
	}
	r.Metadata = md
	d.off += q
	return kvs, true
}

// kvArray returns the shared metadata array of a batch. Batches are usually
// homogeneous: it is sized for n attributes times the records left, bounded
// by what the rest of the frame can hold.
func (d *decoder) kvArray(n int) []KV {
	c := n * (d.left + 1)
	if m := n + d.remaining()/8; c > m {
		c = m
	}
	return make([]KV, 0, c)
}

// record decodes one record into r. kvs is a shared backing array for the
// metadata of a whole batch; the grown array is returned.
func (d *decoder) record(r *Record, kvs []KV) []KV {
	if d.err == nil {
		var ok bool
		if kvs, ok = d.fastRecord(r, kvs); ok {
			return kvs
		}
	}
	start := d.off
	flags := d.u8("record flags")
	ts := int64(d.u64("event time"))
	if d.err != nil {
		return kvs
	}
	if flags&^RecordFlagEventTime != 0 {
		d.fail(start, "unknown record flags %#x", flags)
		return kvs
	}
	r.HasEventTime = flags&RecordFlagEventTime != 0
	if !r.HasEventTime && ts != 0 {
		d.fail(start+1, "event time %d set without the event-time flag", ts)
		return kvs
	}
	r.EventTime = ts
	r.Key = d.bytes("key")
	r.Payload = d.bytes("payload")
	n := d.count("metadata count", 8)
	if d.err != nil || n == 0 {
		r.Metadata = nil
		return kvs
	}
	if kvs == nil {
		kvs = d.kvArray(n)
	}
	first := len(kvs)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.bytes("metadata key")
		v := d.bytes("metadata value")
		kvs = append(kvs, KV{Key: k, Value: v})
	}
	r.Metadata = kvs[first:len(kvs):len(kvs)]
	return kvs
}

func (d *decoder) end() {
	if d.err == nil && d.off != len(d.src) {
		d.fail(d.off, "%d trailing bytes", len(d.src)-d.off)
	}
}

// DecodeInputBatch decodes an input batch frame, appending the records to
// dst. The records' byte slices alias src (zero-copy). On error dst is
// returned unchanged together with a wrapped *FrameError.
func DecodeInputBatch(src []byte, dst []Record) ([]Record, error) {
	d := decoder{src: src, frame: "input batch"}
	n := d.header(FrameInput)
	base := len(dst)
	var kvs []KV
	dst = slices.Grow(dst, n)
	for i := 0; i < n && d.err == nil; i++ {
		d.left = n - i - 1
		dst = dst[:len(dst)+1]
		kvs = d.record(&dst[len(dst)-1], kvs)
	}
	d.end()
	if d.err != nil {
		clear(dst[base:])
		return dst[:base], &wrapError{prefix: "decode input batch", err: d.err}
	}
	return dst, nil
}

// DecodeOutputBatch decodes an output batch frame produced for a batch of
// inputs records, appending the entries to dst. Byte slices alias src
// (zero-copy); Err strings are copied. On error dst is returned unchanged
// together with a wrapped *FrameError.
func DecodeOutputBatch(src []byte, inputs int, dst []Output) ([]Output, error) {
	dst, _, err := DecodeOutputBatchKV(src, inputs, dst, nil)
	return dst, err
}

// DecodeOutputBatchKV is DecodeOutputBatch for callers that recycle memory:
// the outputs' metadata is stored in kvs[:0] (grown as needed) instead of a
// new array, and the array is returned for the next call. Reusing it (or
// src) invalidates the outputs decoded before. A nil kvs allocates like
// DecodeOutputBatch.
func DecodeOutputBatchKV(src []byte, inputs int, dst []Output, kvs []KV) ([]Output, []KV, error) {
	d := decoder{src: src, frame: "output batch"}
	n := d.header(FrameOutput)
	base := len(dst)
	kvs = kvs[:0]
	spare := kvs
	dst = slices.Grow(dst, n)
	for i := 0; i < n && d.err == nil; i++ {
		d.left = n - i - 1
		start := d.off
		kind := OutputKind(d.u8("output kind"))
		idx := d.u32("input index")
		if d.err != nil {
			break
		}
		if uint64(idx) >= uint64(inputs) {
			d.fail(start+1, "input index %d out of range (batch has %d inputs)", idx, inputs)
			break
		}
		// Fill the entry field by field: reused dst elements hold stale
		// values, and a whole-struct copy costs a bulk write barrier.
		dst = dst[:len(dst)+1]
		o := &dst[len(dst)-1]
		o.Kind, o.Input = kind, idx
		switch kind {
		case KindRecord:
			o.Err = ""
			kvs = d.record(&o.Record, kvs)
		case KindDrop:
			o.Record, o.Err = Record{}, ""
		case KindError:
			o.Record = Record{}
			o.Err = string(d.bytes("error message"))
		default:
			d.fail(start, "unknown output kind %d", uint8(kind))
		}
	}
	d.end()
	if d.err != nil {
		clear(dst[base:])
		return dst[:base], spare, &wrapError{prefix: "decode output batch", err: d.err}
	}
	return dst, kvs, nil
}
