package plugins

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// host implements the conveyor host functions for one plugin; it is shared
// by all of the plugin's instances.
type host struct {
	logger *slog.Logger
	config map[string]string
	now    func() time.Time
	limit  *logLimiter

	mu      sync.RWMutex
	metrics map[string]*atomic.Int64
}

var _ wasmrt.Host = (*host)(nil)

func newHost(logger *slog.Logger, config map[string]string) *host {
	return &host{logger: logger, config: config, now: time.Now, limit: newLogLimiter(logger),
		metrics: map[string]*atomic.Int64{}}
}

// Log implements wasmrt.Host: log_v1. Messages are made valid UTF-8, cut
// at maxLogMessage bytes and rate-limited (ABI.md section 4).
func (h *host) Log(ctx context.Context, level int32, msg []byte) {
	var l slog.Level
	switch {
	case level <= abi.LogDebug:
		l = slog.LevelDebug
	case level == abi.LogInfo:
		l = slog.LevelInfo
	case level == abi.LogWarn:
		l = slog.LevelWarn
	default:
		l = slog.LevelError
	}
	if h.logger.Enabled(ctx, l) && h.limit.allow() {
		h.logger.LogAttrs(ctx, l, logText(msg))
	}
}

// ConfigGet implements wasmrt.Host: config_get_v1.
func (h *host) ConfigGet(key []byte) (string, bool) {
	v, ok := h.config[string(key)]
	return v, ok
}

// Now implements wasmrt.Host: clock_now_v1.
func (h *host) Now() int64 { return h.now().UnixNano() }

// MetricAdd implements wasmrt.Host: metric_add_v1.
func (h *host) MetricAdd(name []byte, delta int64) {
	if !utf8.Valid(name) {
		name = []byte(toValidUTF8(name))
	}
	h.mu.RLock()
	c, ok := h.metrics[string(name)]
	h.mu.RUnlock()
	if !ok {
		h.mu.Lock()
		if c, ok = h.metrics[string(name)]; !ok {
			c = new(atomic.Int64)
			h.metrics[string(name)] = c
		}
		h.mu.Unlock()
	}
	c.Add(delta)
}

// Metrics returns a snapshot of the guest's counters.
func (h *host) Metrics() map[string]int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := make(map[string]int64, len(h.metrics))
	for k, c := range h.metrics {
		m[k] = c.Load()
	}
	return m
}
