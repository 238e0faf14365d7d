package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func TestEventTimeExtractor_Extract_ScanAndTreeAgree(t *testing.T) {
	env, err := conditions.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 123000000, time.UTC)
	cases := []struct {
		cfg     EventTimeConfig
		payload string
		want    int64
		err     string
	}{
		{EventTimeConfig{Field: "ts", Unit: "ms"}, `{"ts":1767323045123}`, ts.UnixNano(), ""},
		{EventTimeConfig{Field: "ts", Unit: "s"}, `{"ts":1767323045.123}`, ts.UnixNano(), ""},
		{EventTimeConfig{Field: "ts", Unit: "us"}, `{"a":[1,{"ts":0}],"ts":1767323045123000}`, ts.UnixNano(), ""},
		{EventTimeConfig{Field: "meta.at", Unit: "rfc3339"}, `{"meta":{"at":"2026-01-02T03:04:05.123Z"}}`, ts.UnixNano(), ""},
		{EventTimeConfig{Field: "at", Unit: "rfc3339"}, `{"at":"2026-01-02T03:04:05.123\u005a"}`, ts.UnixNano(), ""},
		{EventTimeConfig{Field: "ts"}, `{"x":1}`, 0, `field "ts" is missing`},
		{EventTimeConfig{Field: "ts"}, `{"ts":null}`, 0, `field "ts" is missing`},
		{EventTimeConfig{Field: "ts"}, `{"ts":"soon"}`, 0, `is string, want a number`},
		{EventTimeConfig{Field: "ts", Unit: "rfc3339"}, `{"ts":12}`, 0, `is number, want an RFC 3339 string`},
		{EventTimeConfig{Field: "ts", Unit: "rfc3339"}, `{"ts":"yesterday"}`, 0, `cannot parse`},
		// Out of the representable range: dead-lettered with the value,
		// never wrapped around (1e16 ms used to become 2029).
		{EventTimeConfig{Field: "ts", Unit: "ms"}, `{"ts":10000000000000000}`, 0, `field "ts" is 10000000000000000 (ms), out of range: event times must lie between 1677-09-21 and 2262-04-11`},
		{EventTimeConfig{Field: "ts", Unit: "s"}, `{"ts":1e30}`, 0, `is 1e30 (s), out of range`},
		{EventTimeConfig{Field: "ts", Unit: "ns"}, `{"ts":9223372036854775808}`, 0, `is 9223372036854775808 (ns), out of range`},
		{EventTimeConfig{Field: "ts", Unit: "ms"}, `{"ts":-1e16}`, 0, `is -1e16 (ms), out of range`},
		{EventTimeConfig{Field: "ts", Unit: "s"}, `{"ts":-9223372037}`, 0, `out of range`},
		{EventTimeConfig{Field: "ts", Unit: "rfc3339"}, `{"ts":"9999-01-01T00:00:00Z"}`, 0, `is "9999-01-01T00:00:00Z" (rfc3339), out of range`},
		{EventTimeConfig{Field: "ts", Unit: "ms"}, `{"ts":-1000}`, -1000 * int64(time.Millisecond), ""},
	}
	for _, c := range cases {
		x, err := newEventTimeExtractor(env, "p.yaml", &c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, parsed := range []bool{false, true} {
			r := record.New("", []byte(c.payload))
			if parsed {
				r.JSON()
			}
			err := x.extract(r)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("%s (parsed %v): err = %v, want %q", c.payload, parsed, err, c.err)
				}
				if strings.Contains(c.err, "missing") && !errors.Is(err, errNoEventTime) {
					t.Errorf("%s: a missing field must wrap errNoEventTime", c.payload)
				}
				continue
			}
			if err != nil || r.EventTime != c.want {
				t.Errorf("%s (parsed %v): got %d, %v; want %d", c.payload, parsed, r.EventTime, err, c.want)
			}
		}
	}
}

func TestNewEventTimeExtractor_Errors(t *testing.T) {
	env, _ := conditions.NewEnv()
	for _, c := range []struct {
		cfg  EventTimeConfig
		want string
	}{
		{EventTimeConfig{}, "set field or expression"},
		{EventTimeConfig{Field: "a", Expression: Expression("1")}, "not both"},
		{EventTimeConfig{Field: "a", Unit: "hours"}, `unknown unit "hours"`},
		{EventTimeConfig{Field: "a", Missing: "ignore"}, `unknown missing policy "ignore"`},
		{EventTimeConfig{Expression: Expression("1"), Unit: "ms"}, "unit applies to field"},
	} {
		if _, err := newEventTimeExtractor(env, "p", &c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestEventTimeExtractor_Expression(t *testing.T) {
	env, _ := conditions.NewEnv()
	x, err := newEventTimeExtractor(env, "p", &EventTimeConfig{Expression: Expression(`timestamp(record.payload.when)`)})
	if err != nil {
		t.Fatal(err)
	}
	r := record.New("", []byte(`{"when":"2026-01-02T03:04:05Z"}`))
	if err := x.extract(r); err != nil || r.Time() != time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) {
		t.Fatalf("got %v, %v", r.Time(), err)
	}
}

// Without a watermark section a source extracts event times but tracks
// nothing: out-of-order records are not late, and the missing policy is
// applied by the source itself.
func TestRunner_Run_EventTimeWithoutWatermark(t *testing.T) {
	for _, c := range []struct {
		missing                      string
		delivered, dropped, deadLett int64
	}{
		{"dead_letter", 2, 0, 1},
		{"drop", 2, 1, 0},
		{"use_processing_time", 3, 0, 0},
	} {
		t.Run(c.missing, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", "{\"ts\":5000}\n{\"ts\":1000}\n{\"x\":1}\n")
			sum, dl, err := runFile(t, dir, `id: e
settings: {batch_size: 1}
sources: [{name: in, type: file, path: in.jsonl, event_time: {field: ts, unit: ms, missing: `+c.missing+`}}]
services: {out: {type: file, path: out.jsonl}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Late != 0 || sum.Delivered != c.delivered || sum.Dropped != c.dropped || sum.DeadLettered != c.deadLett || !sum.Balanced() {
				t.Fatalf("summary %s, dead letters %s", sum, dl)
			}
			if c.deadLett > 0 && !strings.Contains(dl, `field \"ts\" is missing`) {
				t.Fatalf("dead letter reason: %s", dl)
			}
		})
	}
}
