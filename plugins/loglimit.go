package plugins

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Log limits of ABI.md section 4: a line is at most maxLogMessage bytes,
// and a plugin (all instances, log_v1 and stdout/stderr together) logs at
// most logBurst lines at once and logRate lines per second on average.
const (
	maxLogMessage = 4096
	logBurst      = 1000
	logRate       = 1000 // lines per second
)

// logLimiter is a token bucket shared by a plugin's instances. Lines over
// the limit are counted and reported by flush as one "suppressed" note.
type logLimiter struct {
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time

	pending    atomic.Int64 // suppressed since the last note
	suppressed atomic.Uint64
}

func newLogLimiter(logger *slog.Logger) *logLimiter {
	return &logLimiter{logger: logger, now: time.Now, tokens: logBurst}
}

// allow takes a token, or counts the line as suppressed.
func (l *logLimiter) allow() bool {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(logBurst, l.tokens+now.Sub(l.last).Seconds()*logRate)
	}
	l.last = now
	ok := l.tokens >= 1
	if ok {
		l.tokens--
	}
	l.mu.Unlock()
	if !ok {
		l.pending.Add(1)
		l.suppressed.Add(1)
	}
	return ok
}

// flush logs one warning for the lines suppressed since the last flush.
// The host calls it after every call into the guest.
func (l *logLimiter) flush() {
	if l.pending.Load() == 0 {
		return
	}
	if n := l.pending.Swap(0); n > 0 {
		l.logger.LogAttrs(context.Background(), slog.LevelWarn, "plugin log lines suppressed",
			slog.Int64("suppressed", n), slog.String("limit", strconv.Itoa(logRate)+"/s"))
	}
}

// logText makes a guest message loggable: invalid UTF-8 becomes U+FFFD and
// a message longer than maxLogMessage is cut at a character boundary with a
// note of how much was left out.
func logText(msg []byte) string {
	cut := 0
	if len(msg) > maxLogMessage {
		n := maxLogMessage
		for n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
		cut, msg = len(msg)-n, msg[:n]
	}
	s := string(msg)
	if !utf8.ValidString(s) {
		s = toValidUTF8(msg)
	}
	if cut > 0 {
		s += " [truncated " + strconv.Itoa(cut) + " bytes]"
	}
	return s
}

// toValidUTF8 replaces each invalid byte with U+FFFD (strings.ToValidUTF8
// would merge runs of invalid bytes into one replacement).
func toValidUTF8(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
}
