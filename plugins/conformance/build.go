package conformance

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// Guests are the conformance guests of the SDKs, by name, with their
// sources relative to the repository root.
var Guests = []GuestSource{
	{Name: "go", Dir: "plugins/conformance/testdata/go", Tool: "go"},
	{Name: "rust", Dir: "sdk/rust/conformance", Tool: "rustc", Package: "rustc libstd-rust-dev-wasm32"},
	{Name: "c", Dir: "sdk/c/conformance", Tool: "clang", Package: "clang lld wasi-libc libclang-rt-14-dev-wasm32"},
}

// GuestSource says where a conformance guest's source lives and what
// builds it.
type GuestSource struct {
	Name    string
	Dir     string // relative to the repository root
	Tool    string // the toolchain's main command
	Package string // Debian packages that provide the toolchain
}

// ErrToolchain reports that a guest's toolchain (or its source directory)
// is missing.
var ErrToolchain = errors.New("toolchain missing")

// Build builds the guest from source and returns the module. Go guests are
// built with plugintest.Build; the others run the build.sh in their
// directory as `build.sh OUT.wasm` (see README.md). A missing toolchain is
// reported as ErrToolchain.
func (g GuestSource) Build(root string) ([]byte, error) {
	dir := filepath.Join(root, g.Dir)
	if g.Name == "go" {
		path, err := plugintest.Build(dir)
		if err != nil {
			return nil, err
		}
		return os.ReadFile(path)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%s guest: %w: no guest source at %s", g.Name, ErrToolchain, g.Dir)
	}
	if _, err := exec.LookPath(g.Tool); err != nil {
		return nil, fmt.Errorf("%s guest: %w: no %s on PATH (apt-get install %s)", g.Name, ErrToolchain, g.Tool, g.Package)
	}
	script := filepath.Join(dir, "build.sh")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("%s guest: %w: no build script %s (see plugins/conformance/README.md)", g.Name, ErrToolchain, script)
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("conveyor-wasm-conformance-%s-%d.wasm", g.Name, os.Getpid()))
	defer os.Remove(out)
	cmd := exec.Command("sh", script, out)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s guest: %s %s: %w\n%s", g.Name, script, out, err, msg)
	}
	return os.ReadFile(out)
}

// RepoRoot returns the repository root, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BuildOrSkip builds g for a test. A missing toolchain fails the test when
// the environment variable CI is "true" and skips it otherwise; any other
// build failure fails it.
func BuildOrSkip(t *testing.T, g GuestSource) []byte {
	t.Helper()
	wasm, err := g.Build(RepoRoot())
	switch {
	case errors.Is(err, ErrToolchain) && os.Getenv("CI") != "true":
		t.Skipf("%v (CI=true makes this a failure)", err)
	case err != nil:
		t.Fatal(err)
	}
	return wasm
}
