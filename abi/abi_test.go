package abi

import "testing"

func TestPackPtrLen_RoundTrip(t *testing.T) {
	tests := []struct{ ptr, n uint32 }{
		{0, 0}, {1, 2}, {0xffffffff, 0}, {0, 0xffffffff}, {0xdeadbeef, 0x01020304},
	}
	for _, tt := range tests {
		v := PackPtrLen(tt.ptr, tt.n)
		if v != uint64(tt.ptr)<<32|uint64(tt.n) {
			t.Errorf("PackPtrLen(%#x, %#x) = %#x", tt.ptr, tt.n, v)
		}
		p, n := UnpackPtrLen(v)
		if p != tt.ptr || n != tt.n {
			t.Errorf("UnpackPtrLen(%#x) = %#x, %#x; want %#x, %#x", v, p, n, tt.ptr, tt.n)
		}
	}
}

func TestFormatVersion_Values(t *testing.T) {
	tests := []struct {
		v    uint32
		want string
	}{
		{Version, "1.1"}, {0x00020000, "2.0"}, {0x00010003, "1.3"}, {0, "0.0"},
	}
	for _, tt := range tests {
		if got := FormatVersion(tt.v); got != tt.want {
			t.Errorf("FormatVersion(%#x) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestCompatible_Versions(t *testing.T) {
	tests := []struct {
		v    uint32
		want bool
	}{
		{Version, true}, {0x00010007, true}, {0x00020000, false}, {0x00000001, false},
	}
	for _, tt := range tests {
		if got := Compatible(tt.v); got != tt.want {
			t.Errorf("Compatible(%#x) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestOutputKind_String_Values(t *testing.T) {
	tests := []struct {
		k    OutputKind
		want string
	}{
		{KindRecord, "record"}, {KindDrop, "drop"}, {KindError, "error"}, {7, "kind(7)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("%d.String() = %q, want %q", uint8(tt.k), got, tt.want)
		}
	}
}
