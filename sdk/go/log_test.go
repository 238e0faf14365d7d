//go:build !wasip1

package conveyor

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// fakeHost records host calls for the native tests.
type fakeHost struct {
	config   map[string]string
	now      int64
	logs     []string
	counters map[string]int64
}

func (f *fakeHost) Log(level int32, msg string) {
	f.logs = append(f.logs, Level(level).String()+" "+msg)
}

func (f *fakeHost) Config(key string) (string, bool) {
	v, ok := f.config[key]
	return v, ok
}

func (f *fakeHost) Now() int64 { return f.now }

func (f *fakeHost) MetricAdd(name string, delta int64) {
	if f.counters == nil {
		f.counters = map[string]int64{}
	}
	f.counters[name] += delta
}

func useHost(t *testing.T, f *fakeHost) {
	saved := host
	host = f
	t.Cleanup(func() { host = saved })
}

func TestLevel_String_Cases(t *testing.T) {
	tests := []struct {
		l    Level
		want string
	}{
		{LevelDebug, "DEBUG"}, {LevelInfo, "INFO"}, {LevelWarn, "WARN"}, {LevelError, "ERROR"}, {7, "LEVEL(7)"},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("Level(%d).String() = %q, want %q", int(tt.l), got, tt.want)
		}
	}
}

func TestFormatLog_Cases(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		args []any
		want string
	}{
		{"message only", "hello", nil, "hello"},
		{"pairs", "redacted", []any{"field", "email", "count", 3}, "redacted field=email count=3"},
		{"quotes spaces", "m", []any{"k", "a b"}, `m k="a b"`},
		{"quotes empty", "m", []any{"k", ""}, `m k=""`},
		{"quotes equals and quote", "m", []any{"k", `x="y"`}, `m k="x=\"y\""`},
		{"error value", "m", []any{"err", errors.New("bad thing")}, `m err="bad thing"`},
		{"missing value", "m", []any{"k", "v", "dangling"}, "m k=v !BADKEY=dangling"},
		{"non-string key", "m", []any{42, "v"}, "m !BADKEY=42 !BADKEY=v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatLog(tt.msg, tt.args); got != tt.want {
				t.Fatalf("formatLog = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLog_Counter_Now_CallHost(t *testing.T) {
	f := &fakeHost{now: 1_700_000_000_000_000_007}
	useHost(t, f)
	Log(LevelWarn, "slow", "ms", 12)
	Counter("seen", 2)
	Counter("seen", 3)
	Counter("other", -1)
	if want := []string{"WARN slow ms=12"}; !reflect.DeepEqual(f.logs, want) {
		t.Errorf("logs = %q, want %q", f.logs, want)
	}
	if want := map[string]int64{"seen": 5, "other": -1}; !reflect.DeepEqual(f.counters, want) {
		t.Errorf("counters = %v, want %v", f.counters, want)
	}
	if got := Now(); !got.Equal(time.Unix(0, f.now)) {
		t.Errorf("Now() = %v, want %v", got, time.Unix(0, f.now))
	}
}
