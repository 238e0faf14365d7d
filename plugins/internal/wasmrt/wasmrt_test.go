package wasmrt

import (
	"errors"
	"fmt"
	"testing"
)

func TestSignature_Format(t *testing.T) {
	tests := []struct {
		params, results []string
		want            string
	}{
		{nil, nil, "()->()"},
		{[]string{"i32", "i32"}, []string{"i64"}, "(i32,i32)->i64"},
		{[]string{"i32"}, []string{"i32", "i32"}, "(i32)->(i32,i32)"},
	}
	for _, tt := range tests {
		if got := Signature(tt.params, tt.results); got != tt.want {
			t.Errorf("Signature(%v, %v) = %q, want %q", tt.params, tt.results, got, tt.want)
		}
	}
}

func TestKind_String_Values(t *testing.T) {
	for k, want := range map[Kind]string{KindFunc: "func", KindMemory: "memory", KindTable: "table", KindGlobal: "global", 9: "kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d) = %q, want %q", k, got, want)
		}
	}
}

func TestOutcomeOf_Wrapped(t *testing.T) {
	base := errors.New("wasm error: unreachable")
	err := fmt.Errorf("call: %w", &CallError{Outcome: Trap, Err: base})
	if OutcomeOf(err) != Trap || !errors.Is(err, base) {
		t.Fatalf("OutcomeOf = %d, Is(base) = %v", OutcomeOf(err), errors.Is(err, base))
	}
	if OutcomeOf(base) != 0 {
		t.Fatal("plain error has an outcome")
	}
	if err.Error() != "call: wasm error: unreachable" {
		t.Fatalf("Error() = %q", err.Error())
	}
}
