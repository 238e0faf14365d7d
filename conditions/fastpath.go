package conditions

import (
	"errors"
	"fmt"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"github.com/buger/jsonparser"

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

// fastPath recognizes, in a checked expression,
//
//	record.metadata["K"] == "V"   (or !=, either side; also record.metadata.K)
//	record.key == "V"             (or !=, either side; also record.source)
//	"K" in record.metadata
//	record.payload.a.b == "V"     (or !=, either side; or a bool literal)
//	record.payload.a.b            (a bool field as the whole condition)
//
// and returns nil for anything else.
func fastPath(a *cel.Ast) fastFunc {
	if a == nil || !a.IsChecked() {
		return nil
	}
	e := a.NativeRep().Expr()
	if path, ok := selectPath(e); ok {
		return payloadBool(path)
	}
	if e.Kind() != ast.CallKind {
		return nil
	}
	call := e.AsCall()
	args := call.Args()
	if len(args) != 2 || call.IsMemberFunction() {
		return nil
	}
	switch call.FunctionName() {
	case "_==_", "_!=_":
		eq := call.FunctionName() == "_==_"
		lhs, rhs := args[0], args[1]
		if f := payloadEquals(lhs, rhs, eq); f != nil {
			return f
		}
		if f := payloadEquals(rhs, lhs, eq); f != nil {
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
			return func(r *record.Record) (bool, error) {
				v, found := r.Metadata.Get(key)
				if !found {
					return false, fmt.Errorf("no such key: %s", key)
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
	case "@in":
		key, ok := stringLiteral(args[0])
		if ok && args[1].Kind() == ast.IdentKind && args[1].AsIdent() == VarMetadata {
			return func(r *record.Record) (bool, error) { return r.Metadata.Has(key), nil }
		}
	}
	return nil
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
	return path, true
}

// payloadEquals matches record.payload.PATH == LITERAL for a string or
// bool literal.
func payloadEquals(field, lit ast.Expr, eq bool) fastFunc {
	path, ok := selectPath(field)
	if !ok || lit.Kind() != ast.LiteralKind {
		return nil
	}
	switch v := lit.AsLiteral().(type) {
	case types.String:
		want := string(v)
		return scanField(path, func(val []byte, t jsonparser.ValueType) (bool, error) {
			if t != jsonparser.String {
				return !eq, nil // CEL: values of different types are not equal
			}
			s, err := jsonparser.ParseString(val)
			if err != nil {
				return false, errFallback
			}
			return (s == want) == eq, nil
		})
	case types.Bool:
		want := bool(v)
		return scanField(path, func(val []byte, t jsonparser.ValueType) (bool, error) {
			if t != jsonparser.Boolean {
				return !eq, nil
			}
			b, err := jsonparser.ParseBoolean(val)
			if err != nil {
				return false, errFallback
			}
			return (b == want) == eq, nil
		})
	}
	return nil
}

// payloadBool matches a bool payload field used as the whole condition.
func payloadBool(path []string) fastFunc {
	return scanField(path, func(val []byte, t jsonparser.ValueType) (bool, error) {
		if t != jsonparser.Boolean {
			return false, errFallback // the interpreter reports the type
		}
		b, err := jsonparser.ParseBoolean(val)
		if err != nil {
			return false, errFallback
		}
		return b, nil
	})
}

// scanField reads one payload field straight from the bytes of a payload
// that its source validated and nobody has parsed yet: finding a field near
// the start of a ~100-byte document costs a fraction of the parse (a field
// at the very end costs about as much), and a record that one or two
// conditions look at then never needs the tree. Once the payload is parsed
// (another condition needed it), when it is not known to be valid, or when
// the field is missing, the interpreter decides, so results and errors are
// CEL's own.
func scanField(path []string, decide func(val []byte, t jsonparser.ValueType) (bool, error)) fastFunc {
	return func(r *record.Record) (bool, error) {
		// Scan only a payload its source has validated and nobody has
		// parsed: checking validity here would cost as much as the parse.
		if r.Parsed() || !r.JSONValidated() {
			return false, errFallback
		}
		val, t, _, err := jsonparser.Get(r.Payload, path...)
		if err != nil || t == jsonparser.NotExist {
			return false, errFallback
		}
		return decide(val, t)
	}
}
