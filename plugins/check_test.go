package plugins

import (
	"context"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

func TestCheckImport_Verdicts(t *testing.T) {
	fn := func(mod, name, sig string) wasmrt.Import {
		return wasmrt.Import{Module: mod, Name: name, Kind: wasmrt.KindFunc, Signature: sig}
	}
	dirs := Grants{Dirs: map[string]string{"/data": "/tmp"}}
	tests := []struct {
		name   string
		imp    wasmrt.Import
		grants Grants
		reason string // "" = allowed
	}{
		{"log", fn("conveyor", "log_v1", "(i32,i32,i32)->()"), Grants{}, ""},
		{"config", fn("conveyor", "config_get_v1", "(i32,i32,i32,i32)->i32"), Grants{}, ""},
		{"clock", fn("conveyor", "clock_now_v1", "()->i64"), Grants{}, ""},
		{"metric", fn("conveyor", "metric_add_v1", "(i32,i32,i64)->()"), Grants{}, ""},
		{"host v2", fn("conveyor", "log_v2", "(i32,i32,i32)->()"), Grants{}, "no host function conveyor.log_v2 in ABI 1.1"},
		{"host bad sig", fn("conveyor", "clock_now_v1", "()->i32"), Grants{}, "signature ()->i32, want ()->i64"},
		{"fd_write", fn("wasi_snapshot_preview1", "fd_write", "(i32,i32,i32,i32)->i32"), Grants{}, ""},
		{"random", fn("wasi_snapshot_preview1", "random_get", "(i32,i32)->i32"), Grants{}, ""},
		{"path ungranted", fn("wasi_snapshot_preview1", "path_open", ""), Grants{}, "filesystem access is not granted"},
		{"path granted", fn("wasi_snapshot_preview1", "path_open", ""), dirs, ""},
		{"sock", fn("wasi_snapshot_preview1", "sock_accept", ""), dirs, "network access is not granted"},
		{"unknown wasi", fn("wasi_snapshot_preview1", "thread_spawn", ""), Grants{}, "not on the WASI allow-list"},
		{"env module", fn("env", "abort", ""), Grants{}, `import module "env" is not allowed`},
		{"memory import", wasmrt.Import{Module: "env", Name: "memory", Kind: wasmrt.KindMemory}, Grants{}, "a plugin must define its own memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkImport(tt.imp, tt.grants)
			if (tt.reason == "") != (got == "") || !strings.Contains(got, tt.reason) {
				t.Fatalf("checkImport = %q, want %q", got, tt.reason)
			}
		})
	}
}

// fakeModule is a wasmrt.Module with fixed imports and exports.
type fakeModule struct {
	imports []wasmrt.Import
	exports []wasmrt.Export
}

func (m fakeModule) Imports() []wasmrt.Import { return m.imports }
func (m fakeModule) Exports() []wasmrt.Export { return m.exports }
func (m fakeModule) Instantiate(context.Context, wasmrt.InstanceConfig) (wasmrt.Instance, error) {
	panic("not used")
}

func pluginExports() []wasmrt.Export {
	return []wasmrt.Export{
		{Name: "memory", Kind: wasmrt.KindMemory, MinPages: 2, MaxPages: 10},
		{Name: "conveyor_abi_version", Kind: wasmrt.KindFunc, Signature: "()->i32"},
		{Name: "conveyor_alloc", Kind: wasmrt.KindFunc, Signature: "(i32)->i32"},
		{Name: "conveyor_init", Kind: wasmrt.KindFunc, Signature: "(i32,i32)->i64"},
		{Name: "conveyor_process", Kind: wasmrt.KindFunc, Signature: "(i32,i32)->i64"},
	}
}

func TestDescribe_Modules(t *testing.T) {
	wrongSig := pluginExports()
	wrongSig[4].Signature = "(i32,i32)->i32"
	badClose := append(pluginExports(), wasmrt.Export{Name: "conveyor_close", Kind: wasmrt.KindFunc, Signature: "(i32)->()"})
	tests := []struct {
		name     string
		mod      fakeModule
		what     string
		loadable bool
		problems []string
	}{
		{"plugin", fakeModule{exports: pluginExports()}, "conveyor plugin", true, nil},
		{"command", fakeModule{exports: []wasmrt.Export{{Name: "_start", Kind: wasmrt.KindFunc, Signature: "()->()"},
			{Name: "memory", Kind: wasmrt.KindMemory}}}, "WASI command module, not a conveyor plugin", false,
			[]string{"missing exports: conveyor_abi_version, conveyor_alloc, conveyor_init, conveyor_process"}},
		{"empty", fakeModule{}, "WebAssembly module without conveyor exports, not a conveyor plugin", false,
			[]string{`no exported memory "memory"`}},
		{"incomplete", fakeModule{exports: pluginExports()[:3]}, "incomplete conveyor plugin", false,
			[]string{"missing exports: conveyor_init, conveyor_process"}},
		{"wrong signature", fakeModule{exports: wrongSig}, "conveyor plugin", false,
			[]string{"export conveyor_process has type func (i32,i32)->i32, want func (i32,i32)->i64"}},
		{"bad optional", fakeModule{exports: badClose}, "conveyor plugin", false,
			[]string{"export conveyor_close has type func (i32)->(), want func ()->()"}},
		{"bad import", fakeModule{exports: pluginExports(), imports: []wasmrt.Import{{Module: "env", Name: "f", Kind: wasmrt.KindFunc}}},
			"conveyor plugin", false, []string{"import env.f is not allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := describe(tt.mod, Grants{})
			if info.What != tt.what || info.Loadable != tt.loadable {
				t.Fatalf("What %q Loadable %v, want %q %v (problems %q)", info.What, info.Loadable, tt.what, tt.loadable, info.Problems)
			}
			joined := strings.Join(info.Problems, "\n")
			for _, p := range tt.problems {
				if !strings.Contains(joined, p) {
					t.Errorf("problems %q lack %q", info.Problems, p)
				}
			}
		})
	}
	info := describe(fakeModule{exports: pluginExports()}, Grants{})
	if info.MemoryMinPages != 2 || info.MemoryMaxPages != 10 {
		t.Fatalf("memory pages %d/%d", info.MemoryMinPages, info.MemoryMaxPages)
	}
}

func TestInfo_SetVersion(t *testing.T) {
	info := Info{Loadable: true, What: "conveyor plugin"}
	info.setVersion(0x00010003)
	if !info.Loadable || info.ABI != "1.3" || info.What != "conveyor transform plugin, ABI 1.3" {
		t.Fatalf("newer minor: %+v", info)
	}
	info.setVersion(0x00020000)
	if info.Loadable || len(info.Problems) != 1 || !strings.Contains(info.Problems[0], "2.0 is not compatible with host ABI version 1.1") {
		t.Fatalf("other major: %+v", info)
	}
}
