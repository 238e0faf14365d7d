package connectors

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// Sync policies of the file sink.
const (
	// SyncNone hands lines to the operating system on Flush: they survive
	// the process being killed, not the machine losing power.
	SyncNone = "none"
	// SyncFlush fsyncs the file after every Flush (and on Close): flushed
	// lines survive a power loss, at the cost of one fsync per Flush.
	SyncFlush = "flush"
)

var syncPolicies = []string{SyncNone, SyncFlush}

func checkSync(s string) error {
	return CheckEnum("sync", "sync policy", s, syncPolicies)
}

// sinkFile is what the file sink needs of its file. *os.File has it; tests
// fake it to fail after a number of bytes, as a full disk does.
type sinkFile interface {
	io.Writer
	Truncate(size int64) error
	Sync() error
	Close() error
}

// fileSink is the `file` sink. It keeps the Sink contract by remembering
// committed, the file's size after the last successful Flush: on any error
// it truncates the file back to it and empties its buffer, so the file only
// ever holds the lines of successful Flushes, each whole.
//
// The file is opened with O_APPEND in both modes (after O_TRUNC when not
// appending): every write goes to the end of the file, so after a rollback
// truncates it the next write continues at the committed size without a
// seek, and no hole can open.
type fileSink struct {
	f       sinkFile
	w       *bufio.Writer
	path    string
	format  string
	sync    bool
	regular bool // a regular file: it can be truncated, so rolled back
	// committed is the file's size after the last successful Flush (or
	// when the sink opened); pending counts the bytes written to the file
	// since.
	committed, pending int64
	// broken is set when a rollback failed: the file may hold a partial
	// line, so every later call fails.
	broken error
	line   []byte
}

var (
	_ Sink       = (*fileSink)(nil)
	_ Rollbacker = (*fileSink)(nil)
)

// openFileSink opens (creating parent directories) the file sink's file
// and, when appending, repairs a torn last line.
func openFileSink(path string, c *FileSinkConfig, log *slog.Logger) (*fileSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if !c.Append {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("output file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("output file: %w", err)
	}
	// The file is opened write-only (read-write would keep a named pipe
	// from ever reporting that its reader left); reading its tail takes a
	// second, read-only handle.
	var tail io.ReaderAt
	if c.Append && fi.Mode().IsRegular() && fi.Size() > 0 {
		r, err := os.Open(path)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("output file: %w", err)
		}
		defer r.Close()
		tail = r
	}
	s, err := newFileSink(f, tail, path, fi.Size(), fi.Mode().IsRegular(), c, log)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// newFileSink makes a sink writing to f, whose size is size. When c.Append
// is set and f is a regular file whose last byte is not '\n' (an earlier
// writer was killed mid-line), it truncates f after its last '\n', which
// it finds by reading tail (f's contents), and logs how many bytes it
// removed.
func newFileSink(f sinkFile, tail io.ReaderAt, path string, size int64, regular bool, c *FileSinkConfig, log *slog.Logger) (*fileSink, error) {
	s := &fileSink{
		path: path, format: c.Format, sync: c.Sync == SyncFlush,
		f: f, regular: regular, committed: size,
	}
	if c.Append && regular && size > 0 {
		keep, err := lastLineEnd(tail, size)
		if err != nil {
			return nil, fmt.Errorf("output file: find the last complete line: %w", err)
		}
		if keep < size {
			if err := f.Truncate(keep); err != nil {
				return nil, fmt.Errorf("output file: remove a partial last line: %w", err)
			}
			s.committed = keep
			if log == nil {
				log = slog.Default()
			}
			log.Warn("file sink removed a partial last line left by an earlier run",
				"path", path, "bytes", size-keep)
		}
	}
	s.w = bufio.NewWriterSize(countingWriter{s}, max(c.BufferBytes, 4096))
	return s, nil
}

// lastLineEnd returns the size of f (of size bytes) up to and including
// its last '\n', 0 when it has none.
func lastLineEnd(f io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// countingWriter counts what reaches the file, so that a successful Flush
// knows the new committed size without a system call.
type countingWriter struct{ s *fileSink }

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.s.f.Write(p)
	c.s.pending += int64(n)
	return n, err
}

// Write buffers one line per record. On an error it rolls back.
func (s *fileSink) Write(_ context.Context, batch []*record.Record) error {
	if s.broken != nil {
		return s.broken
	}
	var err error
	s.line, err = writeLines(s.w, s.format, batch, s.line)
	if err != nil {
		return s.rollback(fmt.Errorf("write %s: %w", s.path, err))
	}
	return nil
}

// Flush writes the buffered lines to the file, fsyncs it when the sync
// policy is flush, and commits them. On an error it rolls back.
func (s *fileSink) Flush() error {
	if s.broken != nil {
		return s.broken
	}
	if err := s.w.Flush(); err != nil {
		return s.rollback(fmt.Errorf("write %s: %w", s.path, err))
	}
	if s.sync && s.regular && s.pending > 0 {
		if err := s.f.Sync(); err != nil {
			return s.rollback(fmt.Errorf("sync %s: %w", s.path, err))
		}
	}
	s.committed += s.pending
	s.pending = 0
	return nil
}

// rollback discards everything written since the last successful Flush:
// the buffer, and the bytes that reached the file (truncated away). It
// returns cause, joined with the truncation's error if that failed, which
// breaks the sink.
func (s *fileSink) rollback(cause error) error {
	s.w.Reset(countingWriter{s})
	s.pending = 0
	if !s.regular {
		return cause
	}
	if err := s.f.Truncate(s.committed); err != nil {
		s.broken = fmt.Errorf("file sink %s is unusable: %w",
			s.path, errors.Join(cause, fmt.Errorf("roll back to %d bytes: %w", s.committed, err)))
		return s.broken
	}
	return cause
}

// CanRollback reports whether the sink's file can be truncated: a regular
// file can, a device or a named pipe (a path such as /dev/stdout) cannot.
func (s *fileSink) CanRollback() bool { return s.regular }

// Close flushes (with the sync policy) and closes the file.
func (s *fileSink) Close() error {
	err := s.Flush()
	if cerr := s.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", s.path, cerr)
	}
	return err
}
