package conditions

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/celval"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// NoWatermark is the watermark of a stage that has none yet. Reading the
// watermark variable then fails.
const NoWatermark int64 = math.MinInt64

// Program is a compiled CEL condition. It is stateless and safe for
// concurrent use by many goroutines (each evaluating its own record).
type Program struct {
	expr string
	src  Source
	prg  cel.Program
	fast fastFunc // nil unless the expression has a shape fastPath knows
	x    *explainer
}

var _ Condition = (*Program)(nil)

// Compile parses and type-checks a CEL condition. The expression must be
// of type bool, or dyn (record.payload.active), which is then checked at
// evaluation. Errors are *Error values (joined with errors.Join when CEL
// reports several) positioned with src.
func (e *Env) Compile(expr string, src Source) (*Program, error) {
	prg, a, err := e.compile(expr, src)
	if err != nil {
		return nil, err
	}
	if out := a.OutputType(); out != types.BoolType && out != types.DynType {
		return nil, e.positioner(expr, src).errorAt(1, 0, fmt.Sprintf("condition must be bool, got %s", out))
	}
	return &Program{expr: expr, src: src, prg: prg, fast: fastPath(a), x: &explainer{env: e.cel, ast: a, limit: e.costLimit}}, nil
}

func (e *Env) compile(expr string, src Source) (cel.Program, *cel.Ast, error) {
	a, iss := e.cel.Compile(expr)
	if iss.Err() != nil {
		return nil, nil, e.positioner(expr, src).fromIssues(iss)
	}
	track, err := e.checkCost(expr, src, a)
	if err != nil {
		return nil, nil, err
	}
	prg, err := e.cel.Program(a, e.programOptions(track)...)
	if err != nil {
		return nil, nil, e.positioner(expr, src).errorAt(1, 0, err.Error())
	}
	return prg, a, nil
}

// String returns the expression.
func (p *Program) String() string { return p.expr }

// Source returns where the expression came from.
func (p *Program) Source() Source { return p.src }

// Eval evaluates the condition against r. Reading the watermark variable
// fails; use EvalWatermark where one is known.
func (p *Program) Eval(r *record.Record) (bool, error) {
	if p.fast != nil {
		if ok, err, done := p.fastResult(r); done {
			return ok, err
		}
	}
	vars := (*recordVars)(r)
	out, _, err := p.prg.Eval(vars)
	return p.result(out, p.x.explain(vars, err))
}

// fastResult runs the fast path; done is false when it defers to the
// interpreter (errFallback).
func (p *Program) fastResult(r *record.Record) (ok bool, err error, done bool) {
	ok, err = p.fast(r)
	if err == errFallback {
		return false, nil, false
	}
	if err != nil {
		return false, &EvalError{Cond: p.expr, Err: err}, true
	}
	return ok, nil, true
}

// EvalWatermark evaluates the condition against r with wm (Unix nanos, or
// NoWatermark) as the watermark variable.
func (p *Program) EvalWatermark(r *record.Record, wm int64) (bool, error) {
	if p.fast != nil {
		if ok, err, done := p.fastResult(r); done {
			return ok, err
		}
	}
	a := wmPool.Get().(*wmVars)
	a.r, a.wm = r, wm
	out, _, err := p.prg.Eval(a)
	ok, err := p.result(out, p.x.explain(a, err))
	a.r = nil
	wmPool.Put(a)
	return ok, err
}

// Evaluate is Eval that treats an error as false.
func (p *Program) Evaluate(r *record.Record) bool {
	ok, _ := p.Eval(r)
	return ok
}

func (p *Program) result(out ref.Val, err error) (bool, error) {
	if err != nil {
		return false, &EvalError{Cond: p.expr, Err: err}
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, &EvalError{Cond: p.expr, Err: fmt.Errorf("result is %s, not bool", out.Type().TypeName())}
	}
	return bool(b), nil
}

// EvalError is a condition that failed on a record: a malformed payload, a
// missing field, a type mismatch. Its message is the dead-letter reason.
type EvalError struct {
	// Cond is the condition (the CEL expression, or the String of a
	// structured condition).
	Cond string
	// Err is the cause.
	Err error
}

// Error returns `condition "<cond>": <cause>`.
func (e *EvalError) Error() string { return fmt.Sprintf("condition %q: %v", e.Cond, e.Err) }

// Unwrap returns the cause.
func (e *EvalError) Unwrap() error { return e.Err }

// ErrNoEventTime is the cause when an expression reads record.event_time
// of a record that has none.
var ErrNoEventTime = errors.New("record has no event time")

// ErrNoWatermark is the cause when an expression reads watermark where
// none is known.
var ErrNoWatermark = errors.New("no watermark here")

// resolve returns the value of a declared variable. Qualified names are
// resolved whole ("record.payload"), so a switch on the name is all it
// takes: no reflection, no map.
func resolve(r *record.Record, wm int64, name string) (any, bool) {
	switch name {
	case VarMetadata:
		return celval.NewMetadata(&r.Metadata), true
	case VarPayload:
		v, err := r.JSON()
		if err != nil {
			return types.WrapErr(fmt.Errorf("record.payload: malformed JSON: %w", err)), true
		}
		return celval.JSON(v), true
	case VarKey:
		return types.String(r.Key), true
	case VarSource:
		return types.String(r.Source), true
	case VarEventTime:
		if !r.HasEventTime() {
			return types.WrapErr(ErrNoEventTime), true
		}
		return types.Timestamp{Time: time.Unix(0, r.EventTime).UTC()}, true
	case VarHasEventTime:
		return types.Bool(r.HasEventTime()), true
	case VarWatermark:
		if wm == NoWatermark {
			return types.WrapErr(ErrNoWatermark), true
		}
		return types.Timestamp{Time: time.Unix(0, wm).UTC()}, true
	}
	return nil, false
}

// recordVars is the activation of Eval: the record itself, so that
// passing it to CEL costs no allocation.
type recordVars record.Record

func (a *recordVars) ResolveName(name string) (any, bool) {
	return resolve((*record.Record)(a), NoWatermark, name)
}

func (a *recordVars) Parent() interpreter.Activation { return nil }

// wmVars is the activation of EvalWatermark, pooled.
type wmVars struct {
	r  *record.Record
	wm int64
}

var wmPool = sync.Pool{New: func() any { return new(wmVars) }}

func (a *wmVars) ResolveName(name string) (any, bool) { return resolve(a.r, a.wm, name) }

func (a *wmVars) Parent() interpreter.Activation { return nil }

// ValueProgram is a compiled CEL expression that produces a value rather
// than a condition: the value of a metadata entry, an event time. It is
// stateless and safe for concurrent use.
type ValueProgram struct {
	expr string
	src  Source
	prg  cel.Program
	x    *explainer
	// arith is EvalJSON's fast path (nil unless the expression is
	// arithmetic on payload numbers).
	arith *arith
}

// CompileValue parses and type-checks a value expression. Its type must be
// string, int, uint, double, bool, timestamp or dyn.
func (e *Env) CompileValue(expr string, src Source) (*ValueProgram, error) {
	prg, a, err := e.compile(expr, src)
	if err != nil {
		return nil, err
	}
	switch out := a.OutputType(); out {
	case types.StringType, types.IntType, types.UintType, types.DoubleType, types.BoolType, types.TimestampType, types.DynType:
	default:
		return nil, e.positioner(expr, src).errorAt(1, 0,
			fmt.Sprintf("value must be a string, number, bool or timestamp, got %s", out))
	}
	return &ValueProgram{expr: expr, src: src, prg: prg, x: &explainer{env: e.cel, ast: a, limit: e.costLimit}}, nil
}

// String returns the expression.
func (v *ValueProgram) String() string { return v.expr }

func (v *ValueProgram) eval(r *record.Record) (ref.Val, error) {
	vars := (*valueVars)(r)
	out, _, err := v.prg.Eval(vars)
	if err != nil {
		return nil, &EvalError{Cond: v.expr, Err: v.x.explain(vars, err)}
	}
	return out, nil
}

// EvalString evaluates the expression as a string: strings as they are,
// numbers in their shortest decimal form, bools as true or false,
// timestamps in RFC 3339 with nanoseconds.
func (v *ValueProgram) EvalString(r *record.Record) (string, error) {
	out, err := v.eval(r)
	if err != nil {
		return "", err
	}
	switch x := out.(type) {
	case types.String:
		return string(x), nil
	case types.Int:
		return strconv.FormatInt(int64(x), 10), nil
	case types.Uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case types.Double:
		return strconv.FormatFloat(float64(x), 'g', -1, 64), nil
	case types.Bool:
		return strconv.FormatBool(bool(x)), nil
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339Nano), nil
	}
	return "", &EvalError{Cond: v.expr, Err: fmt.Errorf("%s value cannot be used as a string", out.Type().TypeName())}
}

// EvalTime evaluates the expression as an event time in Unix nanoseconds.
// A timestamp is taken as is; an int or double is Unix seconds (a double
// may carry a fraction, rounded to microseconds:
// double(record.payload.ts_ms) / 1000.0); a string must be RFC 3339.
func (v *ValueProgram) EvalTime(r *record.Record) (int64, error) {
	out, err := v.eval(r)
	if err != nil {
		return 0, err
	}
	switch x := out.(type) {
	case types.Timestamp:
		return x.Time.UnixNano(), nil
	case types.Int:
		return secondsToNanos(float64(x), int64(x), true, v.expr)
	case types.Uint:
		return secondsToNanos(float64(x), int64(x), x <= math.MaxInt64, v.expr)
	case types.Double:
		return secondsToNanos(float64(x), 0, false, v.expr)
	case types.String:
		t, err := time.Parse(time.RFC3339Nano, string(x))
		if err != nil {
			return 0, &EvalError{Cond: v.expr, Err: fmt.Errorf("event time: %w", err)}
		}
		return t.UnixNano(), nil
	}
	return 0, &EvalError{Cond: v.expr, Err: fmt.Errorf("%s value cannot be used as an event time", out.Type().TypeName())}
}

// maxSeconds is the largest number of seconds representable in int64
// nanoseconds (year 2262).
const maxSeconds = math.MaxInt64 / int64(time.Second)

func secondsToNanos(f float64, i int64, isInt bool, expr string) (int64, error) {
	if isInt {
		if i > maxSeconds || i < -maxSeconds {
			return 0, &EvalError{Cond: expr, Err: fmt.Errorf("event time %d seconds is out of range", i)}
		}
		return i * int64(time.Second), nil
	}
	if math.IsNaN(f) || f > float64(maxSeconds) || f < -float64(maxSeconds) {
		return 0, &EvalError{Cond: expr, Err: fmt.Errorf("event time %v seconds is out of range", f)}
	}
	// A double holds about 16 significant digits: for present-day times
	// that is a quarter of a microsecond, so round to microseconds.
	sec := math.Floor(f)
	us := math.Round((f - sec) * 1e6)
	return int64(sec)*int64(time.Second) + int64(us)*int64(time.Microsecond), nil
}

// CompileJSON parses and type-checks an expression whose value is written
// as JSON (a mapping's payload or field): its type may be anything
// EvalJSON can write (string, bytes, int, uint, double, bool, null,
// timestamp, duration, list, map with string keys, dyn). The cost limit
// applies as to conditions.
func (e *Env) CompileJSON(expr string, src Source) (*ValueProgram, error) {
	prg, a, err := e.compile(expr, src)
	if err != nil {
		return nil, err
	}
	if msg := jsonOutput(a.OutputType()); msg != "" {
		return nil, e.positioner(expr, src).errorAt(1, 0, msg)
	}
	return &ValueProgram{expr: expr, src: src, prg: prg, x: &explainer{env: e.cel, ast: a, limit: e.costLimit}, arith: fastArith(a)}, nil
}

// jsonOutput says why values of type t cannot be written as JSON ("": they
// can, or may: dyn is checked at evaluation).
func jsonOutput(t *types.Type) string {
	switch t.Kind() {
	case types.StringKind, types.BytesKind, types.IntKind, types.UintKind, types.DoubleKind, types.BoolKind,
		types.NullTypeKind, types.TimestampKind, types.DurationKind, types.DynKind, types.AnyKind:
		return ""
	case types.ListKind:
		return jsonOutput(t.Parameters()[0])
	case types.MapKind:
		if k := t.Parameters()[0].Kind(); k != types.StringKind && k != types.DynKind {
			return fmt.Sprintf("value of type %s cannot be written as JSON: object keys must be strings", t)
		}
		return jsonOutput(t.Parameters()[1])
	}
	return fmt.Sprintf("value of type %s cannot be written as JSON", t)
}

// EvalJSON evaluates the expression and appends its value to dst as one
// JSON value: numbers (a NaN or an infinity is an error), strings, bytes in
// base64, bools, null, timestamps in RFC 3339 (UTC, with the nanoseconds
// when there are any), durations as strings ("1.5s"), maps with string
// keys as objects (a payload object keeps its member order; other maps are
// written with sorted keys) and lists as arrays. On an error dst is
// returned unchanged and the error is an *EvalError.
func (v *ValueProgram) EvalJSON(r *record.Record, dst []byte) ([]byte, error) {
	if v.arith != nil {
		if b, ok := v.arith.appendJSON(r, dst); ok {
			return b, nil
		}
	}
	out, err := v.eval(r)
	if err != nil {
		return dst, err
	}
	n := len(dst)
	b, err := celval.AppendJSON(dst, out)
	if err != nil {
		return dst[:n], &EvalError{Cond: v.expr, Err: err}
	}
	return b, nil
}
