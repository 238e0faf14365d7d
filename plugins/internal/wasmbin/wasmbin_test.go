package wasmbin

import (
	"strings"
	"testing"
)

func TestWhat_Kinds(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want string
	}{
		{"module", "\x00asm\x01\x00\x00\x00", ""},
		{"empty", "", "an empty file"},
		{"elf", "\x7fELF\x02\x01\x01", "an ELF executable"},
		{"text", "hello world\nsecond line", `a text file starting "hello world"`},
		{"wat", "  (module (func))", "WebAssembly text (WAT)"},
		{"component", "\x00asm\x0d\x00\x01\x00", "a WebAssembly component"},
		{"binary junk", "\xff\xfe\x00\x01\x02\x03", "not a WebAssembly module (starts with ff fe 00 01 02 03)"},
		{"archive", "!<arch>\nfoo", "an archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := What([]byte(tt.b))
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("What = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDefinedMemory_MinMax(t *testing.T) {
	// (module (type) (memory 17 32)): a type section to skip, then memory.
	mod := "\x00asm\x01\x00\x00\x00" + "\x01\x04\x01\x60\x00\x00" + "\x05\x04\x01\x01\x11\x20"
	m, err := DefinedMemory([]byte(mod))
	if err != nil || m != (Memory{Min: 17, Max: 32, HasMax: true}) {
		t.Fatalf("DefinedMemory = %+v, %v", m, err)
	}
	big := "\x00asm\x01\x00\x00\x00" + "\x05\x04\x01\x00\x80\x02" // min 256, no max
	if m, err := DefinedMemory([]byte(big)); err != nil || m != (Memory{Min: 256}) {
		t.Fatalf("DefinedMemory = %+v, %v", m, err)
	}
	if _, err := DefinedMemory([]byte("\x00asm\x01\x00\x00\x00")); err == nil {
		t.Fatal("no memory section: want an error")
	}
	if _, err := DefinedMemory([]byte("\x00asm\x01\x00\x00\x00\x05\x7f")); err == nil {
		t.Fatal("truncated section: want an error")
	}
}
