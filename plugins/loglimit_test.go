package plugins

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogText_InvalidUTF8AndLength(t *testing.T) {
	if got := logText([]byte("a\xffb\xc3")); got != "a\uFFFDb\uFFFD" {
		t.Fatalf("invalid UTF-8: %q", got)
	}
	long := strings.Repeat("é", 3000) // 6000 bytes
	got := logText([]byte(long))
	if !strings.HasSuffix(got, " [truncated 1904 bytes]") || !strings.HasPrefix(got, strings.Repeat("é", 2048)) {
		t.Fatalf("long message: %d bytes, ends %q", len(got), got[len(got)-30:])
	}
}

func TestLogLimiter_SuppressesAndNotes(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	l := newLogLimiter(logger)
	now := time.Unix(100, 0)
	l.now = func() time.Time { return now }
	allowed := 0
	for range logBurst + 500 {
		if l.allow() {
			allowed++
		}
	}
	if allowed != logBurst {
		t.Fatalf("allowed %d lines at once, want %d", allowed, logBurst)
	}
	l.flush()
	if !strings.Contains(buf.String(), "plugin log lines suppressed") || !strings.Contains(buf.String(), "suppressed=500") {
		t.Fatalf("note = %q", buf.String())
	}
	buf.Reset()
	l.flush()
	if buf.Len() != 0 {
		t.Fatalf("second flush logged %q", buf.String())
	}
	now = now.Add(100 * time.Millisecond) // refills 100 tokens
	allowed = 0
	for range 200 {
		if l.allow() {
			allowed++
		}
	}
	if allowed != 100 || l.suppressed.Load() != 600 {
		t.Fatalf("after 100ms: allowed %d, suppressed %d", allowed, l.suppressed.Load())
	}
}

func TestHost_Log_OneLineWithPluginAttr(t *testing.T) {
	var buf bytes.Buffer
	h := newHost(slog.New(slog.NewJSONHandler(&buf, nil)).With("plugin", "p"), nil)
	h.Log(context.Background(), 1, []byte("bad \xff"))
	if got := buf.String(); strings.Count(got, `"plugin"`) != 1 || !strings.Contains(got, "\"msg\":\"bad \uFFFD\"") {
		t.Fatalf("log = %s", got)
	}
}
