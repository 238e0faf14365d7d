package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// checkEnv loads src (written as p.yaml in dir) and returns what
// CheckEnvironment reports, one issue per line.
func checkEnv(t *testing.T, dir, src string, o CheckOptions) string {
	t.Helper()
	p, err := Load(writeFile(t, dir, "p.yaml", src))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	err = p.CheckEnvironment(context.Background(), o)
	if err == nil {
		return ""
	}
	var is Issues
	if !errors.As(err, &is) {
		t.Fatalf("not Issues: %T %v", err, err)
	}
	return strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
}

// Each problem a run would meet is reported at the source, service or stage
// it is about, with nothing created or written.
func TestPlan_CheckEnvironment_Issues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files map[string]string
		src   string
		want  string // "" for no issues
	}{
		{"ok", map[string]string{"in.jsonl": "{}\n", "t.jsonl": `{"id":1}` + "\n"}, `id: x
sources:
  - {name: in, type: file, path: in.jsonl}
services:
  out: {type: file, path: out/o.jsonl}
  t: {type: static, path: t.jsonl}
stages:
  - {id: l, type: lookup, lookup: {lookup_service: t, key_mappings: [{record_field: id, lookup_field: id}], result_field: r}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: l}, {from: l, to: s}]
`, ""},
		{"missing input and empty glob", nil, `id: x
sources:
  - {name: a, type: file, path: in.jsonl}
  - {name: b, type: file, path: "logs/*.jsonl"}
  - {name: c, type: file, path: "-"}
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: source, to: s}]
`, `p.yaml:3:5: source "a": input file: stat in.jsonl: no such file or directory
p.yaml:4:5: source "b": glob "logs/*.jsonl" matches no file`},
		{"sink under a regular file", map[string]string{"in.jsonl": "{}\n", "file": ""}, `id: x
sources: [{name: in, type: file, path: in.jsonl}]
services:
  out:
    type: file
    path: file/out.jsonl
  dl: {type: file, path: file/x/dl.jsonl}
settings: {dead_letter: dl}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`, `p.yaml:5:5: service "out": output file: cannot create file/out.jsonl: file is not a directory
p.yaml:7:7: service "dl": output file: cannot create file/x/dl.jsonl: file is not a directory`},
		{"bad lookup table", map[string]string{"in.jsonl": "{}\n", "t.jsonl": "{\"id\":1}\n[1]\n", "u.jsonl": `{"id":1}` + "\n"}, `id: x
sources: [{name: in, type: file, path: in.jsonl}]
services:
  out: {type: discard}
  t: {type: static, path: t.jsonl}
  u: {type: static, path: u.jsonl}
  v: {type: static, path: none.jsonl}
stages:
  - {id: l, type: lookup, lookup: {lookup_service: t, key_mappings: [{record_field: id, lookup_field: id}], result_field: r}}
  - {id: m, type: lookup, lookup: {lookup_service: u, key_mappings: [{record_field: id, lookup_field: user_id}], result_field: r}}
  - {id: n, type: lookup, lookup: {lookup_service: v, key_mappings: [{record_field: id, lookup_field: id}], result_field: r}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: l}, {from: l, to: m}, {from: m, to: n}, {from: n, to: s}]
`, `p.yaml:5:6: service "t": static lookup: t.jsonl:2: a row must be a JSON object, got array
p.yaml:6:6: service "u": static lookup: none of the table's 1 rows has "user_id": every lookup would miss
p.yaml:7:6: service "v": static lookup: open none.jsonl: no such file or directory`},
		{"missing and non-Wasm plugins", map[string]string{"in.jsonl": "{}\n", "text.wasm": "hello\n"}, `id: x
sources: [{name: in, type: file, path: in.jsonl}]
services:
  out: {type: discard}
  gone: {type: wasm, path: gone.wasm}
  text: {type: wasm, path: text.wasm}
stages:
  - {id: a, type: transform, service_name: gone}
  - {id: b, type: transform, service_name: text}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: a}, {from: a, to: b}, {from: b, to: s}]
`, `p.yaml:5:9: service "gone": load plugin: open gone.wasm: no such file or directory
p.yaml:6:9: service "text": load plugin: text.wasm is a text file starting "hello", not a WebAssembly module`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range c.files {
				writeFile(t, dir, name, content)
			}
			if got := checkEnv(t, dir, c.src, CheckOptions{}); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
			assertUnchanged(t, dir, c.files)
		})
	}
}

// assertUnchanged fails unless dir holds exactly files and p.yaml.
func assertUnchanged(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := files[e.Name()]; !ok && e.Name() != "p.yaml" {
			t.Errorf("CheckEnvironment created %s", e.Name())
		}
	}
	for name, content := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != content {
			t.Errorf("%s changed: %q, %v", name, b, err)
		}
	}
}

// A plugin runs its init with the service's config: one that refuses it is
// reported at the service; a lookup stage on a plugin without
// conveyor_lookup is reported at the stage.
func TestPlan_CheckEnvironment_Plugins(t *testing.T) {
	t.Parallel()
	initerror := plugintest.BuildGo(t, "../plugins/testdata/guests/initerror")
	noop := plugintest.BuildGo(t, "../examples/plugins/noop")
	dir := t.TempDir()
	files := map[string]string{"in.jsonl": "{}\n"}
	writeFile(t, dir, "in.jsonl", "{}\n")
	src := fmt.Sprintf(`id: x
sources: [{name: in, type: file, path: in.jsonl}]
services:
  out: {type: discard}
  picky: {type: wasm, path: %q, config: {fail: "needs an api_key"}}
  fine: {type: wasm, path: %q}
  noop: {type: wasm, path: %q}
stages:
  - {id: a, type: transform, service_name: picky}
  - {id: b, type: transform, service_name: fine}
  - {id: l, type: lookup, lookup: {lookup_service: noop, key_mappings: [{record_field: id, lookup_field: id}], result_field: r}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: a}, {from: a, to: b}, {from: b, to: l}, {from: l, to: s}]
`, initerror, initerror, noop)
	got := checkEnv(t, dir, src, CheckOptions{})
	lines := strings.Split(got, "\n")
	if len(lines) != 2 ||
		!strings.HasPrefix(lines[0], `p.yaml:5:10: service "picky": `) || !strings.Contains(lines[0], "init refused: needs an api_key") ||
		lines[1] != `p.yaml:11:5: stage "l": service "noop": the plugin exports no conveyor_lookup (ABI 1.1): it cannot be a lookup service` {
		t.Fatalf("got\n%s", got)
	}
	assertUnchanged(t, dir, files)
}

// The state directory must be writable or creatable; nothing is created.
func TestPlan_CheckEnvironment_StateDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{"in.jsonl": "{}\n", "file": ""}
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
	src := `id: x
sources: [{name: in, type: file, path: in.jsonl}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`
	if got := checkEnv(t, dir, src, CheckOptions{StateDir: filepath.Join(dir, "state")}); got != "" {
		t.Errorf("creatable state dir: %s", got)
	}
	got := checkEnv(t, dir, src, CheckOptions{StateDir: filepath.Join(dir, "file", "state")})
	if !strings.HasPrefix(got, "state directory: cannot create file/state/x-") || !strings.HasSuffix(got, ": file is not a directory") {
		t.Errorf("got %s", got)
	}
	assertUnchanged(t, dir, files)
}
