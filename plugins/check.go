package plugins

import (
	"fmt"
	"slices"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// Import is one import of a plugin module and the host's verdict on it.
type Import struct {
	Module    string
	Name      string
	Kind      string // "func", "memory", "table" or "global"
	Signature string // functions only, e.g. "(i32,i32)->i64"
	// Allowed is false when the import alone makes the module unloadable;
	// Reason then says why.
	Allowed bool
	Reason  string
}

// Export is one export of a plugin module.
type Export struct {
	Name      string
	Kind      string
	Signature string // functions only
}

// Info describes a plugin module: what it is, what it needs and whether it
// loads. Load fills it for a loaded plugin; Inspect for any module.
type Info struct {
	// Name is the plugin's name (Options.Name); empty from Inspect.
	Name string
	// Runtime names the WebAssembly runtime, e.g. "wazero".
	Runtime string
	// Size is the module's size in bytes.
	Size int
	// What says what the module is, e.g. "conveyor plugin, ABI 1.0".
	What string
	// ABIVersion is the version the guest reported (major<<16 | minor), or
	// 0 when it could not be asked. ABI is the same as "major.minor".
	ABIVersion uint32
	ABI        string
	// Imports and Exports list the module's imports and exports.
	Imports []Import
	Exports []Export
	// MemoryMinPages and MemoryMaxPages describe the exported memory
	// (64 KiB pages); MemoryMaxPages is 0 when the module sets no maximum.
	MemoryMinPages, MemoryMaxPages uint32
	// Transform and Lookup report whether the module exports
	// conveyor_process and conveyor_lookup (ABI 1.1); a plugin has at
	// least one of them.
	Transform, Lookup bool
	// Init reports the result of conveyor_init with the config the module
	// was checked against: "ok", "failed: <message>", or "" when it was not
	// run (Inspect without a config runs it with an empty one).
	Init string
	// Loadable reports whether Load would accept the module with the
	// grants it was checked against; Problems says why not.
	Loadable bool
	Problems []string
}

// requiredExports are the function exports every plugin must have.
var requiredExports = map[string]string{
	abi.ExportVersion: "()->i32",
	abi.ExportAlloc:   "(i32)->i32",
	abi.ExportInit:    "(i32,i32)->i64",
}

// optionalExports may be present, with these signatures.
var optionalExports = map[string]string{
	abi.ExportInitialize: "()->()",
	abi.ExportClose:      "()->()",
	abi.ExportProcess:    "(i32,i32)->i64",
	abi.ExportLookup:     "(i32,i32)->i64",

	abi.ExportCapabilities: "()->i32",
}

// hostFuncs are the functions of the conveyor import module.
var hostFuncs = map[string]string{
	abi.FuncLog:       "(i32,i32,i32)->()",
	abi.FuncConfigGet: "(i32,i32,i32,i32)->i32",
	abi.FuncClockNow:  "()->i64",
	abi.FuncMetricAdd: "(i32,i32,i64)->()",
}

const wasiModule = "wasi_snapshot_preview1"

// wasiAllowed are the WASI functions every plugin may import: they touch
// only arguments, environment (empty unless granted), clocks, randomness,
// already open descriptors (stdio, plus preopened directories when granted)
// and the process itself.
var wasiAllowed = map[string]bool{
	"args_get": true, "args_sizes_get": true, "environ_get": true, "environ_sizes_get": true,
	"clock_res_get": true, "clock_time_get": true, "random_get": true,
	"proc_exit": true, "proc_raise": true, "sched_yield": true, "poll_oneoff": true,
	"fd_advise": true, "fd_allocate": true, "fd_close": true, "fd_datasync": true,
	"fd_fdstat_get": true, "fd_fdstat_set_flags": true, "fd_fdstat_set_rights": true,
	"fd_filestat_get": true, "fd_filestat_set_size": true, "fd_filestat_set_times": true,
	"fd_pread": true, "fd_prestat_get": true, "fd_prestat_dir_name": true, "fd_pwrite": true,
	"fd_read": true, "fd_readdir": true, "fd_renumber": true, "fd_seek": true, "fd_sync": true,
	"fd_tell": true, "fd_write": true,
}

// checkImport returns why imp is refused, or "".
func checkImport(imp wasmrt.Import, g Grants) string {
	if imp.Kind != wasmrt.KindFunc {
		return fmt.Sprintf("imported %s: a plugin must define its own %s", imp.Kind, imp.Kind)
	}
	switch imp.Module {
	case abi.ImportModule:
		want, ok := hostFuncs[imp.Name]
		if !ok {
			return fmt.Sprintf("no host function %s.%s in ABI %s", imp.Module, imp.Name, abi.FormatVersion(abi.Version))
		}
		if imp.Signature != want {
			return fmt.Sprintf("signature %s, want %s", imp.Signature, want)
		}
		return ""
	case wasiModule:
		switch {
		case wasiAllowed[imp.Name]:
			return ""
		case strings.HasPrefix(imp.Name, "path_"):
			if len(g.Dirs) > 0 {
				return ""
			}
			return "filesystem access is not granted (grant directories to allow path_* calls)"
		case strings.HasPrefix(imp.Name, "sock_"):
			return "network access is not granted to plugins"
		}
		return "not on the WASI allow-list"
	}
	return fmt.Sprintf("import module %q is not allowed (only %q and an allow-list of %q)",
		imp.Module, abi.ImportModule, wasiModule)
}

// describe fills the static part of Info (everything but the ABI version)
// from a compiled module.
func describe(mod wasmrt.Module, g Grants) Info {
	var info Info
	for _, imp := range mod.Imports() {
		reason := checkImport(imp, g)
		info.Imports = append(info.Imports, Import{Module: imp.Module, Name: imp.Name, Kind: imp.Kind.String(),
			Signature: imp.Signature, Allowed: reason == "", Reason: reason})
		if reason != "" {
			info.Problems = append(info.Problems, fmt.Sprintf("import %s.%s is not allowed: %s", imp.Module, imp.Name, reason))
		}
	}
	exports := map[string]wasmrt.Export{}
	for _, e := range mod.Exports() {
		exports[e.Name] = e
		info.Exports = append(info.Exports, Export{Name: e.Name, Kind: e.Kind.String(), Signature: e.Signature})
	}
	if mem, ok := exports[abi.ExportMemory]; ok && mem.Kind == wasmrt.KindMemory {
		info.MemoryMinPages, info.MemoryMaxPages = mem.MinPages, mem.MaxPages
	} else {
		info.Problems = append(info.Problems, fmt.Sprintf("no exported memory %q", abi.ExportMemory))
	}
	var missing []string
	for _, name := range sortedKeys(requiredExports) {
		e, ok := exports[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case e.Kind != wasmrt.KindFunc || e.Signature != requiredExports[name]:
			info.Problems = append(info.Problems, fmt.Sprintf("export %s has type %s %s, want func %s",
				name, e.Kind, e.Signature, requiredExports[name]))
		}
	}
	for _, name := range sortedKeys(optionalExports) {
		if e, ok := exports[name]; ok && (e.Kind != wasmrt.KindFunc || e.Signature != optionalExports[name]) {
			info.Problems = append(info.Problems, fmt.Sprintf("export %s has type %s %s, want func %s",
				name, e.Kind, e.Signature, optionalExports[name]))
		}
	}
	_, info.Transform = exports[abi.ExportProcess]
	_, info.Lookup = exports[abi.ExportLookup]
	if !info.Transform && !info.Lookup {
		missing = append(missing, abi.ExportProcess+" or "+abi.ExportLookup)
	}
	_, hasStart := exports["_start"]
	switch {
	case len(missing) == len(requiredExports)+1 && hasStart:
		info.What = "WASI command module, not a conveyor plugin"
	case len(missing) == len(requiredExports)+1:
		info.What = "WebAssembly module without conveyor exports, not a conveyor plugin"
	case len(missing) > 0:
		info.What = "incomplete conveyor plugin"
	default:
		info.What = "conveyor plugin"
	}
	if len(missing) > 0 {
		info.Problems = append(info.Problems, "missing exports: "+strings.Join(missing, ", "))
	}
	info.Loadable = len(info.Problems) == 0
	return info
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// setVersion records the ABI version the guest reported and refuses an
// incompatible major.
func (info *Info) setVersion(v uint32) {
	info.ABIVersion, info.ABI = v, abi.FormatVersion(v)
	if !abi.Compatible(v) {
		info.Problems = append(info.Problems, versionMismatch(v))
		info.Loadable = false
		return
	}
	info.What = "conveyor " + info.kinds() + " plugin, ABI " + info.ABI
}

// kinds says "transform", "lookup" or "transform and lookup".
func (info *Info) kinds() string {
	switch {
	case info.Transform && info.Lookup:
		return "transform and lookup"
	case info.Lookup:
		return "lookup"
	}
	return "transform"
}

func versionMismatch(v uint32) string {
	return fmt.Sprintf("guest ABI version %s is not compatible with host ABI version %s (majors differ)",
		abi.FormatVersion(v), abi.FormatVersion(abi.Version))
}
