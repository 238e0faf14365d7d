package connectors

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/valyala/fastjson"
)

// Output formats of the file and stdout sinks.
const (
	// FormatPayload writes each record's payload as one line.
	FormatPayload = "payload"
	// FormatEnvelope writes one JSON object per record with key, payload,
	// metadata, event time and source.
	FormatEnvelope = "envelope"
)

// FileSinkConfig configures the `file` sink.
type FileSinkConfig struct {
	Path        string `yaml:"path,required" doc:"output file, relative to the pipeline file; parent directories are created" example:"out/orders.jsonl"`
	Format      string `yaml:"format" doc:"payload (one payload per line) or envelope (a JSON object per line with key, payload, metadata, event_time, source)" example:"envelope"`
	Append      bool   `yaml:"append" doc:"append instead of truncating; a partial last line left by a run that was killed is removed first (logged as a warning with the byte count)" example:"true"`
	BufferBytes int    `yaml:"buffer_bytes" doc:"write buffer size" example:"65536"`
	Sync        string `yaml:"sync" doc:"none: a flush hands lines to the operating system, so they survive the process being killed but not a power loss; flush: fsync after every flush, so they survive a power loss too, but every flush waits for the disk (about 2 ms per flush on a virtual disk: go test ./connectors -bench FileSink)" example:"flush"`
}

var _ PathUser = (*FileSinkConfig)(nil)

// Paths returns the file the sink writes, absolute and cleaned.
func (c *FileSinkConfig) Paths(baseDir string) (reads, writes []string) {
	return nil, []string{absPath(baseDir, c.Path)}
}

func (c *FileSinkConfig) check() error {
	return errors.Join(checkFormat(c.Format), checkSync(c.Sync))
}

// StdoutSinkConfig configures the `stdout` sink.
type StdoutSinkConfig struct {
	Format string `yaml:"format" doc:"payload or envelope" example:"envelope"`
}

var formats = []string{FormatPayload, FormatEnvelope}

var (
	_ Enumerated = (*FileSinkConfig)(nil)
	_ Enumerated = (*StdoutSinkConfig)(nil)
)

// Enums implements Enumerated.
func (c *FileSinkConfig) Enums() map[string][]string {
	return map[string][]string{"format": formats, "sync": syncPolicies}
}

// Enums implements Enumerated.
func (c *StdoutSinkConfig) Enums() map[string][]string {
	return map[string][]string{"format": formats}
}

func checkFormat(f string) error {
	return CheckEnum("format", "format", f, formats)
}

func init() {
	Register(Spec{
		Type: "file", Kind: KindSink,
		Summary:   "Writes records as lines to a file.",
		NewConfig: func() any { return &FileSinkConfig{Format: FormatPayload, BufferBytes: 1 << 20, Sync: SyncNone} },
		Check:     func(cfg any) error { return cfg.(*FileSinkConfig).check() },
		Probe:     probeFileSink,
		Build: func(cfg any, env Env) (any, error) {
			c := cfg.(*FileSinkConfig)
			if err := c.check(); err != nil {
				return nil, err
			}
			p := c.Path
			if !filepath.IsAbs(p) && env.BaseDir != "" {
				p = filepath.Join(env.BaseDir, p)
			}
			return openFileSink(p, c, env.Logger)
		},
	})
	Register(Spec{
		Type: "stdout", Kind: KindSink,
		Summary:   "Writes records as lines to standard output.",
		NewConfig: func() any { return &StdoutSinkConfig{Format: FormatPayload} },
		Check:     func(cfg any) error { return checkFormat(cfg.(*StdoutSinkConfig).Format) },
		Build: func(cfg any, env Env) (any, error) {
			c := cfg.(*StdoutSinkConfig)
			if err := checkFormat(c.Format); err != nil {
				return nil, err
			}
			w := env.Stdout
			if w == nil {
				w = os.Stdout
			}
			return NewWriterSink(nopCloser{w}, c.Format, 64<<10), nil
		},
	})
	Register(Spec{
		Type: "discard", Kind: KindSink,
		Summary:   "Accepts and forgets records (benchmarks, tests).",
		NewConfig: func() any { return &struct{}{} },
		Build:     func(any, Env) (any, error) { return discard{}, nil },
	})
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type discard struct{}

func (discard) Write(context.Context, []*record.Record) error { return nil }
func (discard) Flush() error                                  { return nil }
func (discard) Close() error                                  { return nil }

// WriterSink writes records as lines to an io.WriteCloser. It cannot take
// back what it has passed to the writer: after an error it empties its
// buffer (those records are dropped, as the Sink contract asks), but lines
// already written, possibly a partial one, stay written; CanRollback
// reports false.
type WriterSink struct {
	w      *bufio.Writer
	dst    io.WriteCloser
	format string
	line   []byte
}

var (
	_ Sink       = (*WriterSink)(nil)
	_ Rollbacker = (*WriterSink)(nil)
)

// NewWriterSink returns a sink writing lines in format (FormatPayload or
// FormatEnvelope) to w through a buffer of bufSize bytes.
func NewWriterSink(w io.WriteCloser, format string, bufSize int) *WriterSink {
	return &WriterSink{w: bufio.NewWriterSize(w, bufSize), dst: w, format: format}
}

// Write writes one line per record into the buffer, and through to the
// writer when it fills. After an error the buffer is empty and the sink
// accepts writes again.
func (s *WriterSink) Write(_ context.Context, batch []*record.Record) error {
	var err error
	if s.line, err = writeLines(s.w, s.format, batch, s.line); err != nil {
		s.w.Reset(s.dst)
		return err
	}
	return nil
}

// Flush writes buffered lines through. After an error the buffer is empty
// and the sink accepts writes again.
func (s *WriterSink) Flush() error {
	if err := s.w.Flush(); err != nil {
		s.w.Reset(s.dst)
		return err
	}
	return nil
}

// CanRollback reports false: the writer keeps what it was given.
func (s *WriterSink) CanRollback() bool { return false }

// Close flushes and closes the underlying writer.
func (s *WriterSink) Close() error {
	err := s.Flush()
	if cerr := s.dst.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeLines writes one line per record to w in format, using line as
// scratch space, which it returns for reuse.
func writeLines(w *bufio.Writer, format string, batch []*record.Record, line []byte) ([]byte, error) {
	for _, r := range batch {
		if format == FormatEnvelope {
			line = AppendEnvelope(line[:0], r)
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return line, err
			}
			continue
		}
		if _, err := w.Write(r.Payload); err != nil {
			return line, err
		}
		if err := w.WriteByte('\n'); err != nil {
			return line, err
		}
	}
	return line, nil
}

// AppendEnvelope appends r as a JSON object on one line: {"key", "payload"
// (embedded JSON when the payload is valid JSON, with any line breaks
// between its tokens removed, else a string; JSON is UTF-8, so a payload
// holding invalid UTF-8 is a string, with U+FFFD for each invalid byte),
// "metadata",
// "event_time" (RFC 3339, omitted when none), "source"}.
func AppendEnvelope(b []byte, r *record.Record) []byte {
	b = append(b, `{"key":`...)
	b = AppendJSONString(b, r.Key)
	b = append(b, `,"payload":`...)
	if len(r.Payload) > 0 && fastjson.ValidateBytes(r.Payload) == nil && utf8.Valid(r.Payload) {
		b = appendOneLine(b, r.Payload)
	} else {
		b = AppendJSONString(b, string(r.Payload))
	}
	b = append(b, `,"metadata":{`...)
	for i, kv := range r.Metadata {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, kv.Key)
		b = append(b, ':')
		b = AppendJSONString(b, kv.Value)
	}
	b = append(b, '}')
	if r.HasEventTime() {
		b = append(b, `,"event_time":"`...)
		b = r.Time().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if r.Source != "" {
		b = append(b, `,"source":`...)
		b = AppendJSONString(b, r.Source)
	}
	return append(b, '}')
}

// appendOneLine appends valid JSON without its \n and \r bytes. JSON
// strings cannot hold raw control characters, so every \n or \r in valid
// JSON is insignificant whitespace; dropping it keeps an envelope on one
// line (and the line-per-record framing intact) when a payload is
// pretty-printed.
func appendOneLine(b, js []byte) []byte {
	if bytes.IndexByte(js, '\n') < 0 && bytes.IndexByte(js, '\r') < 0 {
		return append(b, js...)
	}
	for _, c := range js {
		if c != '\n' && c != '\r' {
			b = append(b, c)
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string literal; invalid UTF-8 is
// replaced by U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
