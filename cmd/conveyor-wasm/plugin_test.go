package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// runPluginCLI drives `plugin ...` in an app of its own and returns the
// stdout, stderr and error.
func runPluginCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{
		Name:           "conveyor-wasm",
		Commands:       []*cli.Command{pluginCommand()},
		Reader:         strings.NewReader(stdin),
		Writer:         &out,
		ErrWriter:      &errb,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	cliMu.Lock()
	err = app.Run(append([]string{"conveyor-wasm", "plugin"}, args...))
	cliMu.Unlock()
	return out.String(), errb.String(), err
}

func testGuest(t *testing.T, name string) string {
	t.Helper()
	return plugintest.BuildGo(t, filepath.Join("..", "..", "plugins", "testdata", "guests", name))
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestPluginInspect_Noop_Loads(t *testing.T) {
	out, _, err := runPluginCLI(t, "", "inspect", testGuest(t, "noop"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"what:     conveyor transform plugin, ABI 1.1", "abi:      1.1 (host 1.1)", "serves:   transform", "init:     ok", "loads:    yes",
		"conveyor_process", "(i32,i32)->i64", "wasi_snapshot_preview1.fd_write", "runtime:  wazero",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPluginInspect_Refused(t *testing.T) {
	tests := []struct {
		guest string
		want  []string
	}{
		{"forbiddenimport", []string{"loads:    no", "REFUSED: network access is not granted", "import wasi_snapshot_preview1.sock_accept is not allowed"}},
		{"wrongversion", []string{"abi:      2.0 (host 1.1)", "loads:    no", "guest ABI version 2.0 is not compatible"}},
	}
	for _, tt := range tests {
		t.Run(tt.guest, func(t *testing.T) {
			out, _, err := runPluginCLI(t, "", "inspect", testGuest(t, tt.guest))
			if exitCode(err) != 1 || !strings.Contains(err.Error(), "does not load") {
				t.Fatalf("err = %v, want exit 1 'does not load'", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestPluginInspect_JSON(t *testing.T) {
	out, _, err := runPluginCLI(t, "", "inspect", "--json", testGuest(t, "noop"))
	if err != nil {
		t.Fatal(err)
	}
	var info plugins.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !info.Loadable || info.ABI != "1.1" || len(info.Exports) == 0 || !strings.HasPrefix(info.Name, "noop-") || info.Init != "ok" {
		t.Fatalf("info = %+v", info)
	}
}

func TestPluginInspect_Errors(t *testing.T) {
	notWasm := filepath.Join(t.TempDir(), "x.wasm")
	os.WriteFile(notWasm, []byte("hello"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no file", []string{"inspect"}, 2},
		{"missing file", []string{"inspect", "/nonexistent.wasm"}, 1},
		{"not wasm", []string{"inspect", notWasm}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runPluginCLI(t, "", tt.args...)
			if exitCode(err) != tt.code {
				t.Fatalf("err = %v, want exit %d", err, tt.code)
			}
		})
	}
}

func TestPluginRun_RecordErrors(t *testing.T) {
	stdin := "{\"id\":\"a\"}\nbad\n\ndrop\ntwice\n"
	out, errs, err := runPluginCLI(t, stdin, "run", "--batch", "2", testGuest(t, "recorderror"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"id\":\"a\"}\ntwice\ntwice\n"; out != want {
		t.Fatalf("stdout = %q, want %q", out, want)
	}
	if !strings.Contains(errs, "line 2: error: bad payload in record 1") {
		t.Fatalf("stderr = %q", errs)
	}
}

func TestPluginRun_ConfigKeyEnvelope(t *testing.T) {
	stdin := `{"id":"a1","v":1}` + "\n" + `{"id":7}` + "\n"
	out, _, err := runPluginCLI(t, stdin, "run", "--config", "prefix=", "--key-field", "id", "--envelope", testGuest(t, "hostcalls"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout = %q", out)
	}
	var e struct {
		Key       string          `json:"key"`
		Payload   json.RawMessage `json:"payload"`
		EventTime string          `json:"event_time"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	if e.Key != "a1" || string(e.Payload) != `{"id":"a1","v":1}` || e.EventTime == "" {
		t.Fatalf("envelope = %+v", e)
	}
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Key != "7" {
		t.Fatalf("numeric key: %v %+v", err, e)
	}
}

func TestPluginRun_Prefix(t *testing.T) {
	out, _, err := runPluginCLI(t, "a\nb\n", "run", "--config", "prefix=>", testGuest(t, "hostcalls"))
	if err != nil || out != ">a\n>b\n" {
		t.Fatalf("err %v, stdout %q", err, out)
	}
}

func TestPluginRun_Errors(t *testing.T) {
	noop := testGuest(t, "noop")
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no file", "", []string{"run"}, 2, "usage"},
		{"bad config", "", []string{"run", "--config", "novalue", noop}, 2, "want KEY=VALUE"},
		{"bad batch", "", []string{"run", "--batch", "0", noop}, 2, "must be positive"},
		{"init error", "", []string{"run", "--config", "fail=nope", testGuest(t, "initerror")}, 1, "init refused: nope"},
		{"batch error", "ok\npanic\n", []string{"run", testGuest(t, "trap")}, 1, "lines 1-2: plugin trap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runPluginCLI(t, tt.stdin, tt.args...)
			if exitCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (exit %d), want exit %d containing %q", err, exitCode(err), tt.code, tt.want)
			}
		})
	}
}

func TestPluginInspect_RunsInitWithConfig(t *testing.T) {
	path := testGuest(t, "initerror")
	out, _, err := runPluginCLI(t, "", "inspect", "--config", "fail=bad key", path)
	if exitCode(err) != 1 || !strings.Contains(out, "init:     failed: init refused: bad key") || !strings.Contains(out, "loads:    no") {
		t.Fatalf("err = %v, output:\n%s", err, out)
	}
	if out, _, err := runPluginCLI(t, "", "inspect", path); err != nil || !strings.Contains(out, "init:     ok") {
		t.Fatalf("without the failing key: err = %v, output:\n%s", err, out)
	}
}

func TestPluginInspect_NotWasmSaysWhatItIs(t *testing.T) {
	elf := filepath.Join(t.TempDir(), "x.wasm")
	os.WriteFile(elf, []byte("\x7fELF\x02\x01\x01\x00rest"), 0o644)
	_, _, err := runPluginCLI(t, "", "inspect", elf)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "an ELF executable") {
		t.Fatalf("err = %v", err)
	}
}

func TestPluginTest_Noop_Passes(t *testing.T) {
	out, _, err := runPluginCLI(t, "", "test", testGuest(t, "noop"))
	if err != nil {
		t.Fatalf("err = %v\n%s", err, out)
	}
	for _, want := range []string{"PASS load", "PASS empty batch", "PASS sample batch", "PASS 1 MiB record", "PASS 10,000 records", "PASS deterministic"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPluginTest_Trap_Fails(t *testing.T) {
	out, _, err := runPluginCLI(t, "", "test", "--input", writeFile(t, "in.jsonl", "{\"n\":1}\npanic\n"), testGuest(t, "trap"))
	if exitCode(err) != 1 || !strings.Contains(out, "FAIL sample batch") || !strings.Contains(out, "FAIL faults") {
		t.Fatalf("err = %v, output:\n%s", err, out)
	}
}

func TestPluginTest_Lookup(t *testing.T) {
	path := plugintest.BuildGo(t, filepath.Join("..", "..", "examples", "plugins", "user-tier"))
	out, _, err := runPluginCLI(t, "", "test", "--keys", "u1,nobody", path)
	if err != nil || !strings.Contains(out, "PASS lookup: 2 keys, 1 hits") || strings.Contains(out, "sample batch") {
		t.Fatalf("err = %v, output:\n%s", err, out)
	}
}

func TestPluginNew_Go_WritesProject(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tagger")
	out, _, err := runPluginCLI(t, "", "new", "--lang", "go", "--dir", dir, "tagger")
	if err != nil || !strings.Contains(out, "created "+dir+" (go,") {
		t.Fatalf("err = %v, output %q", err, out)
	}
	for _, f := range []string{"go.mod", "main.go", "main_test.go", "test.sh", "third_party/conveyor-wasm/sdk/go/conveyor.go", "third_party/conveyor-wasm/abi/frame.go"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if _, _, err := runPluginCLI(t, "", "new", "--lang", "go", "--dir", dir, "tagger"); exitCode(err) != 1 {
		t.Fatalf("second run into the same dir: err = %v, want exit 1", err)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
