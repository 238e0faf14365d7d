package scaffold

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

// The embedded copy of the SDKs must match the repository's sources:
// run `go generate ./sdk/go/scaffold` after changing them.
func TestEmbedded_UpToDate(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	files, err := SourceFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := sdk.ReadFile("_sdk/" + f)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: embedded copy is stale or missing; run go generate ./sdk/go/scaffold", f)
		}
	}
}

func TestNew_Rejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Lang: "go", Name: "Bad Name", Dir: filepath.Join(dir, "x")}, "plugin name"},
		{Options{Lang: "cobol", Name: "x", Dir: filepath.Join(dir, "x")}, `language "cobol"`},
		{Options{Lang: "go", Name: "x", Dir: dir}, "already exists"},
	}
	for _, tt := range tests {
		if _, err := New(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.o, err, tt.want)
		}
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// loadBuilt loads the built plugin through the real host and sends it one
// record.
func loadBuilt(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	p, err := plugins.Load(ctx, plugins.Options{Path: path, Instances: 1, Config: map[string]string{"tag": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	outs, err := p.Process(ctx, []abi.Record{{Key: []byte("k"), Payload: []byte(`{}`)}, {Key: []byte("empty")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || len(outs[0].Record.Metadata) != 1 || string(outs[0].Record.Metadata[0].Value) != "t" {
		t.Fatalf("outputs = %+v", outs)
	}
	if p.Stats().Metrics["tagged"] != 1 {
		t.Fatalf("metrics = %v", p.Stats().Metrics)
	}
}

// A new Go project builds, passes its own test, and its module loads.
func TestNew_Go_BuildsAndPassesItsTest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my-plugin")
	if _, err := New(Options{Lang: "go", Name: "my-plugin", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	clean := []string{"GOFLAGS=", "GOWORK=off", "GOPROXY=off"} // no network, no workspace of ours
	run(t, dir, clean, "go", "vet", "./...")
	run(t, dir, clean, "go", "test", "./...")
	run(t, dir, append(clean, "GOOS=wasip1", "GOARCH=wasm"), "go", "build", "-buildmode=c-shared", "-o", "my-plugin.wasm", ".")
	loadBuilt(t, filepath.Join(dir, "my-plugin.wasm"))
}

// toolchain skips (or, with CI=true, fails) when tool is missing.
func toolchain(t *testing.T, tool, pkgs string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s on PATH (apt-get install %s)", tool, pkgs)
		}
		t.Skipf("no %s on PATH (apt-get install %s; CI=true makes this a failure)", tool, pkgs)
	}
}

func TestNew_Rust_Builds(t *testing.T) {
	toolchain(t, "rustc", "rustc libstd-rust-dev-wasm32")
	dir := filepath.Join(t.TempDir(), "rusty")
	if _, err := New(Options{Lang: "rust", Name: "rusty", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	run(t, dir, nil, "sh", "build.sh")
	loadBuilt(t, filepath.Join(dir, "rusty.wasm"))
}

func TestNew_C_Builds(t *testing.T) {
	toolchain(t, "clang", "clang lld wasi-libc libclang-rt-14-dev-wasm32")
	dir := filepath.Join(t.TempDir(), "cee")
	if _, err := New(Options{Lang: "c", Name: "cee", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	run(t, dir, nil, "sh", "build.sh")
	loadBuilt(t, filepath.Join(dir, "cee.wasm"))
}
