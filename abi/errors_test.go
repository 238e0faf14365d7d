package abi

import (
	"errors"
	"fmt"
	"testing"
)

func TestFrameError_Error_Format(t *testing.T) {
	err := fmt.Errorf("decode: %w", &FrameError{Frame: "input batch", Offset: 17, Reason: "truncated key"})
	want := "decode: abi: input batch frame: offset 17: truncated key"
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Offset != 17 {
		t.Fatalf("errors.As did not find the FrameError: %v", err)
	}
}
