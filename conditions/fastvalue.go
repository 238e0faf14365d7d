package conditions

import (
	"math"
	"strconv"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/celval"
	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/jsonscan"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// arith evaluates, for EvalJSON, the arithmetic a mapping computes from
// payload numbers, as in total = record.payload.price *
// double(record.payload.qty): expressions built from
//
//	record.payload.a.b        (a number read from the payload bytes)
//	int and double literals
//	+ - * / % and unary -     (int with int, double with double)
//	double(x), int(x)         (of an int or a double)
//
// It gives a result only where it is certain to be CEL's: int arithmetic
// that does not overflow or divide by zero, double arithmetic, a double
// result that JSON can hold. Everything else — a missing field, a field
// that is not a number or not of the operator's type (CEL has no mixed
// int and double arithmetic), an overflow, a division by zero, a NaN or
// an infinity, a payload that is parsed already or not validated —
// falls back to the interpreter, whose result or error is then the
// answer. Reading the fields this way skips the interpreter's
// activation, attribute resolution and boxed values: about a third of
// the cost of a whole mapping stage.
type arith struct {
	root *arithNode
	// top are the distinct top-level members the expression reads,
	// found in one pass over the payload (jsonscan.GetTop); a leaf
	// deeper down has its own path.
	top []string
}

// maxArithFields bounds the top-level members one expression may read
// (their values live on the stack).
const maxArithFields = 8

type arithOp uint8

const (
	arithTop   arithOp = iota // top-level payload member top[field]
	arithPath                 // payload value at path
	arithConst                // a literal
	arithAdd
	arithSub
	arithMul
	arithDiv
	arithMod
	arithNeg
	arithToDouble
	arithToInt
)

var arithOps = map[string]arithOp{
	"_+_": arithAdd, "_-_": arithSub, "_*_": arithMul, "_/_": arithDiv, "_%_": arithMod,
	"-_": arithNeg, "double": arithToDouble, "int": arithToInt,
}

type arithNode struct {
	op    arithOp
	field int      // arithTop
	path  []string // arithPath
	lit   num      // arithConst
	l, r  *arithNode
}

// num is an int or a double value.
type num struct {
	isInt bool
	i     int64
	f     float64
}

// fastArith returns the arithmetic evaluator of a checked expression, or
// nil when the expression is not of that shape (or reads no payload
// field: a constant is cheap enough for the interpreter).
func fastArith(a *cel.Ast) *arith {
	if a == nil || !a.IsChecked() {
		return nil
	}
	ar := &arith{}
	root, ok := ar.node(a.NativeRep().Expr())
	if !ok || !ar.readsPayload(root) {
		return nil
	}
	ar.root = root
	return ar
}

func (ar *arith) node(e ast.Expr) (*arithNode, bool) {
	switch e.Kind() {
	case ast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.Int:
			return &arithNode{op: arithConst, lit: num{isInt: true, i: int64(v)}}, true
		case types.Double:
			return &arithNode{op: arithConst, lit: num{f: float64(v)}}, true
		}
		return nil, false
	case ast.SelectKind:
		path, ok := selectPath(e)
		if !ok {
			return nil, false
		}
		if len(path) > 1 {
			return &arithNode{op: arithPath, path: path}, true
		}
		for k, name := range ar.top {
			if name == path[0] {
				return &arithNode{op: arithTop, field: k}, true
			}
		}
		if len(ar.top) == maxArithFields {
			return nil, false
		}
		ar.top = append(ar.top, path[0])
		return &arithNode{op: arithTop, field: len(ar.top) - 1}, true
	case ast.CallKind:
		call := e.AsCall()
		op, known := arithOps[call.FunctionName()]
		if !known || call.IsMemberFunction() {
			return nil, false
		}
		args := call.Args()
		unary := op == arithNeg || op == arithToDouble || op == arithToInt
		if unary && len(args) != 1 || !unary && len(args) != 2 {
			return nil, false
		}
		n := &arithNode{op: op}
		var ok bool
		if n.l, ok = ar.node(args[0]); !ok {
			return nil, false
		}
		if !unary {
			if n.r, ok = ar.node(args[1]); !ok {
				return nil, false
			}
		}
		return n, true
	}
	return nil, false
}

func (ar *arith) readsPayload(n *arithNode) bool {
	switch {
	case n == nil:
		return false
	case n.op == arithTop || n.op == arithPath:
		return true
	}
	return ar.readsPayload(n.l) || ar.readsPayload(n.r)
}

// appendJSON appends the value of the expression for r to dst as
// EvalJSON writes it; ok false means the interpreter must decide (dst is
// then returned unchanged).
func (ar *arith) appendJSON(r *record.Record, dst []byte) (_ []byte, ok bool) {
	// As the condition fast path: scan only a payload its source
	// validated and nobody has parsed.
	if r.Parsed() || !r.JSONValidated() {
		return dst, false
	}
	var vals [maxArithFields]jsonscan.Value
	jsonscan.GetTop(r.Payload, ar.top, vals[:])
	v, ok := ar.eval(ar.root, r.Payload, &vals)
	if !ok {
		return dst, false
	}
	if v.isInt {
		return strconv.AppendInt(dst, v.i, 10), true
	}
	if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
		return dst, false // the interpreter's error
	}
	b, err := celval.AppendDouble(dst, v.f)
	return b, err == nil
}

func (ar *arith) eval(n *arithNode, doc []byte, vals *[maxArithFields]jsonscan.Value) (num, bool) {
	switch n.op {
	case arithConst:
		return n.lit, true
	case arithTop:
		return scanned(&vals[n.field])
	case arithPath:
		v := jsonscan.Get(doc, n.path, nil)
		return scanned(&v)
	}
	x, ok := ar.eval(n.l, doc, vals)
	if !ok {
		return num{}, false
	}
	switch n.op {
	case arithNeg:
		if x.isInt {
			if x.i == math.MinInt64 {
				return num{}, false
			}
			return num{isInt: true, i: -x.i}, true
		}
		return num{f: -x.f}, true
	case arithToDouble:
		if x.isInt {
			return num{f: float64(x.i)}, true
		}
		return x, true
	case arithToInt:
		if x.isInt {
			return x, true
		}
		// cel-go's doubleToInt64Checked, whose error the interpreter
		// reports.
		if math.IsNaN(x.f) || math.IsInf(x.f, 0) || x.f <= math.MinInt64 || x.f >= math.MaxInt64 {
			return num{}, false
		}
		return num{isInt: true, i: int64(x.f)}, true
	}
	y, ok := ar.eval(n.r, doc, vals)
	if !ok || x.isInt != y.isInt {
		return num{}, false // CEL has no mixed arithmetic: no such overload
	}
	if x.isInt {
		i, ok := intOp(n.op, x.i, y.i)
		return num{isInt: true, i: i}, ok
	}
	switch n.op {
	case arithAdd:
		return num{f: x.f + y.f}, true
	case arithSub:
		return num{f: x.f - y.f}, true
	case arithMul:
		return num{f: x.f * y.f}, true
	case arithDiv:
		return num{f: x.f / y.f}, true
	}
	return num{}, false // double % double: no such overload
}

// scanned is a payload number as CEL sees it.
func scanned(v *jsonscan.Value) (num, bool) {
	switch v.Kind {
	case jsonscan.Int:
		return num{isInt: true, i: v.Int}, true
	case jsonscan.Double:
		return num{f: v.Float}, true
	}
	return num{}, false
}

// intOp is CEL's checked int arithmetic; ok is false where CEL reports an
// error (overflow, division or modulus by zero).
func intOp(op arithOp, a, b int64) (int64, bool) {
	switch op {
	case arithAdd:
		s := a + b
		return s, (a^s)&(b^s) >= 0
	case arithSub:
		d := a - b
		return d, (a^b)&(a^d) >= 0
	case arithMul:
		if a == 0 || b == 0 {
			return 0, true
		}
		p := a * b
		if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) || p/b != a {
			return 0, false
		}
		return p, true
	case arithDiv:
		if b == 0 || a == math.MinInt64 && b == -1 {
			return 0, false
		}
		return a / b, true
	case arithMod:
		if b == 0 || a == math.MinInt64 && b == -1 {
			return 0, false
		}
		return a % b, true
	}
	return 0, false
}
