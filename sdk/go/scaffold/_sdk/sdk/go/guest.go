package conveyor

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// guest is the state of one plugin instance: the registered hooks, the
// configuration, and the buffers reused across calls. The Wasm exports drive
// a single package-level guest; the native tests and package conveyortest
// drive their own. A guest is not safe for concurrent use, like the Wasm
// instance it stands for.
type guest struct {
	hooks  hooks
	config map[string]string // nil until init

	in     []byte       // conveyor_alloc buffer; only ever grows
	recs   []abi.Record // decoded input records, reused
	out    frameWriter  // output frame, reused
	errMsg []byte       // init error text returned to the host

	keys      [][]byte // decoded lookup keys, reused
	lookupOut []byte   // lookup result frame, reused

	// Per batch: the keys and metadata of all records in one string, and
	// the metadata entries of all records in one slice, consumed in order.
	strings string
	md      Metadata
}

// current is the guest whose configuration Config reads.
var current *guest

// minAlloc is the smallest input buffer; growing from it doubles.
const minAlloc = 64 << 10

// alloc returns a buffer of size bytes the host may write the next frame
// into. It reuses one buffer and grows it when needed; the contents are not
// preserved across growth, since every frame overwrites them.
func (g *guest) alloc(size uint32) []byte {
	if uint64(cap(g.in)) < uint64(size) || cap(g.in) == 0 {
		n := max(minAlloc, 2*cap(g.in))
		for uint64(n) < uint64(size) {
			n *= 2
		}
		g.in = make([]byte, n)
	}
	g.in = g.in[:cap(g.in)]
	return g.in[:size]
}

// inputAt returns the n bytes at linear-memory address ptr, where the host
// wrote a frame. They must lie within the alloc buffer, which starts at
// address base.
func (g *guest) inputAt(base, ptr, n uint32) ([]byte, error) {
	if ptr < base || uint64(ptr-base)+uint64(n) > uint64(cap(g.in)) {
		return nil, fmt.Errorf("conveyor: frame at %#x+%d lies outside the conveyor_alloc buffer at %#x+%d", ptr, n, base, cap(g.in))
	}
	off := ptr - base
	return g.in[off : off+n : off+n], nil
}

// init decodes the configuration frame and runs the OnInit hook.
func (g *guest) init(frame []byte) error {
	cfg, err := abi.DecodeConfig(frame)
	if err != nil {
		return fmt.Errorf("conveyor: decode config frame: %w", err)
	}
	if cfg == nil {
		cfg = map[string]string{}
	}
	g.config = cfg
	current = g
	if g.hooks.transform == nil && g.hooks.lookup == nil {
		return errors.New("conveyor: nothing registered; call conveyor.RegisterTransform or conveyor.RegisterLookup from an init function")
	}
	if g.hooks.init != nil {
		return g.hooks.init() // the host names the plugin and the phase
	}
	return nil
}

// initError stores the text of err for conveyor_init to return; the bytes
// stay valid until the next call. The text is never empty: a zero pointer
// and length would read as success (ABI.md, section 7.1).
func (g *guest) initError(err error) []byte {
	msg := err.Error()
	if msg == "" {
		msg = "init failed with an empty error"
	}
	g.errMsg = append(g.errMsg[:0], msg...)
	return g.errMsg
}

// process decodes an input batch frame, runs the transform on every record
// and returns the output batch frame, valid until the next call. An error
// means the frame itself is unusable; per-record failures are entries in the
// returned frame.
func (g *guest) process(frame []byte) ([]byte, error) {
	if g.hooks.transform == nil || g.config == nil {
		return nil, errors.New("conveyor: conveyor_process called without a registered transform or before a successful conveyor_init")
	}
	recs, err := abi.DecodeInputBatch(frame, g.recs[:0])
	if err != nil {
		return nil, fmt.Errorf("conveyor: decode input batch: %w", err)
	}
	g.recs = recs
	g.strings, g.md = batchStrings(recs), nil
	g.out.reset()
	for i := 0; i < len(recs); {
		i = g.run(i)
	}
	clear(g.recs) // drop references into the input buffer
	g.strings, g.md = "", nil
	return g.out.finish(), nil
}

// batchStrings copies the keys and metadata of a batch into one string, so
// that the per-record strings handed to the transform cost one allocation
// per batch instead of one per string (allocation dominates the SDK's cost
// under Wasm). Substrings of it stay valid however long a transform keeps
// them.
func batchStrings(recs []abi.Record) string {
	n := 0
	for i := range recs {
		n += len(recs[i].Key)
		for _, kv := range recs[i].Metadata {
			n += len(kv.Key) + len(kv.Value)
		}
	}
	if n == 0 {
		return ""
	}
	b, off := make([]byte, n), 0
	for i := range recs {
		off += copy(b[off:], recs[i].Key)
		for _, kv := range recs[i].Metadata {
			off += copy(b[off:], kv.Key)
			off += copy(b[off:], kv.Value)
		}
	}
	// b is never written again, so the string is immutable like any other.
	return unsafe.String(&b[0], n)
}

// run transforms g.recs[i:] in order and returns len(g.recs), or, when a
// transform panics, records the panic as that record's error and returns
// the index to resume from. One deferred recover per batch rather than per
// record keeps the common path cheap.
func (g *guest) run(i int) (next int) {
	w := &g.out
	var m mark
	defer func() {
		if p := recover(); p != nil {
			w.active = false
			w.rollback(m)
			w.appendError(uint32(i), fmt.Sprintf("panic: %v", p))
			next = i + 1
		}
	}()
	recs, transform := g.recs, g.hooks.transform
	for ; i < len(recs); i++ {
		r := g.record(&recs[i])
		r.Index = i
		m = mark{len(w.buf), w.count}
		w.input, w.active = uint32(i), true
		err := transform(r, w)
		w.active = false
		if err != nil {
			w.rollback(m)
			msg := err.Error()
			if msg == "" {
				msg = "transform failed with an empty error"
			}
			w.appendError(uint32(i), msg)
		}
	}
	return i
}

// record converts a decoded record, taking its strings from g.strings in
// order.
func (g *guest) record(ar *abi.Record) Record {
	var r Record
	r.Payload = ar.Payload
	if n := len(ar.Key); n > 0 {
		r.Key, g.strings = g.strings[:n], g.strings[n:]
	}
	if ar.HasEventTime {
		r.EventTime = time.Unix(0, ar.EventTime).UTC()
	}
	if n := len(ar.Metadata); n > 0 {
		if len(g.md) < n {
			g.md = make(Metadata, max(n, len(g.recs)))
		}
		// Capped so that a transform appending to it cannot overwrite the
		// next record's metadata.
		r.Metadata, g.md = g.md[:n:n], g.md[n:]
		for j, kv := range ar.Metadata {
			r.Metadata[j] = KV{Key: g.take(len(kv.Key)), Value: g.take(len(kv.Value))}
		}
	}
	return r
}

// take returns the next n bytes of g.strings.
func (g *guest) take(n int) string {
	s := g.strings[:n]
	g.strings = g.strings[n:]
	return s
}

// close runs the OnClose hook.
func (g *guest) close() {
	if current == g {
		current = nil
	}
	if g.hooks.close != nil {
		g.hooks.close()
	}
}
