package connectors

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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
	Path        string `yaml:"path,required" doc:"output file, relative to the pipeline file; parent directories are created"`
	Format      string `yaml:"format" doc:"payload (one payload per line) or envelope (a JSON object per line with key, payload, metadata, event_time, source)"`
	Append      bool   `yaml:"append" doc:"append instead of truncating"`
	BufferBytes int    `yaml:"buffer_bytes" doc:"write buffer size"`
}

// StdoutSinkConfig configures the `stdout` sink.
type StdoutSinkConfig struct {
	Format string `yaml:"format" doc:"payload or envelope"`
}

func checkFormat(f string) error {
	if f != FormatPayload && f != FormatEnvelope {
		return fmt.Errorf("unknown format %q (want %s or %s)", f, FormatPayload, FormatEnvelope)
	}
	return nil
}

func init() {
	Register(Spec{
		Type: "file", Kind: KindSink,
		Summary:   "Writes records as lines to a file.",
		NewConfig: func() any { return &FileSinkConfig{Format: FormatPayload, BufferBytes: 1 << 20} },
		Check:     func(cfg any) error { return checkFormat(cfg.(*FileSinkConfig).Format) },
		Build: func(cfg any, env Env) (any, error) {
			c := cfg.(*FileSinkConfig)
			if err := checkFormat(c.Format); err != nil {
				return nil, err
			}
			p := c.Path
			if !filepath.IsAbs(p) && env.BaseDir != "" {
				p = filepath.Join(env.BaseDir, p)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, fmt.Errorf("output directory: %w", err)
			}
			flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
			if c.Append {
				flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
			}
			f, err := os.OpenFile(p, flags, 0o644)
			if err != nil {
				return nil, fmt.Errorf("output file: %w", err)
			}
			return NewWriterSink(f, c.Format, max(c.BufferBytes, 4096)), nil
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

// WriterSink writes records as lines to an io.WriteCloser.
type WriterSink struct {
	w      *bufio.Writer
	c      io.Closer
	format string
	line   []byte
}

// NewWriterSink returns a sink writing lines in format (FormatPayload or
// FormatEnvelope) to w through a buffer of bufSize bytes.
func NewWriterSink(w io.WriteCloser, format string, bufSize int) *WriterSink {
	return &WriterSink{w: bufio.NewWriterSize(w, bufSize), c: w, format: format}
}

// Write writes one line per record.
func (s *WriterSink) Write(_ context.Context, batch []*record.Record) error {
	for _, r := range batch {
		if s.format == FormatEnvelope {
			s.line = AppendEnvelope(s.line[:0], r)
			s.line = append(s.line, '\n')
			if _, err := s.w.Write(s.line); err != nil {
				return err
			}
			continue
		}
		if _, err := s.w.Write(r.Payload); err != nil {
			return err
		}
		if err := s.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes buffered lines through.
func (s *WriterSink) Flush() error { return s.w.Flush() }

// Close flushes and closes the underlying writer.
func (s *WriterSink) Close() error {
	err := s.w.Flush()
	if cerr := s.c.Close(); err == nil {
		err = cerr
	}
	return err
}

// AppendEnvelope appends r as a JSON object on one line: {"key", "payload"
// (embedded JSON when the payload is valid JSON, with any line breaks
// between its tokens removed, else a string), "metadata",
// "event_time" (RFC 3339, omitted when none), "source"}.
func AppendEnvelope(b []byte, r *record.Record) []byte {
	b = append(b, `{"key":`...)
	b = AppendJSONString(b, r.Key)
	b = append(b, `,"payload":`...)
	if len(r.Payload) > 0 && fastjson.ValidateBytes(r.Payload) == nil {
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
