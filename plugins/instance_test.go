package plugins

import (
	"testing"
)

func TestOutOfMemory_Reports(t *testing.T) {
	tests := []struct {
		stderr string
		want   bool
	}{
		{"fatal error: out of memory\n\ngoroutine 1", true},   // Go
		{"memory allocation of 1048576 bytes failed\n", true}, // Rust
		{"panic: guest asked to panic\n\ngoroutine 1 [running]", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := outOfMemory(tt.stderr); got != tt.want {
			t.Errorf("outOfMemory(%q) = %v, want %v", tt.stderr, got, tt.want)
		}
	}
}

func TestFirstLine_Values(t *testing.T) {
	tests := map[string]string{
		"wasm error: unreachable\nwasm stack trace:\n\tf()": "wasm error: unreachable",
		"one line": "one line",
		"":         "",
	}
	for in, want := range tests {
		if got := firstLine(in); got != want {
			t.Errorf("firstLine(%q) = %q, want %q", in, got, want)
		}
	}
}
