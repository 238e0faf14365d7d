// Package record defines the unit of data that flows through a conveyor-wasm
// pipeline. It is a leaf package so that conditions, connectors, plugins and
// the engine can share one record model without import cycles; the engine
// re-exports it as engine.Record.
package record

import (
	"math"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

// NoEventTime is the EventTime of a record whose event time is unknown.
const NoEventTime int64 = math.MinInt64

// Record is one event: a key, an opaque payload (JSON by default), string
// metadata, an event time and the name of the source that produced it.
//
// A Record is not safe for concurrent mutation. The engine hands each record
// to one stage at a time; fan-out clones a record before branches that may
// change it.
type Record struct {
	// Key identifies the record for partitioning and hash load balancing.
	Key string
	// Payload is the record body. JSON unless a stage says otherwise.
	Payload []byte
	// Metadata holds string attributes (headers, routing hints).
	Metadata Metadata
	// EventTime is the event time in Unix nanoseconds, or NoEventTime.
	EventTime int64
	// Source names the source (or source partition) the record came from.
	Source string
	// Origin says where the record was read from ("file.jsonl:12"), for
	// dead-letter reasons. Empty when unknown.
	Origin string
	// Ack follows the source record this one derives from; nil when the
	// record is not tracked (built by hand, in tests).
	Ack *Ack

	parsed   *fastjson.Value
	parseErr error
	parser   *fastjson.Parser
	state    uint8 // 0 not parsed, 1 parsed (parsed or parseErr set)
	valid    uint8 // 0 unknown, 1 the payload is valid JSON, 2 it is not
}

// New returns a record with the given key and payload and no event time.
func New(key string, payload []byte) *Record {
	return &Record{Key: key, Payload: payload, EventTime: NoEventTime}
}

// HasEventTime reports whether the record carries an event time.
func (r *Record) HasEventTime() bool { return r.EventTime != NoEventTime }

// Time returns the event time as a time.Time, or the zero Time when the
// record has none.
func (r *Record) Time() time.Time {
	if r.EventTime == NoEventTime {
		return time.Time{}
	}
	return time.Unix(0, r.EventTime).UTC()
}

// SetTime sets the event time from t.
func (r *Record) SetTime(t time.Time) { r.EventTime = t.UnixNano() }

// parsers recycles JSON parsers: a warm parser parses without allocating,
// a new one grows its value cache several times per document.
var parsers sync.Pool

// JSON returns the payload parsed as JSON. The payload is parsed at most once
// per record, on first use, however many conditions read it; the result is
// cached until SetPayload or Release is called. The returned value must not
// be used after that.
func (r *Record) JSON() (*fastjson.Value, error) {
	if r.state == 0 {
		if r.parser == nil {
			if p, ok := parsers.Get().(*fastjson.Parser); ok {
				r.parser = p
			} else {
				r.parser = new(fastjson.Parser)
			}
		}
		r.parsed, r.parseErr = r.parser.ParseBytes(r.Payload)
		r.state = 1
	}
	return r.parsed, r.parseErr
}

// Parsed reports whether the payload has been parsed (JSON was called since
// the payload was last set), so that a reader wanting one field can use the
// tree when it exists and scan the bytes when it does not.
func (r *Record) Parsed() bool { return r.state == 1 }

// SetPayload replaces the payload and forgets any cached parse.
func (r *Record) SetPayload(p []byte) {
	r.Payload = p
	r.parsed, r.parseErr, r.state, r.valid = nil, nil, 0, 0
}

// ValidJSON reports whether the payload is well-formed JSON, checking it
// (without building a tree) at most once. Readers that scan the bytes for a
// single field use it, so that a truncated document gives the same answer
// as a full parse would.
func (r *Record) ValidJSON() bool {
	if r.valid == 0 {
		r.valid = 2
		if r.state == 1 && r.parseErr == nil || fastjson.ValidateBytes(r.Payload) == nil {
			r.valid = 1
		}
	}
	return r.valid == 1
}

// JSONValidated reports whether the payload is already known to be
// well-formed JSON (marked by its source, checked by ValidJSON, or parsed),
// without checking it.
func (r *Record) JSONValidated() bool { return r.valid == 1 || r.state == 1 && r.parseErr == nil }

// MarkValidJSON records that the payload is known to be well-formed JSON
// (a source that validated it), sparing ValidJSON the check.
func (r *Record) MarkValidJSON() { r.valid = 1 }

// Release returns the record's parse state for reuse by other records. The
// engine calls it when a record's path ends (written, filtered, dropped,
// dead-lettered); the record must not be read after that.
func (r *Record) Release() {
	if r.parser != nil {
		parsers.Put(r.parser)
	}
	r.parser, r.parsed, r.parseErr, r.state = nil, nil, nil, 0
}

// Clone returns a copy of r that can be changed independently. The copy
// shares r's Ack: the caller forks the Ack when both continue. The payload
// bytes are shared (payloads are treated as immutable; use SetPayload to
// change one), the metadata is copied, and the JSON cache is not carried over.
func (r *Record) Clone() *Record {
	c := &Record{
		Key:       r.Key,
		Payload:   r.Payload,
		EventTime: r.EventTime,
		Source:    r.Source,
		Origin:    r.Origin,
		Ack:       r.Ack,
		valid:     r.valid, // same payload bytes
	}
	if len(r.Metadata) > 0 {
		c.Metadata = append(Metadata(nil), r.Metadata...)
	}
	return c
}
