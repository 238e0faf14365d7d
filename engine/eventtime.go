package engine

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/buger/jsonparser"
	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/valyala/fastjson"
)

// Missing event time policies.
const (
	MissingDeadLetter        = "dead_letter"
	MissingDrop              = "drop"
	MissingUseProcessingTime = "use_processing_time"
)

// eventTimeExtractor sets records' event time from a payload field or a CEL
// expression.
type eventTimeExtractor struct {
	path    []string
	field   string
	scale   int64 // nanoseconds per unit; 0 for rfc3339
	expr    *conditions.ValueProgram
	missing string
}

var unitScale = map[string]int64{
	"s": int64(time.Second), "ms": int64(time.Millisecond),
	"us": int64(time.Microsecond), "ns": 1, "rfc3339": 0,
}

// unitNames and missingPolicies are the values of event_time's unit and
// missing, in the order messages list them.
var (
	unitNames       = []string{"s", "ms", "us", "ns", "rfc3339"}
	missingPolicies = []string{MissingDeadLetter, MissingDrop, MissingUseProcessingTime}
)

func newEventTimeExtractor(env *conditions.Env, file string, c *EventTimeConfig) (*eventTimeExtractor, error) {
	x := &eventTimeExtractor{missing: c.Missing, field: c.Field}
	switch x.missing {
	case "":
		x.missing = MissingDeadLetter
	case MissingDeadLetter, MissingDrop, MissingUseProcessingTime:
	default:
		return nil, fmt.Errorf("unknown missing policy %q (want %s)%s", c.Missing, orList(missingPolicies), didYouMeanIn(c.Missing, missingPolicies))
	}
	switch {
	case c.Field != "" && c.Expression != nil:
		return nil, errors.New("set field or expression, not both")
	case c.Field != "":
		x.path = strings.Split(c.Field, ".")
		unit := c.Unit
		if unit == "" {
			unit = "ms"
		}
		sc, ok := unitScale[unit]
		if !ok {
			return nil, fmt.Errorf("unknown unit %q (want %s)%s", c.Unit, orList(unitNames), didYouMeanIn(c.Unit, unitNames))
		}
		x.scale = sc
	case c.Expression != nil:
		if c.Unit != "" {
			return nil, errors.New("unit applies to field, not expression")
		}
		vp, err := c.Expression.compile(env, file)
		if err != nil {
			return nil, err
		}
		x.expr = vp
	default:
		return nil, errors.New("set field or expression")
	}
	return x, nil
}

var errNoEventTime = errors.New("no event time")

// extract sets r.EventTime. It returns errNoEventTime (wrapped) when the
// record has none; the caller applies x.missing.
func (x *eventTimeExtractor) extract(r *record.Record) error {
	if x.expr != nil {
		t, err := x.expr.EvalTime(r)
		if err != nil {
			return fmt.Errorf("event_time expression: %w", err)
		}
		r.EventTime = t
		return nil
	}
	if !r.Parsed() {
		return x.scan(r)
	}
	v, err := r.JSON()
	if err != nil {
		return fmt.Errorf("event_time: payload is not JSON: %w", err)
	}
	f := v.Get(x.path...)
	if f == nil || f.Type() == fastjson.TypeNull {
		return fmt.Errorf("%w: field %q is missing", errNoEventTime, x.field)
	}
	if x.scale == 0 {
		if f.Type() != fastjson.TypeString {
			return fmt.Errorf("event_time: field %q is %s, want an RFC 3339 string", x.field, f.Type())
		}
		t, err := time.Parse(time.RFC3339Nano, string(f.GetStringBytes()))
		if err != nil {
			return fmt.Errorf("event_time: field %q: %w", x.field, err)
		}
		return x.setTime(r, t, string(f.GetStringBytes()))
	}
	if f.Type() != fastjson.TypeNumber {
		return fmt.Errorf("event_time: field %q is %s, want a number", x.field, f.Type())
	}
	if i, err := f.Int64(); err == nil {
		return x.setInt(r, i, f.String())
	}
	fl, _ := f.Float64()
	return x.setFloat(r, fl, f.String())
}

// Event times must be representable as Unix nanoseconds in an int64,
// leaving room for the watermark's sentinels: from 1677-09-21 to
// 2262-04-11. A time outside (a value in the wrong unit, a corrupt field)
// is an error, so the record is dead-lettered with its value instead of
// wrapping around and moving the watermark.
const (
	minEventTime = math.MinInt64 + 1<<20
	maxEventTime = math.MaxInt64 - 1<<20
)

// errEventTimeRange explains an event time out of range.
func (x *eventTimeExtractor) errEventTimeRange(text string) error {
	unit := "rfc3339"
	for u, sc := range unitScale {
		if sc == x.scale && sc != 0 {
			unit = u
		}
	}
	return fmt.Errorf("event_time: field %q is %s (%s), out of range: event times must lie between %s and %s",
		x.field, truncateText(text, 64), unit, time.Unix(0, minEventTime).UTC().Format(time.DateOnly), time.Unix(0, maxEventTime).UTC().Format(time.DateOnly))
}

// setTime sets r's event time to t, checking the range.
func (x *eventTimeExtractor) setTime(r *record.Record, t time.Time, text string) error {
	if t.Before(time.Unix(0, minEventTime)) || t.After(time.Unix(0, maxEventTime)) {
		return x.errEventTimeRange(strconv.Quote(text))
	}
	r.EventTime = t.UnixNano()
	return nil
}

// setInt sets r's event time to i units, checking the range.
func (x *eventTimeExtractor) setInt(r *record.Record, i int64, text string) error {
	if i > maxEventTime/x.scale || i < minEventTime/x.scale {
		return x.errEventTimeRange(text)
	}
	r.EventTime = i * x.scale
	return nil
}

// setFloat sets r's event time to f units, checking the range.
func (x *eventTimeExtractor) setFloat(r *record.Record, f float64, text string) error {
	if v := f * float64(x.scale); math.IsNaN(v) || v < float64(minEventTime) || v > float64(maxEventTime) {
		return x.errEventTimeRange(text)
	}
	r.EventTime = floatNanos(f, x.scale)
	return nil
}

// truncateText shortens s to at most n bytes, marking the cut.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// scan reads the event-time field straight from the payload bytes, without
// building a parse tree: sources extract event times before any stage has
// parsed the payload, and for a pipeline that never reads the payload
// otherwise (a merge by event time) a full parse would cost several times
// the scan.
func (x *eventTimeExtractor) scan(r *record.Record) error {
	v, typ, _, err := jsonparser.Get(r.Payload, x.path...)
	switch {
	case typ == jsonparser.NotExist || typ == jsonparser.Null:
		return fmt.Errorf("%w: field %q is missing", errNoEventTime, x.field)
	case err != nil:
		return fmt.Errorf("event_time: payload is not JSON: %w", err)
	}
	if x.scale == 0 {
		if typ != jsonparser.String {
			return fmt.Errorf("event_time: field %q is %s, want an RFC 3339 string", x.field, jsonType(typ))
		}
		s, err := jsonparser.ParseString(v)
		if err != nil {
			return fmt.Errorf("event_time: field %q: %w", x.field, err)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("event_time: field %q: %w", x.field, err)
		}
		return x.setTime(r, t, s)
	}
	if typ != jsonparser.Number {
		return fmt.Errorf("event_time: field %q is %s, want a number", x.field, jsonType(typ))
	}
	if i, err := jsonparser.ParseInt(v); err == nil {
		return x.setInt(r, i, string(v))
	}
	f, err := jsonparser.ParseFloat(v)
	if err != nil {
		if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
			return x.errEventTimeRange(string(v)) // too large for a float64
		}
		return fmt.Errorf("event_time: field %q: %w", x.field, err)
	}
	return x.setFloat(r, f, string(v))
}

// floatNanos converts a fractional number of units to nanoseconds. A double
// holds ~16 significant digits, a quarter of a microsecond for present-day
// times in seconds, so the result is rounded to microseconds.
func floatNanos(f float64, scale int64) int64 {
	if scale >= int64(time.Microsecond) {
		return int64(math.Round(f*float64(scale)/1e3)) * 1e3
	}
	return int64(math.Round(f * float64(scale)))
}

// jsonType names a jsonparser value type as fastjson does, so both paths
// give the same messages.
func jsonType(t jsonparser.ValueType) string {
	switch t {
	case jsonparser.String:
		return "string"
	case jsonparser.Number:
		return "number"
	case jsonparser.Object:
		return "object"
	case jsonparser.Array:
		return "array"
	case jsonparser.Boolean:
		return "true/false"
	}
	return "null"
}
