package connectors

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/valyala/fastjson"
)

// FileSourceConfig configures the `file` source.
type FileSourceConfig struct {
	Path         string `yaml:"path,required" doc:"a file, a glob (files are read in name order), or - for standard input; relative to the pipeline file" example:"logs/*.jsonl"`
	Codec        string `yaml:"codec" doc:"json_lines: each line is a JSON document (malformed lines are dead-lettered with file:line); lines: each line is an opaque payload" example:"lines"`
	KeyField     string `yaml:"key_field" doc:"dot path of a payload field whose value becomes the record key (json_lines only)" example:"user.id"`
	MaxLineBytes int    `yaml:"max_line_bytes" doc:"longer lines are dead-lettered" example:"4194304"`
	MaxDepth     int    `yaml:"max_depth" doc:"JSON lines nested deeper than this (objects and arrays) are dead-lettered at the source (0: the default)" example:"64"`
	ParseWorkers int    `yaml:"parse_workers" doc:"goroutines that split and validate the lines of a regular file, records kept in input order (0: GOMAXPROCS; 1: one goroutine); a named pipe or piped standard input is read on one goroutine, and partial batches are handed on before each read that may wait" example:"4"`
	// Follow and checkpoints: see file_follow.go and file_checkpoint.go.
	Follow             bool          `yaml:"follow" doc:"keep reading the file as it grows, until the run is stopped: a rotated file (the path now names a new file) is read to its end and the new one from its start; a truncated file is read again from its start. One regular file only: not standard input, a pipe or a glob" example:"true"`
	PollInterval       time.Duration `yaml:"poll_interval" doc:"with follow: how often a file at its end is checked for new lines, rotation and truncation" example:"1s"`
	CheckpointInterval time.Duration `yaml:"checkpoint_interval" doc:"with a state directory: how often the position after the last acknowledged line is saved; after a crash, lines read since the last save are read again" example:"5s"`
	CheckpointRecords  int           `yaml:"checkpoint_records" doc:"with a state directory: also save after this many more acknowledged lines (0: by time only)" example:"10000"`
}

// Defaults of poll_interval and checkpoint_interval (also used for 0).
const (
	defaultPollInterval       = 200 * time.Millisecond
	defaultCheckpointInterval = time.Second
)

const (
	codecJSONLines = "json_lines"
	codecLines     = "lines"
)

// SkipCounter is an optional interface of an Emitter. A source that skips
// input without making a record or a reject of it (the file source skips
// blank lines: empty or only white space) tells the Emitter how many lines
// it skipped and why ("blank line"), so that a summary can account for every
// line read. Skipped is called from the goroutine that calls Emit, with
// n > 0, when a batch is handed on (a count may come a batch after the lines
// it counts); by the time Read returns nil, the counts add up to every line
// skipped.
type SkipCounter interface {
	Skipped(n int, why string)
}

// skipBlank is the reason blank lines are skipped with.
const skipBlank = "blank line"

func init() {
	Register(Spec{
		Type:    "file",
		Kind:    KindSource,
		Summary: "Reads JSON Lines (or plain lines) from files, a glob or standard input.",
		NewConfig: func() any {
			return &FileSourceConfig{
				Codec: codecJSONLines, MaxLineBytes: 1 << 20, MaxDepth: DefaultMaxDepth,
				PollInterval: defaultPollInterval, CheckpointInterval: defaultCheckpointInterval,
			}
		},
		Check: func(cfg any) error { return cfg.(*FileSourceConfig).check() },
		Probe: probeFileSource,
		Build: func(cfg any, env Env) (any, error) { return newFileSource(cfg.(*FileSourceConfig), env) },
	})
}

var _ Enumerated = (*FileSourceConfig)(nil)

// Enums implements Enumerated.
func (c *FileSourceConfig) Enums() map[string][]string {
	return map[string][]string{"codec": {codecJSONLines, codecLines}}
}

func (c *FileSourceConfig) check() error {
	if err := CheckEnum("codec", "codec", c.Codec, c.Enums()["codec"]); err != nil {
		return err
	}
	if c.KeyField != "" && c.Codec != codecJSONLines {
		return keyErrorf("key_field", "key_field needs codec %s", codecJSONLines)
	}
	if c.MaxDepth < 0 {
		return keyErrorf("max_depth", "max_depth must not be negative, got %d", c.MaxDepth)
	}
	if c.MaxLineBytes <= 0 {
		return keyErrorf("max_line_bytes", "max_line_bytes must be positive, got %d", c.MaxLineBytes)
	}
	if c.ParseWorkers < 0 {
		return keyErrorf("parse_workers", "parse_workers must not be negative, got %d", c.ParseWorkers)
	}
	if c.CheckpointInterval < 0 {
		return keyErrorf("checkpoint_interval", "checkpoint_interval must not be negative, got %s", c.CheckpointInterval)
	}
	if c.PollInterval < 0 {
		return keyErrorf("poll_interval", "poll_interval must not be negative, got %s", c.PollInterval)
	}
	if c.CheckpointRecords < 0 {
		return keyErrorf("checkpoint_records", "checkpoint_records must not be negative, got %d", c.CheckpointRecords)
	}
	if c.Follow {
		if c.Path == "-" {
			return errors.New("follow needs a file: standard input cannot be followed")
		}
		if isGlob(c.Path) {
			return fmt.Errorf("follow needs one file, not a glob (%q)", c.Path)
		}
	}
	return nil
}

type fileSource struct {
	cfg     *FileSourceConfig
	env     Env
	files   []string // empty with stdin
	keyPath []string
	maxLine int
	// chunk is the read size: the buffer size of the one-goroutine path and
	// the block size of the parallel one. Tests make it tiny.
	chunk int
	// blockLines is about the most lines one parse job holds: a block is
	// cut into jobs of about this many lines, small enough that a job's
	// records are still in the cache when the consumer takes them (at
	// GOMAXPROCS 1, jobs of 1,024 lines cost no more CPU than the
	// one-goroutine path; whole 1 MiB blocks of ~100-byte lines cost 30%
	// more). Tests make it tiny.
	blockLines int
	// workers is the number of parse workers for a regular file (>= 1).
	workers int
	// poll and ckInterval are poll_interval and checkpoint_interval, their
	// defaults where 0.
	poll, ckInterval time.Duration
	// followWaiting, if set (tests), is called each time a followed file
	// is at its end, before the reader waits.
	followWaiting func()
	// ck saves the acknowledged prefix of each file; nil without
	// Env.Checkpoints, and for standard input.
	ck *fileCheckpointer
}

func newFileSource(c *FileSourceConfig, env Env) (*fileSource, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	s := &fileSource{cfg: c, env: env, maxLine: c.MaxLineBytes, chunk: 1 << 20, blockLines: 1024, workers: c.ParseWorkers}
	if s.workers == 0 {
		s.workers = runtime.GOMAXPROCS(0)
	}
	s.poll, s.ckInterval = c.PollInterval, c.CheckpointInterval
	if s.poll == 0 {
		s.poll = defaultPollInterval
	}
	if s.ckInterval == 0 {
		s.ckInterval = defaultCheckpointInterval
	}
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
	if isGlob(c.Path) {
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
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("input file: %w", err)
		}
		if c.Follow && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("follow needs a regular file, %s is not one (a pipe or a device cannot be followed)", p)
		}
		s.files = []string{p}
	}
	return s, nil
}

func isGlob(path string) bool { return strings.ContainsAny(path, "*?[") }

// Close stops the checkpoint committer after a last save of the
// acknowledged prefix; it is called once the engine has finished with the
// source's records.
func (s *fileSource) Close() error {
	if s.ck == nil {
		return nil
	}
	return s.ck.close()
}

// Read reads the input to its end (with follow, until ctx is done).
//
// With Env.Checkpoints (and not standard input), Read resumes each file
// where the last run's acknowledged prefix ended and tracks every record
// it emits (see prefixTracker); the position is saved every
// checkpoint_interval (and checkpoint_records), at the end of Read and by
// Close. The guarantee is at-least-once: every line of a file is
// delivered, filtered, dropped or dead-lettered at least once across runs.
// A saved position covers only lines whose records were all acknowledged,
// so after a crash the lines read again are those read since the last save
// that was not yet covered: at most about checkpoint_interval times the
// read rate, plus the records in flight in the pipeline.
func (s *fileSource) Read(ctx context.Context, out Emitter) error {
	if s.files == nil {
		if f, ok := s.env.Stdin.(*os.File); ok && s.workers > 1 {
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				// Redirected from a file: nothing to wait for.
				return s.readParallel(ctx, out, f, "stdin", s.workers)
			}
		}
		// A pipe may go quiet for a long time: hand over a partial batch
		// before every read that may block, so records never wait for
		// records that have not been written yet.
		return s.readSeq(ctx, out, s.env.Stdin, "stdin", true)
	}
	if s.env.Checkpoints != nil && s.ck == nil {
		ck, err := newFileCheckpointer(s.env.Checkpoints, s.ckInterval, s.cfg.CheckpointRecords, s.files, s.logger())
		if err != nil {
			return err
		}
		s.ck = ck
	}
	var err error
	if s.cfg.Follow {
		err = s.follow(ctx, out, s.files[0])
	} else {
		for _, f := range s.files {
			if err = ctx.Err(); err != nil {
				break
			}
			if err = s.readFile(ctx, out, f); err != nil {
				break
			}
		}
	}
	if s.ck != nil {
		if serr := s.ck.save(); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

func (s *fileSource) logger() *slog.Logger {
	if s.env.Logger != nil {
		return s.env.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// readFile reads one named file. A regular file larger than one block is
// read in blocks split on s.workers goroutines; a regular file is checked
// for shrinking; anything else (a named pipe, a device) is read like
// standard input, flushing before each read. With checkpoints, a regular
// file is resumed at its saved position and its records tracked.
func (s *fileSource) readFile(ctx context.Context, out Emitter, name string) error {
	fh, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("input file: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("input file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return s.readSeq(ctx, out, fh, name, true)
	}
	var at readAt
	if s.ck != nil {
		at.from, at.tr = s.ck.begin(name, fh, fi, false)
		if at.from.off > 0 {
			if _, err := fh.Seek(at.from.off, io.SeekStart); err != nil {
				return fmt.Errorf("input file: %w", err)
			}
		}
	}
	r := &shrinkCheck{f: fh, size: fi.Size(), read: at.from.off, next: at.from.off + shrinkCheckEvery}
	if s.workers > 1 && fi.Size()-at.from.off > int64(s.chunk) {
		// One block or less has nothing to share out.
		return s.readParallelAt(ctx, out, r, name, s.workers, at)
	}
	return s.readSeqAt(ctx, out, r, name, false, at)
}

// readAt says where a read starts and who tracks its records.
type readAt struct {
	from filePos
	tr   *prefixTracker // nil: records are not tracked
	// idle, with follow, is set by readSeqAt for the reader to call
	// before it waits for the file to grow.
	idle *func() error
}

// slot holds one record and its Ack; records are allocated in slabs of
// slots, so that one allocation serves many records.
type slot struct {
	rec   record.Record
	ack   record.Ack
	start int64 // the line's byte offset in its file
}

// lineParser is the per-line work shared by both read paths: a line (its
// \r trimmed, at most max bytes) becomes a record, a blank, or a reject.
type lineParser struct {
	json     bool
	keyPath  []string
	source   string // record.Source
	maxDepth int
}

// lineKind is what a line became.
type lineKind uint8

const (
	lineRecord lineKind = iota
	lineBlank
	lineReject
)

// parse makes a record of line in sl. For a reject it returns the reason and
// leaves sl as it was (zero), for the next line to use.
func (p *lineParser) parse(line []byte, lineNo int64, sl *slot) (lineKind, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return lineBlank, nil
	}
	if p.json {
		// Validate now (cheap, no allocation) so malformed lines are
		// rejected with their position; parse lazily, only if a stage
		// reads the payload. validLine answers for the common line in
		// one pass; the others get fastjson's and the limits' verdict.
		if !validLine(line, p.maxDepth) {
			if err := fastjson.ValidateBytes(line); err != nil {
				return lineReject, fmt.Errorf("malformed JSON: %w", err)
			}
			if err := checkJSONLimits(line, p.maxDepth); err != nil {
				return lineReject, err
			}
		}
	}
	rec := &sl.rec
	rec.Payload = line
	rec.EventTime = record.NoEventTime
	rec.Source = p.source
	sl.ack.Seq = lineNo
	rec.Ack = &sl.ack
	if p.json {
		rec.MarkValidJSON()
		if p.keyPath != nil {
			v, _ := rec.JSON()
			rec.Key = keyString(v.Get(p.keyPath...))
		}
	}
	return lineRecord, nil
}

func (s *fileSource) parser() lineParser {
	return lineParser{json: s.cfg.Codec == codecJSONLines, keyPath: s.keyPath, source: s.env.Name, maxDepth: cmp.Or(s.cfg.MaxDepth, DefaultMaxDepth)}
}

func (s *fileSource) tooLong() error {
	return fmt.Errorf("line longer than max_line_bytes (%d)", s.maxLine)
}

// origin is a dead-letter origin: file:line.
func origin(name string, lineNo int64) string {
	return name + ":" + strconv.FormatInt(lineNo, 10)
}

// emitState batches records for an Emitter: both read paths hand it records
// in input order and it emits batches of exactly bs records (a shorter one
// only at a flush), reporting blank lines to a SkipCounter as it goes.
//
// With a tracker, each record's Ack reports to it, and a flush registers
// the batch's lines and moves the tracker's frontier to fr (which the read
// loop moves past each line it has finished with) before it emits; rejects
// go through the Emitter's RecordRejecter, tracked like records.
type emitState struct {
	ctx    context.Context
	out    Emitter
	skips  SkipCounter // nil when out does not count skips
	bs     int
	batch  []*record.Record
	blanks int

	tr       *prefixTracker // nil: not tracked
	rejecter RecordRejecter // nil when not tracked or out is not one
	source   string         // Source of rejected records
	pend     []pendingLine  // lines of batch, to register at the flush
	fr       filePos        // every line up to here has been handed over
}

func newEmitState(ctx context.Context, out Emitter, bs int) *emitState {
	e := &emitState{ctx: ctx, out: out, bs: bs}
	e.skips, _ = out.(SkipCounter)
	return e
}

// track makes e track records for t, starting at from.
func (e *emitState) track(t *prefixTracker, from filePos, source string) {
	if t == nil {
		return
	}
	e.tr, e.fr, e.source = t, from, source
	e.rejecter, _ = e.out.(RecordRejecter)
}

func (e *emitState) add(sl *slot) error {
	if e.batch == nil {
		// Once per batch: stop promptly even if the Emitter does not.
		if err := e.ctx.Err(); err != nil {
			return err
		}
		e.batch = make([]*record.Record, 0, e.bs)
	}
	if e.tr != nil {
		sl.ack.Init(e.tr, sl.ack.Seq)
		e.pend = append(e.pend, pendingLine{line: sl.ack.Seq, start: sl.start})
	}
	e.batch = append(e.batch, &sl.rec)
	if len(e.batch) == e.bs {
		return e.flush()
	}
	return nil
}

// reject hands on a line that did not become a record. Tracked, it goes
// through RecordRejecter with an Ack like a record's; an Emitter without
// RecordRejecter cannot say when the dead letter is durable, so such a
// line counts as acknowledged once the frontier passes it.
func (e *emitState) reject(raw []byte, origin string, line, start int64, err error) error {
	if e.tr == nil || e.rejecter == nil {
		return e.out.Reject(e.ctx, raw, origin, err)
	}
	rec := &record.Record{Payload: raw, Origin: origin, Source: e.source, EventTime: record.NoEventTime, Ack: new(record.Ack)}
	rec.Ack.Init(e.tr, line)
	e.tr.register([]pendingLine{{line: line, start: start}}, filePos{})
	return e.rejecter.RejectRecord(e.ctx, rec, err)
}

// flush reports blank lines counted so far, registers tracked lines and
// emits the partial batch.
func (e *emitState) flush() error {
	if e.blanks > 0 && e.skips != nil {
		e.skips.Skipped(e.blanks, skipBlank)
	}
	e.blanks = 0
	if e.tr != nil {
		e.tr.register(e.pend, e.fr)
		e.pend = e.pend[:0]
	}
	if len(e.batch) == 0 {
		return nil
	}
	b := e.batch
	e.batch = nil
	return e.out.Emit(e.ctx, b)
}

// readSeq reads one stream on the calling goroutine. Lines are sliced out of
// large read buffers that are never reused, so a record's payload aliases the
// buffer instead of being copied; a buffer is freed when the last record
// pointing into it is. With flushBeforeRead (a pipe), a partial batch is
// emitted before every read, which may block.
func (s *fileSource) readSeq(ctx context.Context, out Emitter, r io.Reader, name string, flushBeforeRead bool) error {
	return s.readSeqAt(ctx, out, r, name, flushBeforeRead, readAt{})
}

// readSeqAt is readSeq from a position (r is there already), tracked.
func (s *fileSource) readSeqAt(ctx context.Context, out Emitter, r io.Reader, name string, flushBeforeRead bool, at readAt) error {
	lr := lineReader{r: r, chunk: s.chunk, max: s.maxLine, base: at.from.off, line: at.from.line}
	e := newEmitState(ctx, out, s.env.BatchSize)
	e.track(at.tr, at.from, s.env.Name)
	p := s.parser()
	var (
		slab []slot
		used int
	)
	var flushErr error
	if flushBeforeRead {
		lr.beforeRead = func() { flushErr = e.flush() }
	}
	if at.idle != nil {
		*at.idle = func() error {
			flushErr = e.flush()
			return flushErr
		}
	}
	for {
		line, lineNo, err := lr.next()
		if flushErr != nil {
			return flushErr
		}
		if errors.Is(err, errLineTooLong) {
			if rerr := e.reject(line, origin(name, lineNo), lineNo, lr.start, s.tooLong()); rerr != nil {
				return rerr
			}
			if lr.end >= 0 {
				e.fr = filePos{off: lr.end, line: lineNo}
			}
			continue
		}
		if err == io.EOF {
			e.fr = filePos{off: lr.base, line: lr.line}
			return e.flush()
		}
		if err != nil {
			// What was read before the error is good: hand it over.
			_ = e.flush()
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("read %s: %w", name, err)
		}
		if used == len(slab) {
			slab, used = make([]slot, e.bs), 0
		}
		sl := &slab[used]
		switch kind, perr := p.parse(line, lineNo, sl); kind {
		case lineBlank:
			e.blanks++
		case lineReject:
			if rerr := e.reject(line, origin(name, lineNo), lineNo, lr.start, perr); rerr != nil {
				return rerr
			}
		default:
			used++
			sl.start = lr.start
			if err := e.add(sl); err != nil {
				return err
			}
		}
		e.fr = filePos{off: lr.end, line: lineNo}
	}
}

// KeyOf is the key a file source with key_field keyField (a dot path)
// gives a record with this payload: the field's string unquoted, another
// value as its JSON text, "" when the field is absent or the payload is
// not JSON. A test harness uses it to key records it makes itself.
func KeyOf(payload []byte, keyField string) string {
	v, err := fastjson.ParseBytes(payload)
	if err != nil {
		return ""
	}
	return keyString(v.Get(strings.Split(keyField, ".")...))
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
	skipping   bool  // inside an over-long line, discarding until newline
	err        error // a read error, returned once the lines before it are
	// beforeRead, if set, runs before each read from r.
	beforeRead func()
	// base is the offset in the stream of buf[0] (after the end, at
	// io.EOF); start and end are the offsets of the line next returned
	// last and of the byte after it (its newline included), end -1 while
	// the rest of an over-long line is still to be skipped.
	base, start, end int64
}

// next returns the next line without its newline (and without a trailing
// \r), its 1-based line number, and io.EOF at the end. A read error is
// returned (from then on) after the complete lines read before it. The returned slice
// stays valid forever (buffers are not reused). A line longer than max bytes
// (not counting \r\n) returns its first max bytes with errLineTooLong; the
// rest of it is skipped.
func (l *lineReader) next() ([]byte, int64, error) {
	for {
		from := max(l.pos, l.scan)
		if i := bytes.IndexByte(l.buf[from:], '\n'); i >= 0 {
			end := from + i
			line := l.buf[l.pos:end:end]
			l.start, l.end = l.base+int64(l.pos), l.base+int64(end+1)
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
				l.base += int64(len(l.buf))
				l.buf, l.pos, l.scan, l.skipping = nil, 0, 0, false
				return nil, l.line, io.EOF
			}
			line := l.buf[l.pos:len(l.buf):len(l.buf)]
			l.start, l.end = l.base+int64(l.pos), l.base+int64(len(l.buf))
			l.pos = len(l.buf)
			return l.emit(line)
		}
		rest := len(l.buf) - l.pos
		// Over-long already, unless the one byte too many is the \r of a
		// \r\n still to come.
		if !l.skipping && rest > l.max && (rest-1 > l.max || l.buf[len(l.buf)-1] != '\r') {
			line := l.buf[l.pos : l.pos+l.max : l.pos+l.max]
			l.start, l.end = l.base+int64(l.pos), -1
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
			l.base += int64(l.pos)
			l.buf, l.pos, l.scan = nb, 0, rest
		}
		if l.err != nil {
			return nil, l.line, l.err
		}
		if l.beforeRead != nil {
			l.beforeRead()
		}
		n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
		l.buf = l.buf[:len(l.buf)+n]
		if err == io.EOF {
			l.eof = true
		} else if err != nil {
			// The lines completed by this read are returned first.
			l.err = err
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
