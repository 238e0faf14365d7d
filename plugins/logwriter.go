package plugins

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

const (
	maxLogLine = 4096 // longer lines are logged in pieces
	headSize   = 512  // first bytes of stderr kept for error messages
	tailSize   = 512  // last bytes of stderr kept for error messages
)

// lineWriter turns a guest's stdout or stderr into one log record per line
// and keeps the head and the tail of what was written since the last reset,
// for error messages.
type lineWriter struct {
	mu     sync.Mutex
	limit  *logLimiter // nil: unlimited
	logger *slog.Logger
	stream string
	level  slog.Level
	buf    []byte // incomplete line
	head   []byte
	tail   []byte
	total  int
}

func newLineWriter(logger *slog.Logger, limit *logLimiter, stream string, level slog.Level) *lineWriter {
	return &lineWriter{logger: logger, limit: limit, stream: stream, level: level}
}

// Write implements io.Writer. It never fails.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.total += len(p)
	if n := headSize - len(w.head); n > 0 {
		w.head = append(w.head, p[:min(n, len(p))]...)
	}
	w.tail = append(w.tail, p...)
	if keep := headSize + tailSize; len(w.tail) > keep {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-keep:]...)
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
	if w.limit != nil && !w.limit.allow() {
		return
	}
	w.logger.LogAttrs(context.Background(), w.level, logText(line), slog.String("stream", w.stream))
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

// Tail returns what was written since the last Reset: all of it when it is
// short, otherwise its first headSize and last tailSize bytes joined by
// " ... ". Surrounding blank space is trimmed.
func (w *lineWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.total <= headSize+tailSize {
		return string(bytes.TrimSpace(w.tail))
	}
	return string(bytes.TrimSpace(w.head)) + " ... " + string(bytes.TrimSpace(w.tail[len(w.tail)-tailSize:]))
}

// Reset forgets what was written.
func (w *lineWriter) Reset() {
	w.mu.Lock()
	w.head, w.tail, w.total = w.head[:0], w.tail[:0], 0
	w.mu.Unlock()
}
