// Package wasmbin reads the few things the plugin host needs from a
// WebAssembly binary before a runtime compiles it: whether the bytes are a
// module at all (and if not, what they look like), and the limits of its
// memory. It parses only the section framing and the memory section.
package wasmbin

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Magic and Version start every core WebAssembly module.
var (
	Magic   = []byte{0x00, 'a', 's', 'm'}
	Version = []byte{0x01, 0x00, 0x00, 0x00}
)

// What says what b looks like when it is not a core WebAssembly module, or
// "" when it starts like one.
func What(b []byte) string {
	switch {
	case len(b) == 0:
		return "an empty file"
	case bytes.HasPrefix(b, Magic) && len(b) >= 8 && bytes.Equal(b[4:8], Version):
		return ""
	case bytes.HasPrefix(b, Magic) && len(b) >= 8 && b[6] != 0:
		return fmt.Sprintf("a WebAssembly component or layer %d (version %#x), not a core module", b[6], b[4:8])
	case bytes.HasPrefix(b, Magic):
		return fmt.Sprintf("a WebAssembly binary of unsupported version % x", b[4:min(8, len(b))])
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return "an ELF executable or library (a native build, not GOOS=wasip1 GOARCH=wasm or --target wasm32-wasi)"
	case bytes.HasPrefix(b, []byte("MZ")):
		return "a Windows executable"
	case bytes.HasPrefix(b, []byte{0xcf, 0xfa, 0xed, 0xfe}), bytes.HasPrefix(b, []byte{0xca, 0xfe, 0xba, 0xbe}):
		return "a Mach-O executable"
	case bytes.HasPrefix(b, []byte("!<arch>\n")):
		return "an archive (a static library), not a linked module"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return "a zip archive"
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return "a gzip file"
	case bytes.HasPrefix(bytes.TrimSpace(b), []byte("(module")), bytes.HasPrefix(bytes.TrimSpace(b), []byte("(component")):
		return "WebAssembly text (WAT); compile it with wat2wasm"
	case utf8.Valid(b[:min(len(b), 512)]) || utf8.Valid(bytes.TrimRight(b[:min(len(b), 512)], "\x80\xbf")):
		first := bytes.TrimSpace(b[:min(len(b), 40)])
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		return fmt.Sprintf("a text file starting %q", first)
	}
	return fmt.Sprintf("not a WebAssembly module (starts with % x)", b[:min(8, len(b))])
}

// Memory is the declared limits of a module's own memory, in 64 KiB pages.
type Memory struct {
	Min, Max uint32
	HasMax   bool
}

var errNoMemory = errors.New("no memory section")

// DefinedMemory returns the limits of the first memory the module defines
// (not imports). It reads only section headers and the memory section.
func DefinedMemory(b []byte) (Memory, error) {
	if What(b) != "" {
		return Memory{}, errors.New("not a WebAssembly module")
	}
	r := reader{b: b, off: 8}
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return Memory{}, err
		}
		size, err := r.u32()
		if err != nil {
			return Memory{}, err
		}
		end := r.off + int(size)
		if end > len(r.b) || end < r.off {
			return Memory{}, fmt.Errorf("section %d of %d bytes past end of module", id, size)
		}
		if id != 5 {
			r.off = end
			continue
		}
		n, err := r.u32()
		if err != nil || n == 0 {
			return Memory{}, errNoMemory
		}
		flags, err := r.byte()
		if err != nil {
			return Memory{}, err
		}
		if flags&^3 != 0 {
			return Memory{}, fmt.Errorf("unsupported memory limits flags %#x", flags)
		}
		var m Memory
		if m.Min, err = r.u32(); err != nil {
			return Memory{}, err
		}
		if flags&1 != 0 {
			if m.Max, err = r.u32(); err != nil {
				return Memory{}, err
			}
			m.HasMax = true
		}
		return m, nil
	}
	return Memory{}, errNoMemory
}

type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errors.New("unexpected end of module")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// u32 reads an unsigned LEB128 number of at most 32 bits.
func (r *reader) u32() (uint32, error) {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("malformed LEB128 number")
}
