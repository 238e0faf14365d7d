package plugins

import (
	"errors"
	"testing"
)

func TestFault_String_Values(t *testing.T) {
	tests := []struct {
		f    Fault
		want string
	}{
		{FaultTrap, "trap"}, {FaultTimeout, "timeout"}, {FaultMemory, "memory"},
		{FaultInvalidOutput, "invalid-output"}, {FaultInit, "init"}, {FaultStack, "stack"}, {0, "fault(0)"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Fault(%d).String() = %q, want %q", uint8(tt.f), got, tt.want)
		}
	}
}

func TestBatchError_Error_WrapsCause(t *testing.T) {
	cause := errors.New("wasm error: unreachable")
	err := error(&BatchError{Plugin: "mask", Kind: FaultTrap, Message: "guest trapped: panic: boom", Err: cause})
	if got, want := err.Error(), "plugin mask: batch failed (trap): guest trapped: panic: boom"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Fatal("BatchError does not unwrap to its cause")
	}
}
