package plugins

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLineWriter_Write_LinesAndTail(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := newLineWriter(logger.With("plugin", "p"), nil, "stderr", slog.LevelWarn)
	w.Write([]byte("first li"))
	if logs.Len() != 0 {
		t.Fatalf("incomplete line logged: %s", logs.String())
	}
	w.Write([]byte("ne\r\nsecond\nthird"))
	out := logs.String()
	for _, want := range []string{`level=WARN msg="first line" plugin=p stream=stderr`, `msg=second`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs %q lack %q", out, want)
		}
	}
	if strings.Contains(out, "third") {
		t.Fatal("incomplete line logged before Flush")
	}
	w.Flush()
	if !strings.Contains(logs.String(), "msg=third") {
		t.Fatal("Flush did not log the last line")
	}
	if got := w.Tail(); got != "first line\r\nsecond\nthird" {
		t.Fatalf("Tail() = %q", got)
	}
	w.Reset()
	if w.Tail() != "" {
		t.Fatal("Reset kept the tail")
	}
}

func TestLineWriter_Write_LongLinesAndTailBound(t *testing.T) {
	var logs bytes.Buffer
	w := newLineWriter(slog.New(slog.NewTextHandler(&logs, nil)), nil, "stdout", slog.LevelInfo)
	w.Write([]byte("panic: first line\n"))
	w.Write(bytes.Repeat([]byte("x"), maxLogLine+10))
	w.Write([]byte("\nlast line"))
	if n := strings.Count(logs.String(), "\n"); n != 3 {
		t.Fatalf("want 3 records (one line, %d-byte piece, rest), got %d", maxLogLine, n)
	}
	tail := w.Tail()
	if !strings.HasPrefix(tail, "panic: first line") || !strings.HasSuffix(tail, "x\nlast line") ||
		!strings.Contains(tail, "x ... x") || len(tail) != headSize+len(" ... ")+tailSize {
		t.Fatalf("Tail() = %d bytes %.60q...", len(tail), tail)
	}
}
