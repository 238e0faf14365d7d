package conditions

import (
	"errors"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func TestExplainer_Explain(t *testing.T) {
	other := errors.New("no such key: x")
	var nilX *explainer
	if got := nilX.explain(nil, other); got != other {
		t.Fatalf("nil explainer changed the error: %v", got)
	}
	p := compileT(t, `record.payload.a < record.payload.b`)
	if got := p.x.explain(nil, other); got != other {
		t.Fatalf("explain changed a non-overload error: %v", got)
	}
	_, err := p.Eval(record.New("", []byte(`{"a":"x","b":[1]}`)))
	if err == nil || err.Error() != `condition "record.payload.a < record.payload.b": no such overload: _<_(string, list)` {
		t.Fatalf("Eval error = %v", err)
	}
	var oe *overloadError
	if !errors.As(err, &oe) || errors.Unwrap(oe) == nil {
		t.Fatalf("error does not unwrap to CEL's: %#v", err)
	}
}

func TestValueProgram_EvalString_ExplainsOverload(t *testing.T) {
	v, err := newEnv(t).CompileValue(`record.payload.a + "!"`, Source{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.EvalString(record.New("", []byte(`{"a":1}`)))
	if err == nil || err.Error() != `condition "record.payload.a + \"!\"": no such overload: _+_(int, string)` {
		t.Fatalf("EvalString error = %v", err)
	}
}
