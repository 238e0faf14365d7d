package abi

import (
	"errors"
	"testing"
)

func TestSprintf_Verbs(t *testing.T) {
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"plain", nil, "plain"},
		{"%d/%d/%d/%d/%d", []any{-1, int64(2), uint8(3), uint16(4), uint32(5)}, "-1/2/3/4/5"},
		{"%#x %x", []any{uint8(0x80), uint16(255)}, "0x80 ff"},
		{"%q vs %q", []any{[]byte("a\x00"), "b"}, `"a\x00" vs "b"`},
		{"%s: %s", []any{"frame", []byte("x")}, "frame: x"},
		{"kind(%d)", []any{OutputKind(7)}, "kind(7)"},
		{"100%", nil, "100%"},
		{"missing %d", nil, "missing %!d"},
	}
	for _, tt := range tests {
		if got := sprintf(tt.format, tt.args...); got != tt.want {
			t.Errorf("sprintf(%q) = %q, want %q", tt.format, got, tt.want)
		}
	}
}

func TestWrapError_Unwrap(t *testing.T) {
	inner := &FrameError{Frame: "config", Offset: 1, Reason: "r"}
	err := error(&wrapError{prefix: "decode config", err: inner})
	var fe *FrameError
	if err.Error() != "decode config: abi: config frame: offset 1: r" || !errors.As(err, &fe) || fe != inner {
		t.Fatalf("wrapError = %q", err)
	}
}

func TestLittleEndian_RoundTrip(t *testing.T) {
	b := le.AppendUint16(nil, 0x0102)
	b = le.AppendUint32(b, 0x03040506)
	b = le.AppendUint64(b, 0x0708090a0b0c0d0e)
	want := []byte{2, 1, 6, 5, 4, 3, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 9, 8, 7}
	if string(b) != string(want) {
		t.Fatalf("appended % x, want % x", b, want)
	}
	if le.Uint16(b) != 0x0102 || le.Uint32(b[2:]) != 0x03040506 || le.Uint64(b[6:]) != 0x0708090a0b0c0d0e {
		t.Fatal("read back differs")
	}
}
