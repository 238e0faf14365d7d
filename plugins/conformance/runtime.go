package conformance

import (
	"context"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

// RuntimeCases are the behaviours RunRuntime checks with hand-assembled
// modules: they concern the host and the runtime, not a guest SDK.
var RuntimeCases = []struct {
	Name string
	Run  func(t *testing.T, runtime string)
}{
	{"version_2_0_is_refused", testVersion},
	{"forbidden_import_is_refused", testForbiddenImport},
	{"lookup_needs_1_1", testLookupNeeds11},
	{"internal_import_is_refused", testReservedImport},
}

// RunRuntime runs every RuntimeCase on the named runtime ("" for the
// default).
func RunRuntime(t *testing.T, runtime string) {
	for _, c := range RuntimeCases {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, runtime) })
	}
}

func loadModule(t *testing.T, runtime string, wasm []byte) error {
	t.Helper()
	p, err := plugins.Load(context.Background(), plugins.Options{Name: "hand", Wasm: wasm, Runtime: runtime, Instances: 1, CacheDir: "off"})
	if err == nil {
		p.Close(context.Background())
	}
	return err
}

func testVersion(t *testing.T, runtime string) {
	// A well-formed module reports 2.0 (and one reporting 1.1 loads, so the
	// refusal is about the version alone).
	if err := loadModule(t, runtime, minimalModule(0x00010001, nil, false)); err != nil {
		t.Fatalf("the 1.1 module does not load: %v", err)
	}
	err := loadModule(t, runtime, minimalModule(0x00020000, nil, false))
	want := "guest ABI version 2.0 is not compatible with host ABI version " + abi.FormatVersion(abi.Version)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
}

func testForbiddenImport(t *testing.T, runtime string) {
	err := loadModule(t, runtime, minimalModule(abi.Version, []hostImport{{"wasi_snapshot_preview1", "sock_accept"}}, false))
	if err == nil || !strings.Contains(err.Error(), "import wasi_snapshot_preview1.sock_accept is not allowed") {
		t.Fatalf("err = %v, want a refusal naming the import", err)
	}
}

func testLookupNeeds11(t *testing.T, runtime string) {
	err := loadModule(t, runtime, minimalModule(0x00010000, nil, true))
	if err == nil || !strings.Contains(err.Error(), "lookups need 1.1") {
		t.Fatalf("err = %v, want a refusal of conveyor_lookup in a 1.0 guest", err)
	}
}

type hostImport struct{ module, name string }

// minimalModule assembles a module with one page of memory whose
// conveyor_abi_version returns version, conveyor_alloc returns 1024,
// conveyor_init succeeds and conveyor_process returns (0, 0). Imports have
// type (i32,i32,i32)->i32; withLookup adds a conveyor_lookup.
func minimalModule(version int32, imports []hostImport, withLookup bool) []byte {
	const i32, i64 = 0x7f, 0x7e
	var b []byte
	b = append(b, 0, 'a', 's', 'm', 1, 0, 0, 0)
	// types: 0 ()->i32, 1 (i32)->i32, 2 (i32,i32)->i64, 3 (i32,i32,i32)->i32
	b = section(b, 1, vec(
		[]byte{0x60, 0, 1, i32},
		[]byte{0x60, 1, i32, 1, i32},
		[]byte{0x60, 2, i32, i32, 1, i64},
		[]byte{0x60, 3, i32, i32, i32, 1, i32},
	))
	if len(imports) > 0 {
		var ims [][]byte
		for _, im := range imports {
			ims = append(ims, append(append(name(im.module), name(im.name)...), 0x00, 3))
		}
		b = section(b, 2, vec(ims...))
	}
	types := [][]byte{{0}, {1}, {2}, {2}}
	bodies := [][]byte{
		append(append([]byte{0x41}, sleb(int64(version))...), 0x0b),
		{0x41, 0x80, 0x08, 0x0b}, // i32.const 1024
		{0x42, 0x00, 0x0b},       // i64.const 0
		{0x42, 0x00, 0x0b},
	}
	names := []string{abi.ExportVersion, abi.ExportAlloc, abi.ExportInit, abi.ExportProcess}
	if withLookup {
		types = append(types, []byte{2})
		bodies = append(bodies, []byte{0x42, 0x00, 0x0b})
		names = append(names, abi.ExportLookup)
	}
	b = section(b, 3, vec(types...))
	b = section(b, 5, vec([]byte{0x00, 1}))
	exports := [][]byte{append(name(abi.ExportMemory), 0x02, 0)}
	for i, n := range names {
		exports = append(exports, append(name(n), 0x00, byte(len(imports)+i)))
	}
	b = section(b, 7, vec(exports...))
	var code [][]byte
	for _, body := range bodies {
		fn := append([]byte{0}, body...) // no locals
		code = append(code, append(uleb(uint64(len(fn))), fn...))
	}
	return section(b, 10, vec(code...))
}

func section(b []byte, id byte, content []byte) []byte {
	b = append(b, id)
	b = append(b, uleb(uint64(len(content)))...)
	return append(b, content...)
}

func vec(items ...[]byte) []byte {
	b := uleb(uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func name(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func testReservedImport(t *testing.T, runtime string) {
	err := loadModule(t, runtime, minimalModule(abi.Version, []hostImport{{"conveyor_internal", "refuel"}}, false))
	if err == nil || !strings.Contains(err.Error(), `import module "conveyor_internal" is not allowed`) {
		t.Fatalf("err = %v, want a refusal of the host's internal import module", err)
	}
}
