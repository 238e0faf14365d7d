package conditions

import (
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	exprpb "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
)

// DefaultCostLimit is the cost limit of an Env made without
// WithCostLimit. CEL's cost unit is roughly one basic operation (a field
// selection, a comparison, a step of a comprehension; string and list
// functions count by size): routing conditions cost from 2 to a few
// hundred, an exists() over a 1,000-element payload list about 7,000. The
// limit is Kubernetes' per-expression limit, which it documents as about a
// tenth of a second of evaluation: high enough that no sensible condition
// meets it, low enough that an expression cannot take the process down.
const DefaultCostLimit uint64 = 1_000_000

// AssumedValueBytes and AssumedElementBytes are the sizes the static cost
// estimate assumes. A value read from the record (the payload or a field
// of it, the key, the source, the metadata or one of its values) is
// assumed to hold at most AssumedValueBytes characters, or half as many
// entries if it is a list or map (each entry takes at least two bytes of
// JSON); an element of such a list or map, at most AssumedElementBytes
// characters or half as many entries. Records beyond that are evaluated
// all the same; the runtime limit stops an evaluation that grows past the
// limit. With these sizes and DefaultCostLimit, one comprehension over a
// payload list (exists, all, filter, map) is accepted, and so is matches()
// over a concatenation of payload fields; a comprehension nested in
// another over the payload is rejected (raise the limit to allow it), as
// is a chain of string functions whose result grows geometrically.
const (
	AssumedValueBytes   = 16 << 10
	AssumedElementBytes = 256
)

// ErrCostLimit is the cause (errors.Is) when an evaluation stopped because
// it exceeded the Env's cost limit.
var ErrCostLimit = errors.New("cost limit exceeded")

// WithCostLimit sets the cost limit of every expression compiled by the
// Env (conditions and values): Compile rejects an expression whose
// estimated cost, for records of up to AssumedValueBytes, can exceed n,
// and an evaluation that exceeds n fails with ErrCostLimit. 0 turns both
// off. The default is DefaultCostLimit.
func WithCostLimit(n uint64) EnvOption {
	return func(e *Env) { e.costLimit = n }
}

// CostLimit returns the Env's cost limit (0: none).
func (e *Env) CostLimit() uint64 { return e.costLimit }

// programOptions are the options of a program the Env builds; track
// turns on runtime cost tracking (see checkCost).
func (e *Env) programOptions(track bool) []cel.ProgramOption {
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if track && e.costLimit > 0 {
		opts = append(opts, cel.CostLimit(e.costLimit))
	}
	return opts
}

// checkCost rejects a when its estimated cost can exceed the limit, with
// the position of the smallest part of the expression whose cost alone
// can exceed it. Otherwise it says whether evaluations need the runtime
// limit: cel-go's cost tracking triples the cost of a cheap interpreted
// condition (BENCHMARKS.md), so it is left off where it cannot matter: an
// expression without a comprehension whose estimate at most doubles when
// the record doubles can cost no more than a few passes over the record,
// which is bounded by the record itself. Every comprehension, and
// anything that grows faster than the record, is tracked.
func (e *Env) checkCost(expr string, src Source, a *cel.Ast) (track bool, err error) {
	if e.costLimit == 0 {
		return false, nil
	}
	est, err := e.cel.EstimateCost(a, e.sizes)
	if err != nil {
		return true, nil // no estimate: the runtime limit holds
	}
	if est.Max > e.costLimit {
		line, col := 1, 0
		if id, ok := e.costliestPart(a); ok {
			loc := a.NativeRep().SourceInfo().GetStartLocation(id)
			if loc.Line() >= 1 {
				line, col = loc.Line(), loc.Column()
			}
		}
		return false, e.positioner(expr, src).errorAt(line, col, fmt.Sprintf(
			"expression may be too costly: estimated cost up to %s exceeds the cost limit %d "+
				"(for record values of up to %d bytes; avoid nested loops and growing strings, or raise the limit)",
			costString(est.Max), e.costLimit, e.sizes.value))
	}
	if hasComprehension(a) {
		return true, nil
	}
	double := sizeEstimator{value: 2 * e.sizes.value, elem: 2 * e.sizes.elem}
	est2, err := e.cel.EstimateCost(a, double)
	return err != nil || est2.Max > 2*est.Max, nil
}

func hasComprehension(a *cel.Ast) bool {
	found := false
	ast.PostOrderVisit(a.NativeRep().Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		if x.Kind() == ast.ComprehensionKind {
			found = true
		}
	}))
	return found
}

func costString(c uint64) string {
	if c == ^uint64(0) {
		return "unbounded"
	}
	return fmt.Sprint(c)
}

// costliestPart returns the id of the first sub-expression, children
// before parents, whose estimated cost alone exceeds the limit. Parts
// inside a comprehension are not estimated alone (their iteration
// variables have no meaning there): the comprehension is.
func (e *Env) costliestPart(a *cel.Ast) (int64, bool) {
	ce, err := cel.AstToCheckedExpr(a)
	if err != nil {
		return 0, false
	}
	var found int64
	var visit func(x *exprpb.Expr) bool
	visit = func(x *exprpb.Expr) bool {
		switch k := x.GetExprKind().(type) {
		case *exprpb.Expr_CallExpr:
			if t := k.CallExpr.GetTarget(); t != nil && visit(t) {
				return true
			}
			for _, arg := range k.CallExpr.GetArgs() {
				if visit(arg) {
					return true
				}
			}
		case *exprpb.Expr_ComprehensionExpr:
			if visit(k.ComprehensionExpr.GetIterRange()) {
				return true
			}
		case *exprpb.Expr_SelectExpr:
			return visit(k.SelectExpr.GetOperand())
		default:
			return false
		}
		part := &exprpb.CheckedExpr{ReferenceMap: ce.GetReferenceMap(), TypeMap: ce.GetTypeMap(), SourceInfo: ce.GetSourceInfo(), Expr: x}
		est, err := e.cel.EstimateCost(cel.CheckedExprToAst(part), e.sizes)
		if err == nil && est.Max > e.costLimit {
			found = x.GetId()
			return true
		}
		return false
	}
	return found, visit(ce.GetExpr())
}

// sizeEstimator bounds the record's variables and what is read from them
// by value bytes, and their elements by elem bytes.
type sizeEstimator struct{ value, elem uint64 }

var defaultSizes = sizeEstimator{value: AssumedValueBytes, elem: AssumedElementBytes}

func (z sizeEstimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		return nil
	}
	switch p[0] {
	case VarPayload, VarMetadata, VarKey, VarSource:
	default:
		return nil
	}
	max := z.value
	for _, seg := range p[1:] {
		if strings.HasPrefix(seg, "@") { // @items, @keys, @values
			max = z.elem
		}
	}
	// A string counts characters; a list or map, entries.
	if t := n.Type(); t == nil || t.Kind() != types.StringKind && t.Kind() != types.DynKind {
		max /= 2
	}
	s := cost.RangedSizeEstimate(0, max)
	return &s
}

func (sizeEstimator) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	return nil
}
