package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/valyala/fastjson"
)

// FileSourceConfig configures the `file` source.
type FileSourceConfig struct {
	Path         string `yaml:"path,required" doc:"a file, a glob (files are read in name order), or - for standard input; relative to the pipeline file"`
	Codec        string `yaml:"codec" doc:"json_lines: each line is a JSON document (malformed lines are dead-lettered with file:line); lines: each line is an opaque payload"`
	KeyField     string `yaml:"key_field" doc:"dot path of a payload field whose value becomes the record key (json_lines only)"`
	MaxLineBytes int    `yaml:"max_line_bytes" doc:"longer lines are dead-lettered"`
}

const (
	codecJSONLines = "json_lines"
	codecLines     = "lines"
)

func init() {
	Register(Spec{
		Type:    "file",
		Kind:    KindSource,
		Summary: "Reads JSON Lines (or plain lines) from files, a glob or standard input.",
		NewConfig: func() any {
			return &FileSourceConfig{Codec: codecJSONLines, MaxLineBytes: 1 << 20}
		},
		Check: func(cfg any) error { return cfg.(*FileSourceConfig).check() },
		Build: func(cfg any, env Env) (any, error) { return newFileSource(cfg.(*FileSourceConfig), env) },
	})
}

func (c *FileSourceConfig) check() error {
	if c.Codec != codecJSONLines && c.Codec != codecLines {
		return fmt.Errorf("unknown codec %q (want %s or %s)", c.Codec, codecJSONLines, codecLines)
	}
	if c.KeyField != "" && c.Codec != codecJSONLines {
		return fmt.Errorf("key_field needs codec %s", codecJSONLines)
	}
	if c.MaxLineBytes <= 0 {
		return fmt.Errorf("max_line_bytes must be positive, got %d", c.MaxLineBytes)
	}
	return nil
}

type fileSource struct {
	cfg     *FileSourceConfig
	env     Env
	files   []string // empty with stdin
	keyPath []string
	maxLine int
	chunk   int
}

func newFileSource(c *FileSourceConfig, env Env) (*fileSource, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	s := &fileSource{cfg: c, env: env, maxLine: c.MaxLineBytes, chunk: 1 << 20}
	if c.KeyField != "" {
		s.keyPath = strings.Split(c.KeyField, ".")
	}
	if s.env.BatchSize <= 0 {
		s.env.BatchSize = 1024
	}
	if c.Path == "-" {
		if env.Stdin == nil {
			return nil, errors.New("path is - but no standard input is available")
		}
		return s, nil
	}
	p := c.Path
	if !filepath.IsAbs(p) && env.BaseDir != "" {
		p = filepath.Join(env.BaseDir, p)
	}
	if strings.ContainsAny(c.Path, "*?[") {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("bad glob %q: %w", c.Path, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("glob %q matches no file", p)
		}
		sort.Strings(m)
		s.files = m
	} else {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("input file: %w", err)
		}
		s.files = []string{p}
	}
	return s, nil
}

func (s *fileSource) Close() error { return nil }

func (s *fileSource) Read(ctx context.Context, out Emitter) error {
	if s.files == nil {
		return s.readOne(ctx, out, s.env.Stdin, "stdin")
	}
	for _, f := range s.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		fh, err := os.Open(f)
		if err != nil {
			return fmt.Errorf("input file: %w", err)
		}
		err = s.readOne(ctx, out, fh, f)
		fh.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// readOne reads one stream. Lines are sliced out of large read buffers that
// are never reused, so a record's payload aliases the buffer instead of being
// copied; a buffer is freed when the last record pointing into it is.
func (s *fileSource) readOne(ctx context.Context, out Emitter, r io.Reader, name string) error {
	lr := lineReader{r: r, chunk: s.chunk, max: s.maxLine}
	bs := s.env.BatchSize
	var (
		slab  []record.Record
		acks  []record.Ack
		batch []*record.Record
	)
	json := s.cfg.Codec == codecJSONLines
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := out.Emit(ctx, batch)
		batch, slab, acks = nil, nil, nil
		return err
	}
	var flushErr error
	if r == s.env.Stdin {
		// A pipe may go quiet for a long time: hand over a partial batch
		// before every read that may block, so records never wait for
		// records that have not been written yet.
		lr.beforeRead = func() { flushErr = flush() }
	}
	for {
		line, lineNo, err := lr.next()
		if flushErr != nil {
			return flushErr
		}
		if errors.Is(err, errLineTooLong) {
			if rerr := out.Reject(ctx, line, fmt.Sprintf("%s:%d", name, lineNo), fmt.Errorf("line longer than max_line_bytes (%d)", s.maxLine)); rerr != nil {
				return rerr
			}
			continue
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if slab == nil {
			// Once per batch: stop promptly even if the Emitter does not.
			if err := ctx.Err(); err != nil {
				return err
			}
			slab = make([]record.Record, bs)
			acks = make([]record.Ack, bs)
			batch = make([]*record.Record, 0, bs)
		}
		i := len(batch)
		rec := &slab[i]
		rec.Payload = line
		rec.EventTime = record.NoEventTime
		rec.Source = s.env.Name
		acks[i].Seq = lineNo
		rec.Ack = &acks[i]
		if json {
			// Validate now (cheap, no allocation) so malformed lines are
			// rejected with their position; parse lazily, only if a stage
			// reads the payload.
			if perr := fastjson.ValidateBytes(line); perr != nil {
				// The slot is reused by the next line.
				*rec = record.Record{}
				if rerr := out.Reject(ctx, line, fmt.Sprintf("%s:%d", name, lineNo), fmt.Errorf("malformed JSON: %w", perr)); rerr != nil {
					return rerr
				}
				continue
			}
			rec.MarkValidJSON()
			if s.keyPath != nil {
				v, _ := rec.JSON()
				rec.Key = keyString(v.Get(s.keyPath...))
			}
		}
		batch = append(batch, rec)
		if len(batch) == bs {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// keyString renders a JSON value as a record key: strings unquoted, other
// values as their JSON text, missing as "".
func keyString(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	if v.Type() == fastjson.TypeString {
		return string(v.GetStringBytes())
	}
	return v.String()
}

var errLineTooLong = errors.New("line too long")

// lineReader splits a stream into lines without copying them.
//
// Lines are sliced out of read buffers that are only ever appended to: a
// buffer is filled by successive reads (a pipe delivers a few bytes at a
// time) until it is full, then a fresh one is allocated and the partial line
// at the end carried over. Bytes once handed out are never written again, and
// a returned line's capacity ends with it, so appending to it reallocates
// instead of overwriting the next line.
type lineReader struct {
	r          io.Reader
	chunk, max int
	buf        []byte
	pos        int // start of the current line in buf
	scan       int // buf[pos:scan] holds no newline
	eof        bool
	line       int64
	skipping   bool // inside an over-long line, discarding until newline
	// beforeRead, if set, runs before each read from r.
	beforeRead func()
}

// next returns the next line without its newline (and without a trailing
// \r), its 1-based line number, and io.EOF at the end. The returned slice
// stays valid forever (buffers are not reused). A line longer than max bytes
// (not counting \r\n) returns its first max bytes with errLineTooLong; the
// rest of it is skipped.
func (l *lineReader) next() ([]byte, int64, error) {
	for {
		from := max(l.pos, l.scan)
		if i := bytes.IndexByte(l.buf[from:], '\n'); i >= 0 {
			end := from + i
			line := l.buf[l.pos:end:end]
			l.pos, l.scan = end+1, end+1
			if l.skipping {
				l.skipping = false
				continue
			}
			return l.emit(line)
		}
		l.scan = len(l.buf)
		if l.eof {
			if l.pos == len(l.buf) || l.skipping {
				l.buf, l.pos, l.scan, l.skipping = nil, 0, 0, false
				return nil, l.line, io.EOF
			}
			line := l.buf[l.pos:len(l.buf):len(l.buf)]
			l.pos = len(l.buf)
			return l.emit(line)
		}
		rest := len(l.buf) - l.pos
		// Over-long already, unless the one byte too many is the \r of a
		// \r\n still to come.
		if !l.skipping && rest > l.max && (rest-1 > l.max || l.buf[len(l.buf)-1] != '\r') {
			line := l.buf[l.pos : l.pos+l.max : l.pos+l.max]
			l.line++
			l.skipping = true
			l.pos = len(l.buf)
			return line, l.line, errLineTooLong
		}
		if l.skipping {
			l.pos, rest = len(l.buf), 0
		}
		if len(l.buf) == cap(l.buf) {
			// Full: continue in a fresh buffer, carrying the partial line.
			nb := make([]byte, rest, max(l.chunk, 2*rest, 1))
			copy(nb, l.buf[l.pos:])
			l.buf, l.pos, l.scan = nb, 0, rest
		}
		if l.beforeRead != nil {
			l.beforeRead()
		}
		n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
		l.buf = l.buf[:len(l.buf)+n]
		if err == io.EOF {
			l.eof = true
		} else if err != nil {
			return nil, l.line, err
		}
	}
}

// emit numbers a complete line, trims its \r and checks its length.
func (l *lineReader) emit(line []byte) ([]byte, int64, error) {
	l.line++
	line = trimCR(line)
	if len(line) > l.max {
		return line[:l.max:l.max], l.line, errLineTooLong
	}
	return line, l.line, nil
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[: n-1 : n-1]
	}
	return b
}
