package conveyor

import (
	"errors"
	"fmt"
	"time"

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
	if g.hooks.transform == nil {
		return errors.New("conveyor: no transform registered; call conveyor.RegisterTransform from an init function")
	}
	if g.hooks.init != nil {
		return g.hooks.init() // the host names the plugin and the phase
	}
	return nil
}

// initError stores the text of err for conveyor_init to return; the bytes
// stay valid until the next call.
func (g *guest) initError(err error) []byte {
	g.errMsg = append(g.errMsg[:0], err.Error()...)
	return g.errMsg
}

// process decodes an input batch frame, runs the transform on every record
// and returns the output batch frame, valid until the next call. An error
// means the frame itself is unusable; per-record failures are entries in the
// returned frame.
func (g *guest) process(frame []byte) ([]byte, error) {
	if g.hooks.transform == nil || g.config == nil {
		return nil, errors.New("conveyor: conveyor_process called before a successful conveyor_init")
	}
	recs, err := abi.DecodeInputBatch(frame, g.recs[:0])
	if err != nil {
		return nil, fmt.Errorf("conveyor: decode input batch: %w", err)
	}
	g.recs = recs
	g.out.reset()
	for i := range recs {
		g.record(uint32(i), &recs[i])
	}
	clear(g.recs) // drop references into the input buffer
	return g.out.finish(), nil
}

// record runs the transform on input record i and writes its outputs.
func (g *guest) record(i uint32, ar *abi.Record) {
	r := Record{Key: string(ar.Key), Payload: ar.Payload}
	if ar.HasEventTime {
		r.EventTime = time.Unix(0, ar.EventTime).UTC()
	}
	if len(ar.Metadata) > 0 {
		r.Metadata = make(Metadata, len(ar.Metadata))
		for j, kv := range ar.Metadata {
			r.Metadata[j] = KV{Key: string(kv.Key), Value: string(kv.Value)}
		}
	}
	m := g.out.mark()
	g.out.input = i
	if err := g.call(r); err != nil {
		g.out.rollback(m)
		g.out.appendError(i, err.Error())
	}
}

// call runs the transform, turning a panic into an error.
func (g *guest) call(r Record) (err error) {
	g.out.active = true
	defer func() {
		g.out.active = false
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	err = g.hooks.transform(r, &g.out)
	if err == nil {
		return nil
	}
	if err.Error() == "" {
		return errors.New("transform failed with an empty error")
	}
	return err
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
