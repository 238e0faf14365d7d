package conditions

import (
	"slices"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
)

// PayloadPaths returns the parts of the payload the expression reads, as
// paths of field names from the payload root: record.payload.user.age
// reads ["user", "age"], record.payload.items[i].sku reads ["items"] (an
// index that is not a constant string reads the whole list). The
// expression reads nothing of the payload outside these subtrees. An empty
// path means the whole payload (record.payload compared or iterated as a
// whole); nil means the expression does not read the payload. A path that
// lies inside another one is left out. The result is a new slice each
// call, in the order of first use.
func (p *Program) PayloadPaths() [][]string { return payloadPaths(p.x.ast) }

// PayloadPaths is Program.PayloadPaths for a value expression.
func (v *ValueProgram) PayloadPaths() [][]string { return payloadPaths(v.x.ast) }

func payloadPaths(a *cel.Ast) [][]string {
	var paths [][]string
	collectPaths(a.NativeRep().Expr(), &paths)
	// Keep only the outermost subtrees.
	var out [][]string
	for i, p := range paths {
		covered := false
		for j, q := range paths {
			if len(q) <= len(p) && slices.Equal(q, p[:len(q)]) && (len(q) < len(p) || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

// collectPaths adds to paths every chain of field selections and constant
// string indexes rooted at record.payload in e.
func collectPaths(e ast.Expr, paths *[][]string) {
	var rev []string // the fields of the chain, outermost first
	var computed []ast.Expr
	x := e
chain:
	for {
		switch x.Kind() {
		case ast.SelectKind:
			rev = append(rev, x.AsSelect().FieldName())
			x = x.AsSelect().Operand()
		case ast.CallKind:
			c := x.AsCall()
			args := c.Args()
			switch c.FunctionName() {
			case "_[_]", "_[?_]", "_?._":
			default:
				break chain
			}
			if len(args) != 2 || c.IsMemberFunction() {
				break chain
			}
			if k, ok := stringLiteral(args[1]); ok {
				rev = append(rev, k)
			} else {
				rev = rev[:0] // what is below a computed index is all read
				computed = append(computed, args[1])
			}
			x = args[0]
		default:
			break chain
		}
	}
	if x.Kind() == ast.IdentKind && x.AsIdent() == VarPayload {
		path := make([]string, len(rev))
		for i, f := range rev {
			path[len(rev)-1-i] = f
		}
		*paths = append(*paths, path)
		for _, c := range computed {
			collectPaths(c, paths)
		}
		return
	}
	// Not a payload chain: look inside e.
	switch e.Kind() {
	case ast.SelectKind:
		collectPaths(e.AsSelect().Operand(), paths)
	case ast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			collectPaths(c.Target(), paths)
		}
		for _, arg := range c.Args() {
			collectPaths(arg, paths)
		}
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			collectPaths(el, paths)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			collectPaths(me.Key(), paths)
			collectPaths(me.Value(), paths)
		}
	case ast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			collectPaths(f.AsStructField().Value(), paths)
		}
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		for _, part := range []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
			collectPaths(part, paths)
		}
	}
}
