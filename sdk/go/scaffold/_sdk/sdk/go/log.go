package conveyor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// Level is the severity of a log message. The values are those of log_v1.
type Level int32

// Log levels.
const (
	LevelDebug Level = abi.LogDebug
	LevelInfo  Level = abi.LogInfo
	LevelWarn  Level = abi.LogWarn
	LevelError Level = abi.LogError
)

// String returns "DEBUG", "INFO", "WARN", "ERROR" or "LEVEL(n)".
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	}
	return "LEVEL(" + strconv.Itoa(int(l)) + ")"
}

// Log sends a message to the host's structured log, which records it with the
// plugin's name. Like log/slog, args are alternating keys and values; they are
// appended to msg as key=value pairs (values with spaces or quotes are
// quoted), and a key without a value is logged as !BADKEY=key.
//
//	conveyor.Log(conveyor.LevelWarn, "field missing", "field", name, "key", r.Key)
func Log(level Level, msg string, args ...any) {
	hostLog(level, formatLog(msg, args))
}

// formatLog renders msg and slog-style key/value args as one line.
func formatLog(msg string, args []any) string {
	if len(args) == 0 {
		return msg
	}
	var b strings.Builder
	b.WriteString(msg)
	for len(args) > 0 {
		var key string
		var val any
		if k, ok := args[0].(string); ok && len(args) > 1 {
			key, val, args = k, args[1], args[2:]
		} else {
			key, val, args = "!BADKEY", args[0], args[1:]
		}
		b.WriteByte(' ')
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(quoteIfNeeded(fmt.Sprint(val)))
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r <= ' ' || r == '=' || r == '"' || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

// Counter adds delta to the plugin's counter called name. The host keeps one
// set of counters per plugin and reports them with the plugin's statistics.
func Counter(name string, delta int64) { hostMetricAdd(name, delta) }

// Now returns the host's wall clock. Use it rather than time.Now so that the
// host decides what "now" is (tests and replays may pin it).
func Now() time.Time { return time.Unix(0, hostNow()) }
