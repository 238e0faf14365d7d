package plugins

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHost_Log_Levels(t *testing.T) {
	tests := []struct {
		level int32
		want  string
	}{
		{-1, "DEBUG"}, {0, "DEBUG"}, {1, "INFO"}, {2, "WARN"}, {3, "ERROR"}, {9, "ERROR"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		h := newHost(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
		h.Log(context.Background(), tt.level, []byte("hello"))
		if !strings.Contains(buf.String(), "level="+tt.want+" msg=hello") {
			t.Errorf("level %d logged %q, want %s", tt.level, buf.String(), tt.want)
		}
	}
}

func TestHost_ConfigGet_PresentAndAbsent(t *testing.T) {
	h := newHost(slog.Default(), map[string]string{"field": "user", "empty": ""})
	if v, ok := h.ConfigGet([]byte("field")); !ok || v != "user" {
		t.Fatalf("field = %q, %v", v, ok)
	}
	if v, ok := h.ConfigGet([]byte("empty")); !ok || v != "" {
		t.Fatalf("empty = %q, %v", v, ok)
	}
	if _, ok := h.ConfigGet([]byte("missing")); ok {
		t.Fatal("missing key reported present")
	}
}

func TestHost_Now_UsesClock(t *testing.T) {
	h := newHost(slog.Default(), nil)
	h.now = func() time.Time { return time.Unix(5, 6) }
	if got := h.Now(); got != 5_000_000_006 {
		t.Fatalf("Now() = %d", got)
	}
}

func TestHost_MetricAdd_Concurrent(t *testing.T) {
	h := newHost(slog.Default(), nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				h.MetricAdd([]byte("records"), 2)
				h.MetricAdd([]byte("errors"), -1)
			}
		}()
	}
	wg.Wait()
	m := h.Metrics()
	if m["records"] != 8000 || m["errors"] != -4000 || len(m) != 2 {
		t.Fatalf("metrics = %v", m)
	}
}
