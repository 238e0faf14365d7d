// Package connectors holds the sources and sinks a pipeline reads from and
// writes to, and the registry through which the engine finds them by type
// name. Each connector registers a Spec whose config struct is at once the
// validator (the engine decodes the user's YAML into it, strictly, with
// positions) and the documentation (`conveyor-wasm docs` prints it).
package connectors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// Emitter is how a source hands records to the pipeline.
type Emitter interface {
	// Emit hands a batch to the pipeline, which owns the records (and the
	// slice) afterwards. It blocks while the pipeline is full: that is the
	// backpressure a source feels. It returns an error once the pipeline
	// stops accepting records (ctx done).
	Emit(ctx context.Context, batch []*record.Record) error
	// Reject reports input that could not become a record (a malformed
	// line). It is sent to the dead-letter sink with origin and err as the
	// reason, and counted; the source carries on.
	Reject(ctx context.Context, raw []byte, origin string, err error) error
}

// Source produces records. Read runs until the input is exhausted (nil) or
// ctx is cancelled (ctx.Err()); it is called once.
type Source interface {
	Read(ctx context.Context, out Emitter) error
	Close() error
}

// Sink consumes records. Its methods are never called concurrently.
//
// The delivery contract: Write buffers records. It may pass some of them on
// early (when a buffer fills), but a record counts as delivered only once a
// later Flush returns nil. Flush makes every record written since the last
// successful Flush durable as far as the sink promises (a file sink: handed
// to the operating system, and fsynced when its sync policy says so); only
// then may the engine acknowledge those records.
//
// If Write or Flush returns an error, the sink has discarded every record
// written since the last successful Flush, as if it had never been written
// (a file sink truncates its file back to its size after that Flush and
// empties its buffer), and it accepts Writes again: the engine may write
// those records once more (a retry) or dead-letter them, and a retry that
// succeeds delivers each record once. A sink that cannot take back what it
// has passed on (standard output, a pipe) says so through Rollbacker: after
// its error, some of those records, and a partial line, may have reached
// the destination. A sink that cannot even restore a consistent state (the
// rollback itself failed) returns an error from every later call.
//
// Close flushes as Flush does and releases the sink; records written since
// the last successful Flush are delivered only if Close returns nil.
type Sink interface {
	// Write buffers batch; the sink does not keep the records after it
	// returns.
	Write(ctx context.Context, batch []*record.Record) error
	// Flush makes everything written since the last successful Flush
	// durable, as the sink promises.
	Flush() error
	Close() error
}

// Rollbacker is an optional interface of a Sink. CanRollback reports
// whether the sink keeps the rollback half of the Sink contract: after a
// failed Write or Flush, nothing written since the last successful Flush
// is left at its destination. A Sink that does not implement Rollbacker
// keeps it. When CanRollback is false, a retry after an error may deliver
// some records twice, and a dead-lettered record may also have been
// delivered, possibly as a partial line.
type Rollbacker interface {
	CanRollback() bool
}

// PathUser is an optional interface of a source or sink config: the files
// the connector would read and write, so that the engine can refuse, before
// it opens anything, a source that would read a sink's output and two sinks
// that would write one file. Paths are absolute and cleaned, relative ones
// resolved against baseDir (Env.BaseDir); reads may be globs (see
// Overlaps). Paths opens nothing and may be called on an unchecked config;
// what is not a file (standard input) is not listed.
type PathUser interface {
	Paths(baseDir string) (reads, writes []string)
}

// Kind says whether a connector is a source or a sink.
type Kind int

// Connector kinds.
const (
	KindSource Kind = iota + 1
	KindSink
	// KindLookup is a lookup service: a keyed table that lookup stages
	// enrich records from (see LookupService).
	KindLookup
)

// String returns "source", "sink", "lookup", or "Kind(n)" for an invalid
// kind.
func (k Kind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindSink:
		return "sink"
	case KindLookup:
		return "lookup"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Env is what a connector may use when it is built.
type Env struct {
	// BaseDir is the directory relative paths are resolved against (the
	// pipeline file's directory).
	BaseDir string
	// BatchSize is the preferred number of records per Emit.
	BatchSize int
	// Name is the source's name or the sink service's name.
	Name   string
	Logger *slog.Logger
	Stdin  io.Reader
	Stdout io.Writer
	// Checkpoints, for a source, keeps its resume position across runs;
	// nil when the run keeps no checkpoints.
	Checkpoints Checkpoints
	// LookupFields, given to Probe for a lookup service, lists the field
	// combinations the pipeline's lookup stages key it by.
	LookupFields [][]string
}

// Spec describes one connector type.
type Spec struct {
	Type    string
	Kind    Kind
	Summary string
	// NewConfig returns a pointer to a config struct holding the defaults.
	// Its fields carry `yaml:"name"` and `doc:"..."` tags.
	NewConfig func() any
	// Build makes a Source (KindSource), a Sink (KindSink) or a
	// LookupService (KindLookup) from a config returned by NewConfig and
	// filled in from the pipeline file.
	Build func(cfg any, env Env) (any, error)
	// Check validates a decoded config without opening anything, for
	// `validate`; nil means no checks beyond decoding.
	Check func(cfg any) error
	// Probe checks, for `validate`, what a Build of cfg would meet in the
	// environment (files exist, directories can be written, a table
	// loads), creating, truncating and writing nothing; see ProbeSpec. Nil
	// means the connector needs nothing from the environment.
	Probe func(cfg any, env Env) error
}

var (
	mu    sync.RWMutex
	specs = map[string]Spec{}
)

func key(k Kind, typ string) string { return k.String() + "/" + typ }

// Register adds a connector type. It panics on a duplicate or on a kind
// other than KindSource and KindSink, like database/sql.Register:
// registration happens in init.
func Register(s Spec) {
	if s.Kind != KindSource && s.Kind != KindSink && s.Kind != KindLookup {
		panic(fmt.Sprintf("connectors: %q registered with invalid %s", s.Type, s.Kind))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := specs[key(s.Kind, s.Type)]; dup {
		panic(fmt.Sprintf("connectors: %s %q registered twice", s.Kind, s.Type))
	}
	specs[key(s.Kind, s.Type)] = s
}

// Lookup finds the spec of a connector type.
func Lookup(k Kind, typ string) (Spec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	s, ok := specs[key(k, typ)]
	return s, ok
}

// Types lists the registered type names of kind k, sorted.
func Types(k Kind) []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for _, s := range specs {
		if s.Kind == k {
			out = append(out, s.Type)
		}
	}
	sort.Strings(out)
	return out
}

// BuildSource builds a source from a spec and its decoded config.
func BuildSource(s Spec, cfg any, env Env) (Source, error) {
	x, err := s.Build(cfg, env)
	if err != nil {
		return nil, fmt.Errorf("source %q (%s): %w", env.Name, s.Type, err)
	}
	return x.(Source), nil
}

// BuildSink builds a sink from a spec and its decoded config.
func BuildSink(s Spec, cfg any, env Env) (Sink, error) {
	x, err := s.Build(cfg, env)
	if err != nil {
		return nil, fmt.Errorf("sink %q (%s): %w", env.Name, s.Type, err)
	}
	return x.(Sink), nil
}
