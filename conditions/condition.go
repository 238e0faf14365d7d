package conditions

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"

	"github.com/conveyor-etl/conveyor-wasm/internal/suggest"
)

// Condition decides whether a record takes a route. Implementations are
// immutable and safe for concurrent use (each goroutine evaluating its own
// record).
type Condition interface {
	// Eval reports whether r satisfies the condition, or why it could not
	// be decided (the dead-letter reason), as an *EvalError.
	Eval(r *record.Record) (bool, error)
	// EvalWatermark is Eval with the stage's output watermark (Unix
	// nanos, or NoWatermark) visible to CEL as the watermark variable.
	EvalWatermark(r *record.Record, wm int64) (bool, error)
	// Evaluate is Eval that treats an error as false.
	Evaluate(r *record.Record) bool
	// String renders the condition as an equivalent CEL expression.
	String() string
}

// And is true when every condition is true (and for no conditions). It
// evaluates left to right and stops at the first false or error.
func And(cs ...Condition) Condition { return &and{cs: cs} }

// Or is true when some condition is true (false for no conditions). It
// evaluates left to right and stops at the first true or error.
func Or(cs ...Condition) Condition { return &or{cs: cs} }

// Not negates c. An error stays an error.
func Not(c Condition) Condition { return &not{c: c} }

// MetadataEquals is true when the metadata entry key exists and equals
// value.
func MetadataEquals(key, value string) Condition { return &metaEquals{key: key, value: value} }

// MetadataExists is true when the record has a metadata entry key.
func MetadataExists(key string) Condition { return &metaExists{key: key} }

type and struct{ cs []Condition }

func (c *and) Eval(r *record.Record) (bool, error) { return c.EvalWatermark(r, NoWatermark) }
func (c *and) EvalWatermark(r *record.Record, wm int64) (bool, error) {
	for _, x := range c.cs {
		if ok, err := x.EvalWatermark(r, wm); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}
func (c *and) Evaluate(r *record.Record) bool { ok, _ := c.Eval(r); return ok }
func (c *and) String() string                 { return join(c.cs, " && ", "true") }

type or struct{ cs []Condition }

func (c *or) Eval(r *record.Record) (bool, error) { return c.EvalWatermark(r, NoWatermark) }
func (c *or) EvalWatermark(r *record.Record, wm int64) (bool, error) {
	for _, x := range c.cs {
		if ok, err := x.EvalWatermark(r, wm); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
func (c *or) Evaluate(r *record.Record) bool { ok, _ := c.Eval(r); return ok }
func (c *or) String() string                 { return join(c.cs, " || ", "false") }

func join(cs []Condition, op, empty string) string {
	if len(cs) == 0 {
		return empty
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = "(" + c.String() + ")"
	}
	return strings.Join(parts, op)
}

type not struct{ c Condition }

func (c *not) Eval(r *record.Record) (bool, error) { return c.EvalWatermark(r, NoWatermark) }
func (c *not) EvalWatermark(r *record.Record, wm int64) (bool, error) {
	ok, err := c.c.EvalWatermark(r, wm)
	if err != nil {
		return false, err
	}
	return !ok, nil
}
func (c *not) Evaluate(r *record.Record) bool { ok, _ := c.Eval(r); return ok }
func (c *not) String() string                 { return "!(" + c.c.String() + ")" }

type metaEquals struct{ key, value string }

func (c *metaEquals) Eval(r *record.Record) (bool, error) {
	v, ok := r.Metadata.Get(c.key)
	return ok && v == c.value, nil
}
func (c *metaEquals) EvalWatermark(r *record.Record, _ int64) (bool, error) { return c.Eval(r) }
func (c *metaEquals) Evaluate(r *record.Record) bool                        { ok, _ := c.Eval(r); return ok }
func (c *metaEquals) String() string {
	return fmt.Sprintf("%s[%s] == %s", VarMetadata, strconv.Quote(c.key), strconv.Quote(c.value))
}

type metaExists struct{ key string }

func (c *metaExists) Eval(r *record.Record) (bool, error)                   { return r.Metadata.Has(c.key), nil }
func (c *metaExists) EvalWatermark(r *record.Record, _ int64) (bool, error) { return c.Eval(r) }
func (c *metaExists) Evaluate(r *record.Record) bool                        { return r.Metadata.Has(c.key) }
func (c *metaExists) String() string                                        { return strconv.Quote(c.key) + " in " + VarMetadata }

// Op is a PayloadField comparison.
type Op string

// The PayloadField operators.
const (
	OpEq     Op = "eq"     // equal (numbers compare as numbers)
	OpNe     Op = "ne"     // not equal
	OpLt     Op = "lt"     // less than (numbers or strings)
	OpLe     Op = "le"     // less than or equal
	OpGt     Op = "gt"     // greater than
	OpGe     Op = "ge"     // greater than or equal
	OpExists Op = "exists" // the field is present (even if null); no value
	OpIn     Op = "in"     // equal to one of the values of a list
)

var opSymbols = map[Op]string{OpEq: "==", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">=", OpIn: "in"}

// opNames are the ops' names, in the order messages list them.
var opNames = []string{"eq", "ne", "lt", "le", "gt", "ge", "exists", "in"}

// PayloadField compares a field of the JSON payload with value. path is a
// dot-separated field path ("user.age"; a numeric segment indexes an
// array: "items.0.sku"). value is a JSON-like Go value: nil, bool, a
// number (any Go integer or float type), string, []any or map[string]any.
//
// A missing field is an evaluation error, except with OpExists, which is
// then false. eq and ne never fail on a type mismatch (a string is not
// equal to a number); the ordering operators do.
func PayloadField(path string, op Op, value any) (Condition, error) {
	if path == "" {
		return nil, errors.New("payload field: empty path")
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("payload field %q: empty path segment", path)
		}
	}
	c := &payloadField{path: path, segs: segs, op: op}
	nv, err := normalize(value)
	if err != nil {
		return nil, fmt.Errorf("payload field %q: value: %w", path, err)
	}
	c.value = nv
	switch op {
	case OpEq, OpNe:
	case OpLt, OpLe, OpGt, OpGe:
		switch nv.(type) {
		case float64, string:
		default:
			return nil, fmt.Errorf("payload field %q: op %s needs a number or string value, got %s", path, op, kindOf(nv))
		}
	case OpExists:
		if nv != nil {
			return nil, fmt.Errorf("payload field %q: op exists takes no value", path)
		}
	case OpIn:
		if _, ok := nv.([]any); !ok {
			return nil, fmt.Errorf("payload field %q: op in needs a list value, got %s", path, kindOf(nv))
		}
	default:
		return nil, fmt.Errorf("payload field %q: unknown op %q (want one of %s)%s", path, op, strings.Join(opNames, ", "), suggest.DidYouMean(string(op), opNames))
	}
	return c, nil
}

type payloadField struct {
	path  string
	segs  []string
	op    Op
	value any // normalized: nil, bool, float64, string, []any, map[string]any
}

func (c *payloadField) Evaluate(r *record.Record) bool                        { ok, _ := c.Eval(r); return ok }
func (c *payloadField) EvalWatermark(r *record.Record, _ int64) (bool, error) { return c.Eval(r) }

func (c *payloadField) Eval(r *record.Record) (bool, error) {
	root, err := r.JSON()
	if err != nil {
		return false, &EvalError{Cond: c.String(), Err: fmt.Errorf("record.payload: malformed JSON: %w", err)}
	}
	v := root
	for _, s := range c.segs {
		next := child(v, s)
		if next == nil {
			if c.op == OpExists {
				return false, nil
			}
			return false, &EvalError{Cond: c.String(), Err: fmt.Errorf("no such key: %s", s)}
		}
		v = next
	}
	switch c.op {
	case OpExists:
		return true, nil
	case OpEq:
		return jsonEqual(v, c.value), nil
	case OpNe:
		return !jsonEqual(v, c.value), nil
	case OpIn:
		for _, e := range c.value.([]any) {
			if jsonEqual(v, e) {
				return true, nil
			}
		}
		return false, nil
	}
	cmp, err := compare(v, c.value)
	if err != nil {
		return false, &EvalError{Cond: c.String(), Err: err}
	}
	switch c.op {
	case OpLt:
		return cmp < 0, nil
	case OpLe:
		return cmp <= 0, nil
	case OpGt:
		return cmp > 0, nil
	default:
		return cmp >= 0, nil
	}
}

func child(v *fastjson.Value, seg string) *fastjson.Value {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return o.Get(seg)
	case fastjson.TypeArray:
		i, err := strconv.Atoi(seg)
		a, _ := v.Array()
		if err != nil || i < 0 || i >= len(a) {
			return nil
		}
		return a[i]
	}
	return nil
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// String renders the condition in CEL.
func (c *payloadField) String() string {
	if c.op == OpExists {
		prefix, last := payloadPath(c.segs[:len(c.segs)-1]), c.segs[len(c.segs)-1]
		if identRE.MatchString(last) {
			return "has(" + prefix + "." + last + ")"
		}
		if i, err := strconv.Atoi(last); err == nil {
			return "size(" + prefix + ") > " + strconv.Itoa(i)
		}
		return strconv.Quote(last) + " in " + prefix
	}
	return payloadPath(c.segs) + " " + opSymbols[c.op] + " " + literal(c.value)
}

func payloadPath(segs []string) string {
	var b strings.Builder
	b.WriteString(VarPayload)
	for _, s := range segs {
		if identRE.MatchString(s) {
			b.WriteString("." + s)
		} else if _, err := strconv.Atoi(s); err == nil {
			b.WriteString("[" + s + "]")
		} else {
			b.WriteString("[" + strconv.Quote(s) + "]")
		}
	}
	return b.String()
}

func literal(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = literal(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := sortedKeys(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + ": " + literal(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// normalize turns a JSON-like Go value into nil, bool, float64, string,
// []any or map[string]any.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int8:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case uint8:
		return float64(x), nil
	case uint16:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

func jsonKind(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeNumber:
		return "number"
	case fastjson.TypeString:
		return "string"
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "bool"
	case fastjson.TypeNull:
		return "null"
	case fastjson.TypeArray:
		return "list"
	}
	return "map"
}

// jsonEqual compares a JSON value with a normalized Go value.
func jsonEqual(v *fastjson.Value, want any) bool {
	switch w := want.(type) {
	case nil:
		return v.Type() == fastjson.TypeNull
	case bool:
		b, err := v.Bool()
		return err == nil && b == w
	case float64:
		f, err := v.Float64()
		return err == nil && f == w
	case string:
		b, err := v.StringBytes()
		return err == nil && string(b) == w
	case []any:
		a, err := v.Array()
		if err != nil || len(a) != len(w) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		o, err := v.Object()
		if err != nil || o.Len() != len(w) {
			return false
		}
		for k, e := range w {
			f := o.Get(k)
			if f == nil || !jsonEqual(f, e) {
				return false
			}
		}
		return true
	}
	return false
}

// compare orders a JSON number or string against a float64 or string.
func compare(v *fastjson.Value, want any) (int, error) {
	switch w := want.(type) {
	case float64:
		f, err := v.Float64()
		if err != nil || v.Type() != fastjson.TypeNumber {
			return 0, fmt.Errorf("cannot compare %s with number", jsonKind(v))
		}
		if math.IsNaN(f) {
			return 0, errors.New("cannot compare NaN")
		}
		switch {
		case f < w:
			return -1, nil
		case f > w:
			return 1, nil
		}
		return 0, nil
	case string:
		b, err := v.StringBytes()
		if err != nil {
			return 0, fmt.Errorf("cannot compare %s with string", jsonKind(v))
		}
		return strings.Compare(string(b), w), nil
	}
	return 0, fmt.Errorf("cannot compare with %s", kindOf(want))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
