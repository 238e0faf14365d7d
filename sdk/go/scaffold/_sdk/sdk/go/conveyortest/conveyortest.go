// Package conveyortest runs a conveyor plugin natively, inside go test, so
// that a plugin's logic can be tested without compiling it to Wasm.
//
// New creates an instance of the transform registered in the test binary
// (by the plugin's init function) with a fake host: configuration from
// Options, a clock from Options, and captured logs and counters. Process
// encodes the records as an ABI v1 input batch frame, runs them through the
// same frame code the Wasm exports use, and decodes the output batch frame
// with package abi, so a frame the SDK gets wrong fails the test here too.
//
// The SDK keeps one plugin per process, as a Wasm instance has: do not use
// a Plugin from parallel tests, and Close it when done (it restores the
// default host). Native builds only: under wasip1, New returns an error.
package conveyortest

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/internal/hook"
)

// Options configure a plugin instance.
type Options struct {
	// Config is the plugin configuration, as a pipeline's `config:` map.
	Config map[string]string
	// Now is the host clock behind conveyor.Now. Nil means a fixed clock at
	// DefaultNow, so outputs are reproducible.
	Now func() time.Time
}

// DefaultNow is what conveyor.Now returns when Options.Now is nil.
var DefaultNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Output is one output entry: a record derived from input record Input, or,
// when Err is not empty, that record's failure. Dropped records have no
// output.
type Output struct {
	Input  int
	Record conveyor.Record
	Err    string
}

// LogEntry is a message the plugin logged with conveyor.Log.
type LogEntry struct {
	Level conveyor.Level
	Msg   string
}

// Plugin is a native instance of the registered plugin.
type Plugin struct {
	guest hook.Guest
	host  *fakeHost
	in    []byte
	recs  []abi.Record
	outs  []abi.Output
}

// New installs a fake host and initializes an instance of the registered
// plugin with o.Config. The error is the plugin's init failure, if any; the
// returned Plugin is nil then and the default host is restored.
func New(o Options) (*Plugin, error) {
	if hook.SetHost == nil || hook.NewGuest == nil {
		return nil, errors.New("conveyortest: plugins run natively only, not under wasip1")
	}
	h := &fakeHost{config: o.Config, now: o.Now, counters: map[string]int64{}}
	if h.now == nil {
		h.now = func() time.Time { return DefaultNow }
	}
	hook.SetHost(h)
	p := &Plugin{guest: hook.NewGuest(), host: h}
	if err := p.guest.Init(abi.AppendConfig(nil, o.Config)); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Process runs the records through the plugin as one batch and returns the
// outputs in the order the plugin produced them. The error reports a batch
// the SDK could not process or an output frame that does not decode.
func (p *Plugin) Process(in ...conveyor.Record) ([]Output, error) {
	p.recs = p.recs[:0]
	for _, r := range in {
		ar := abi.Record{Key: []byte(r.Key), Payload: r.Payload}
		if !r.EventTime.IsZero() {
			ar.EventTime, ar.HasEventTime = r.EventTime.UnixNano(), true
		}
		for _, kv := range r.Metadata {
			ar.Metadata = append(ar.Metadata, abi.KV{Key: []byte(kv.Key), Value: []byte(kv.Value)})
		}
		p.recs = append(p.recs, ar)
	}
	p.in = abi.AppendInputBatch(p.in[:0], p.recs)
	frame, err := p.guest.Process(p.in)
	if err != nil {
		return nil, err
	}
	p.outs, err = abi.DecodeOutputBatch(frame, len(in), p.outs[:0])
	if err != nil {
		return nil, fmt.Errorf("conveyortest: plugin wrote an invalid output frame: %w", err)
	}
	outs := make([]Output, 0, len(p.outs))
	for _, o := range p.outs {
		switch o.Kind {
		case abi.KindRecord:
			outs = append(outs, Output{Input: int(o.Input), Record: record(&o.Record)})
		case abi.KindError:
			outs = append(outs, Output{Input: int(o.Input), Err: o.Err})
		}
	}
	return outs, nil
}

// LookupResult is the answer for one key of Plugin.Lookup.
type LookupResult struct {
	Found bool
	// Row is the row of a hit (a copy; JSON text).
	Row string
}

// Lookup asks the plugin's lookup for keys as one batch, through the same
// frames the host uses, and returns one result per key. The error reports a
// failure of the SDK (no lookup registered) or a result frame that does not
// decode.
func (p *Plugin) Lookup(keys ...string) ([]LookupResult, error) {
	bk := make([][]byte, len(keys))
	for i, k := range keys {
		bk[i] = []byte(k)
	}
	frame, err := p.guest.Lookup(abi.AppendLookupRequest(nil, bk))
	if err != nil {
		return nil, err
	}
	res, err := abi.DecodeLookupResult(frame, len(keys), nil)
	if err != nil {
		return nil, fmt.Errorf("conveyortest: plugin wrote an invalid lookup result: %w", err)
	}
	out := make([]LookupResult, len(res))
	for i, r := range res {
		out[i] = LookupResult{Found: r.Found, Row: string(r.Row)}
	}
	return out, nil
}

// record copies an output record out of the frame.
func record(ar *abi.Record) conveyor.Record {
	r := conveyor.Record{Key: string(ar.Key), Payload: append([]byte{}, ar.Payload...)}
	if ar.HasEventTime {
		r.EventTime = time.Unix(0, ar.EventTime).UTC()
	}
	for _, kv := range ar.Metadata {
		r.Metadata = append(r.Metadata, conveyor.KV{Key: string(kv.Key), Value: string(kv.Value)})
	}
	return r
}

// Logs returns the messages logged so far.
func (p *Plugin) Logs() []LogEntry { return append([]LogEntry(nil), p.host.logs...) }

// Counters returns the counters added to so far.
func (p *Plugin) Counters() map[string]int64 { return maps.Clone(p.host.counters) }

// Close runs the plugin's OnClose hook and restores the default host.
func (p *Plugin) Close() {
	p.guest.Close()
	hook.SetHost(nil)
}

// fakeHost implements the host imports for a native plugin.
type fakeHost struct {
	config   map[string]string
	now      func() time.Time
	logs     []LogEntry
	counters map[string]int64
}

func (h *fakeHost) Log(level int32, msg string) {
	h.logs = append(h.logs, LogEntry{Level: conveyor.Level(level), Msg: msg})
}

func (h *fakeHost) Config(key string) (string, bool) {
	v, ok := h.config[key]
	return v, ok
}

func (h *fakeHost) Now() int64 { return h.now().UnixNano() }

func (h *fakeHost) MetricAdd(name string, delta int64) { h.counters[name] += delta }
