package plugins

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

const (
	maxLogLine = 4096 // longer lines are logged in pieces
	tailSize   = 1024 // bytes of stderr kept for error messages
)

// lineWriter turns a guest's stdout or stderr into one log record per line
// and keeps the tail of what was written since the last reset, for error
// messages.
type lineWriter struct {
	mu     sync.Mutex
	logger *slog.Logger
	stream string
	level  slog.Level
	buf    []byte // incomplete line
	tail   []byte
}

func newLineWriter(logger *slog.Logger, stream string, level slog.Level) *lineWriter {
	return &lineWriter{logger: logger, stream: stream, level: level}
}

// Write implements io.Writer. It never fails.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tail = append(w.tail, p...)
	if len(w.tail) > tailSize {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-tailSize:]...)
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) >= maxLogLine {
				w.emit(w.buf[:maxLogLine])
				w.buf = append(w.buf[:0], w.buf[maxLogLine:]...)
				continue
			}
			return len(p), nil
		}
		w.emit(w.buf[:i])
		w.buf = append(w.buf[:0], w.buf[i+1:]...)
	}
}

func (w *lineWriter) emit(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	w.logger.LogAttrs(context.Background(), w.level, string(line), slog.String("stream", w.stream))
}

// Flush logs an incomplete last line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
}

// Tail returns what was written since the last Reset, at most tailSize
// bytes, without surrounding blank space.
func (w *lineWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.TrimSpace(w.tail))
}

// Reset forgets the tail.
func (w *lineWriter) Reset() {
	w.mu.Lock()
	w.tail = w.tail[:0]
	w.mu.Unlock()
}
