package conditions

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// explainer turns CEL's bare "no such overload" evaluation error into one
// that says which operation got which types, for example
//
//	no such overload: _>_(string, int)
//
// It re-evaluates the failing record with state tracking, which costs
// nothing until an evaluation fails: the tracking program is built on the
// first failure.
type explainer struct {
	env   *cel.Env
	ast   *cel.Ast
	limit uint64 // the cost limit, 0 for none
	once  sync.Once
	prg   cel.Program
}

func (x *explainer) explain(vars interpreter.Activation, err error) error {
	if x == nil || err == nil {
		return err
	}
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		return fmt.Errorf("%w: the evaluation cost more than %d", ErrCostLimit, x.limit)
	}
	if !strings.HasPrefix(err.Error(), "no such overload") {
		return err
	}
	x.once.Do(func() {
		opts := []cel.ProgramOption{cel.EvalOptions(cel.OptTrackState)}
		if x.limit > 0 {
			opts = append(opts, cel.CostLimit(x.limit))
		}
		x.prg, _ = x.env.Program(x.ast, opts...)
	})
	if x.prg == nil {
		return err
	}
	_, det, _ := x.prg.Eval(vars)
	if det == nil || det.State() == nil {
		return err
	}
	state := det.State()
	var found string
	ast.PostOrderVisit(x.ast.NativeRep().Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if found != "" || e.Kind() != ast.CallKind {
			return
		}
		v, ok := state.Value(e.ID())
		if !ok || !types.IsError(v) || !strings.HasPrefix(v.(*types.Err).Error(), "no such overload") {
			return
		}
		call := e.AsCall()
		var argTypes []string
		if call.IsMemberFunction() {
			argTypes = append(argTypes, valueType(state, call.Target()))
		}
		for _, a := range call.Args() {
			argTypes = append(argTypes, valueType(state, a))
		}
		found = fmt.Sprintf("%s(%s)", call.FunctionName(), strings.Join(argTypes, ", "))
	}))
	if found == "" {
		return err
	}
	return &overloadError{call: found, err: err}
}

// overloadError is CEL's "no such overload" with the call and the types it
// got; it unwraps to CEL's error.
type overloadError struct {
	call string
	err  error
}

func (e *overloadError) Error() string { return "no such overload: " + e.call }
func (e *overloadError) Unwrap() error { return e.err }

func valueType(state interpreter.EvalState, e ast.Expr) string {
	v, ok := state.Value(e.ID())
	if !ok {
		return "?"
	}
	return v.Type().TypeName()
}
