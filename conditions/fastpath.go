package conditions

import (
	"errors"
	"fmt"
	"math"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/jsonscan"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// fastFunc evaluates one of the commonest condition shapes directly on the
// record, with exactly the result and error CEL would give. Routing on a
// metadata value or the key is the hot path of most pipelines; skipping
// the interpreter there takes it from about 90 ns to about 5.
type fastFunc func(r *record.Record) (bool, error)

// errFallback is returned by a fastFunc that cannot decide a record on its
// own (a payload field that is missing, of another type than the fast path
// handles, or a payload that is not JSON): the interpreter then evaluates
// the record and produces exactly CEL's result or error.
var errFallback = errors.New("fall back to the interpreter")

// fastPath recognizes, in a checked expression, conditions built from
//
//	record.metadata["K"] == "V"   (or !=, either side; also record.metadata.K)
//	record.key == "V"             (or !=, either side; also record.source)
//	"K" in record.metadata
//	record.payload.a.b OP LIT     (OP one of == != < <= > >=, either side;
//	                               LIT a string, int, uint, double, bool
//	                               or null literal)
//	record.payload.a.b in [LIT, ...]
//	record.payload.a.b            (a bool field)
//
// combined with &&, || and !, and returns nil for anything else.
func fastPath(a *cel.Ast) fastFunc {
	if a == nil || !a.IsChecked() {
		return nil
	}
	return fastExpr(a.NativeRep().Expr())
}

func fastExpr(e ast.Expr) fastFunc {
	if path, ok := selectPath(e); ok {
		return payloadLeaf(path, opTruth)
	}
	if e.Kind() != ast.CallKind {
		return nil
	}
	call := e.AsCall()
	if call.IsMemberFunction() {
		return nil
	}
	args := call.Args()
	if len(args) == 1 && call.FunctionName() == "!_" {
		if f := fastExpr(args[0]); f != nil {
			return fastNot(f)
		}
		return nil
	}
	if len(args) != 2 {
		return nil
	}
	switch fn := call.FunctionName(); fn {
	case "_&&_", "_||_":
		l, r := fastExpr(args[0]), fastExpr(args[1])
		if l == nil || r == nil {
			return nil
		}
		if fn == "_&&_" {
			return fastAnd(l, r)
		}
		return fastOr(l, r)
	case "_==_", "_!=_":
		eq := fn == "_==_"
		lhs, rhs := args[0], args[1]
		if f := payloadCompare(lhs, rhs, fn); f != nil {
			return f
		}
		if f := payloadCompare(rhs, lhs, fn); f != nil {
			return f
		}
		want, ok := stringLiteral(rhs)
		if !ok {
			if want, ok = stringLiteral(lhs); !ok {
				return nil
			}
			lhs = rhs
		}
		if key, ok := metadataIndex(lhs); ok {
			errMissing := fmt.Errorf("no such key: %s", key) // CEL's error, built once
			return func(r *record.Record) (bool, error) {
				v, found := r.Metadata.Get(key)
				if !found {
					return false, errMissing
				}
				return (v == want) == eq, nil
			}
		}
		if lhs.Kind() == ast.IdentKind {
			switch lhs.AsIdent() {
			case VarKey:
				return func(r *record.Record) (bool, error) { return (r.Key == want) == eq, nil }
			case VarSource:
				return func(r *record.Record) (bool, error) { return (r.Source == want) == eq, nil }
			}
		}
	case "_<_", "_<=_", "_>_", "_>=_":
		if f := payloadCompare(args[0], args[1], fn); f != nil {
			return f
		}
		return payloadCompare(args[1], args[0], mirror[fn])
	case "@in":
		key, ok := stringLiteral(args[0])
		if ok && args[1].Kind() == ast.IdentKind && args[1].AsIdent() == VarMetadata {
			return func(r *record.Record) (bool, error) { return r.Metadata.Has(key), nil }
		}
		return payloadIn(args[0], args[1])
	}
	return nil
}

// mirror is the operator with its operands swapped: 500 < x is x > 500.
var mirror = map[string]string{"_<_": "_>_", "_<=_": "_>=_", "_>_": "_<_", "_>=_": "_<=_"}

// fastAnd is CEL's &&: false if either side is false, whatever the other
// side gives (an error included); true if both are true; otherwise (an
// error or a side the fast path cannot decide) the interpreter decides.
func fastAnd(l, r fastFunc) fastFunc {
	return func(rec *record.Record) (bool, error) {
		a, errA := l(rec)
		if errA == nil && !a {
			return false, nil
		}
		b, errB := r(rec)
		if errB == nil && !b {
			return false, nil
		}
		if errA == nil && errB == nil {
			return true, nil
		}
		return false, errFallback
	}
}

// fastOr is CEL's ||: true if either side is true, whatever the other side
// gives; false if both are false; otherwise the interpreter decides.
func fastOr(l, r fastFunc) fastFunc {
	return func(rec *record.Record) (bool, error) {
		a, errA := l(rec)
		if errA == nil && a {
			return true, nil
		}
		b, errB := r(rec)
		if errB == nil && b {
			return true, nil
		}
		if errA == nil && errB == nil {
			return false, nil
		}
		return false, errFallback
	}
}

// fastNot is CEL's !: an error stays the same error.
func fastNot(f fastFunc) fastFunc {
	return func(rec *record.Record) (bool, error) {
		ok, err := f(rec)
		if err != nil {
			return false, err
		}
		return !ok, nil
	}
}

func stringLiteral(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

// metadataIndex matches record.metadata["K"] and record.metadata.K.
func metadataIndex(e ast.Expr) (string, bool) {
	if e.Kind() == ast.SelectKind {
		sel := e.AsSelect()
		m := sel.Operand()
		if sel.IsTestOnly() || m.Kind() != ast.IdentKind || m.AsIdent() != VarMetadata {
			return "", false
		}
		return sel.FieldName(), true
	}
	if e.Kind() != ast.CallKind {
		return "", false
	}
	c := e.AsCall()
	if c.FunctionName() != "_[_]" || len(c.Args()) != 2 {
		return "", false
	}
	m := c.Args()[0]
	if m.Kind() != ast.IdentKind || m.AsIdent() != VarMetadata {
		return "", false
	}
	return stringLiteral(c.Args()[1])
}

// selectPath matches record.payload.a.b... (field selections only) and
// returns the path.
func selectPath(e ast.Expr) ([]string, bool) {
	var rev []string
	for e.Kind() == ast.SelectKind {
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return nil, false
		}
		rev = append(rev, sel.FieldName())
		e = sel.Operand()
	}
	if e.Kind() != ast.IdentKind || e.AsIdent() != VarPayload || len(rev) == 0 {
		return nil, false
	}
	path := make([]string, len(rev))
	for i, s := range rev {
		path[len(rev)-1-i] = s
	}
	return path, jsonscan.PathOK(path)
}

// scalarLiteral matches a literal the payload scan compares with.
func scalarLiteral(e ast.Expr) (ref.Val, bool) {
	if e.Kind() != ast.LiteralKind {
		return nil, false
	}
	switch v := e.AsLiteral().(type) {
	case types.String, types.Int, types.Uint, types.Bool, types.Null:
		return v, true
	case types.Double:
		return v, !math.IsNaN(float64(v))
	}
	return nil, false
}

// leafOp is what a payload leaf does with the scanned value.
type leafOp uint8

const (
	opTruth leafOp = iota // the field is the condition: a bool
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opIn // equal to one of the literals
)

var leafOps = map[string]leafOp{"_==_": opEq, "_!=_": opNe, "_<_": opLt, "_<=_": opLe, "_>_": opGt, "_>=_": opGe}

// payloadCompare matches record.payload.PATH OP LITERAL (field on the
// left; the caller tries both sides).
func payloadCompare(field, lit ast.Expr, fn string) fastFunc {
	path, ok := selectPath(field)
	if !ok {
		return nil
	}
	v, ok := scalarLiteral(lit)
	if !ok {
		return nil
	}
	return payloadLeaf(path, leafOps[fn], v)
}

// payloadIn matches record.payload.PATH in [LITERAL, ...].
func payloadIn(field, list ast.Expr) fastFunc {
	path, ok := selectPath(field)
	if !ok || list.Kind() != ast.ListKind {
		return nil
	}
	l := list.AsList()
	if len(l.OptionalIndices()) > 0 {
		return nil
	}
	lits := make([]ref.Val, 0, l.Size())
	for _, e := range l.Elements() {
		v, ok := scalarLiteral(e)
		if !ok {
			return nil
		}
		lits = append(lits, v)
	}
	return payloadLeaf(path, opIn, lits...)
}

// leaf is one payload field tested against literals by scanning the
// payload bytes.
type leaf struct {
	path []string
	op   leafOp
	lits []ref.Val
}

func payloadLeaf(path []string, op leafOp, lits ...ref.Val) fastFunc {
	return (&leaf{path: path, op: op, lits: lits}).eval
}

// scanBuf is how many bytes of unescaped string a leaf decodes on the
// stack; a longer string with escapes goes to the interpreter.
const scanBuf = 128

// eval reads the field straight from the bytes of a payload that its
// source validated and nobody has parsed yet: finding a field near the
// start of a ~100-byte document costs a fraction of the parse (a field at
// the very end costs about as much), and a record that one or two
// conditions look at then never needs the tree. Once the payload is parsed
// (another condition needed it), when it is not known to be valid, when
// the field is missing or of a type the comparison does not decide, the
// interpreter decides, so results and errors are CEL's own.
func (l *leaf) eval(r *record.Record) (bool, error) {
	// Scan only a payload its source has validated and nobody has parsed:
	// checking validity here would cost as much as the parse.
	if r.Parsed() || !r.JSONValidated() {
		return false, errFallback
	}
	var buf [scanBuf]byte
	v := jsonscan.Get(r.Payload, l.path, buf[:])
	if v.Kind == jsonscan.Invalid {
		return false, errFallback
	}
	return l.decide(&v)
}

func (l *leaf) decide(v *jsonscan.Value) (bool, error) {
	switch l.op {
	case opTruth:
		if v.Kind != jsonscan.Bool {
			return false, errFallback // the interpreter reports the type
		}
		return v.Bool, nil
	case opEq, opNe:
		return equal(v, l.lits[0]) == (l.op == opEq), nil
	case opIn:
		for _, lit := range l.lits {
			if equal(v, lit) {
				return true, nil
			}
		}
		return false, nil
	}
	c, ok := order(v, l.lits[0])
	if !ok {
		return false, errFallback // no ordering: the interpreter's error
	}
	switch l.op {
	case opLt:
		return c < 0, nil
	case opLe:
		return c <= 0, nil
	case opGt:
		return c > 0, nil
	}
	return c >= 0, nil
}

// equal is CEL's heterogeneous equality (types.Equal) of a scanned value
// and a scalar literal: values of different types are not equal, numbers
// compare as numbers, and an object or a list equals no scalar.
func equal(v *jsonscan.Value, lit ref.Val) bool {
	switch v.Kind {
	case jsonscan.String:
		return types.String(v.Str).Equal(lit) == types.True
	case jsonscan.Int:
		return types.Int(v.Int).Equal(lit) == types.True
	case jsonscan.Double:
		return types.Double(v.Float).Equal(lit) == types.True
	case jsonscan.Bool:
		return types.Bool(v.Bool).Equal(lit) == types.True
	case jsonscan.Null:
		return lit == types.NullValue
	}
	return false
}

// order is CEL's ordering (traits.Comparer, with cross-type numeric
// comparisons) of a scanned value and a literal; ok is false where CEL
// has no ordering (the interpreter then reports "no such overload"). It
// mirrors cel-go's compare functions rather than calling Compare, whose
// boxed -1 allocates; a test checks it against Compare.
func order(v *jsonscan.Value, lit ref.Val) (int, bool) {
	switch v.Kind {
	case jsonscan.String:
		s, ok := lit.(types.String)
		if !ok {
			return 0, false
		}
		// strings.Compare, as cel-go uses, but with the operators,
		// which do not make the scanned bytes escape.
		return cmp3(v.Str < string(s), v.Str > string(s)), true
	case jsonscan.Bool:
		b, ok := lit.(types.Bool)
		if !ok {
			return 0, false
		}
		switch {
		case v.Bool == bool(b):
			return 0, true
		case !v.Bool:
			return -1, true
		}
		return 1, true
	case jsonscan.Int:
		switch w := lit.(type) {
		case types.Int:
			return cmp3(v.Int < int64(w), v.Int > int64(w)), true
		case types.Uint:
			if v.Int < 0 || uint64(w) > math.MaxInt64 {
				return -1, true
			}
			return cmp3(v.Int < int64(w), v.Int > int64(w)), true
		case types.Double:
			if math.IsNaN(float64(w)) {
				return 0, false
			}
			return -orderDoubleInt(float64(w), v.Int), true
		}
	case jsonscan.Double:
		d := v.Float
		if math.IsNaN(d) {
			return 0, false
		}
		switch w := lit.(type) {
		case types.Int:
			return orderDoubleInt(d, int64(w)), true
		case types.Uint:
			switch {
			case d < 0:
				return -1, true
			case d > math.MaxUint64:
				return 1, true
			}
			return cmp3(d < float64(w), d > float64(w)), true
		case types.Double:
			if math.IsNaN(float64(w)) {
				return 0, false
			}
			return cmp3(d < float64(w), d > float64(w)), true
		}
	}
	return 0, false
}

func orderDoubleInt(d float64, i int64) int {
	switch {
	case d < math.MinInt64:
		return -1
	case d > math.MaxInt64:
		return 1
	}
	return cmp3(d < float64(i), d > float64(i))
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}
