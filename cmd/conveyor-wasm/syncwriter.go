package main

import (
	"bytes"
	"io"
	"sync"
)

// syncWriter is the one writer that everything the CLI prints on stderr
// goes through: progress lines, log records, the summary and the default
// dead-letter output. It is safe for concurrent use, and each Write reaches
// the underlying writer whole, under one lock, so writes of whole lines
// (fmt.Fprintf of a line, one slog record) never interleave.
//
// A producer that writes partial lines (the dead-letter sink flushes its
// buffer wherever it fills) gets its own lineWriter from lines().
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

var _ io.Writer = (*syncWriter)(nil)

func newSyncWriter(w io.Writer) *syncWriter { return &syncWriter{w: w} }

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// lines returns a writer for one producer that passes only whole lines to
// s: a partial last line is held until its newline arrives, so that it is
// never cut by another producer's line. Flush writes what is held.
func (s *syncWriter) lines() *lineWriter { return &lineWriter{s: s} }

// lineWriter is a syncWriter handle that writes whole lines; see lines.
type lineWriter struct {
	s       *syncWriter
	mu      sync.Mutex // the producer may write from several goroutines
	pending []byte     // a partial line, without its newline
}

var _ io.Writer = (*lineWriter)(nil)

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := bytes.LastIndexByte(p, '\n')
	if i < 0 {
		l.pending = append(l.pending, p...)
		return len(p), nil
	}
	if err := l.write(p[:i+1]); err != nil {
		return 0, err
	}
	l.pending = append(l.pending, p[i+1:]...)
	return len(p), nil
}

// write passes the held partial line and then p, which ends with a
// newline, to the shared writer as one piece.
func (l *lineWriter) write(p []byte) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if len(l.pending) > 0 {
		if _, err := l.s.w.Write(l.pending); err != nil {
			return err
		}
		l.pending = l.pending[:0]
	}
	if len(p) == 0 {
		return nil
	}
	_, err := l.s.w.Write(p)
	return err
}

// Flush writes a held partial line, if any.
func (l *lineWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.write(nil)
}
