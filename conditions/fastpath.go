package conditions

import (
	"fmt"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// fastFunc evaluates one of the commonest condition shapes directly on the
// record, with exactly the result and error CEL would give. Routing on a
// metadata value or the key is the hot path of most pipelines; skipping
// the interpreter there takes it from about 90 ns to about 5.
type fastFunc func(r *record.Record) (bool, error)

// fastPath recognizes, in a checked expression,
//
//	record.metadata["K"] == "V"   (or !=, either side; also record.metadata.K)
//	record.key == "V"             (or !=, either side; also record.source)
//	"K" in record.metadata
//
// and returns nil for anything else.
func fastPath(a *cel.Ast) fastFunc {
	if a == nil || !a.IsChecked() {
		return nil
	}
	e := a.NativeRep().Expr()
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
