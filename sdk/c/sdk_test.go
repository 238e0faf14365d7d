// Package c_test builds the C SDK's examples from source with Debian's
// clang and runs them through the real host, next to their Go counterparts.
package c_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// clang returns a clang that can build for wasm32-wasi ($CONVEYOR_WASM_CC,
// default clang; not $CC, which is cgo's), or skips the test (fails it when
// CI=true) naming the packages to install.
func clang(t testing.TB) string {
	t.Helper()
	cc := os.Getenv("CONVEYOR_WASM_CC")
	if cc == "" {
		cc = "clang"
	}
	msg := ""
	if _, err := exec.LookPath(cc); err != nil {
		msg = fmt.Sprintf("no %s on PATH", cc)
	} else {
		dir := t.TempDir()
		src := filepath.Join(dir, "probe.c")
		if err := os.WriteFile(src, []byte("#include <stdlib.h>\nint f(void){return abs(-1);}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(cc, "--target=wasm32-wasi", "-mexec-model=reactor", "-o", filepath.Join(dir, "probe.wasm"), src)
		if out, err := cmd.CombinedOutput(); err != nil {
			msg = fmt.Sprintf("%s cannot build for wasm32-wasi: %v: %s", cc, err, strings.TrimSpace(string(out)))
		}
	}
	if msg != "" {
		msg += " (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return cc
}

// build builds the plugin from the .c files of dir with build.sh, cached
// under os.TempDir by a hash of the compiler, conveyor.h and the sources,
// and returns the .wasm path.
func build(t testing.TB, dir string) string {
	t.Helper()
	cc := clang(t)
	h := sha256.New()
	ver, _ := exec.Command(cc, "--version").Output()
	h.Write(ver)
	srcs, err := filepath.Glob(filepath.Join(dir, "*.[chi]*"))
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no sources in %s: %v", dir, err)
	}
	var cs []string
	for _, f := range append([]string{"conveyor.h", "build.sh"}, srcs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
		if strings.HasSuffix(f, ".c") && !strings.HasSuffix(f, "_test.c") {
			cs = append(cs, f)
		}
	}
	cache := filepath.Join(os.TempDir(), "conveyor-wasm-guests")
	out := filepath.Join(cache, "c-"+filepath.Base(dir)+"-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + fmt.Sprintf(".%d.tmp", os.Getpid())
	cmd := exec.Command("./build.sh", append([]string{"plugin", tmp}, cs...)...)
	cmd.Env = append(os.Environ(), "CC="+cc)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", dir, err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// cacheDir holds compiled code for the whole test binary, so each module
// is compiled once however many times it is loaded.
var cacheDir = filepath.Join(os.TempDir(), "conveyor-wasm-sdk-c-test-cache")

// TestSDK_NativeUnitTests runs the native C unit tests (build.sh test:
// tests/*_test.c and examples/*/*_test.c against the stand-in host).
func TestSDK_NativeUnitTests(t *testing.T) {
	cc := clang(t)
	cmd := exec.Command("./build.sh", "test")
	cmd.Env = append(os.Environ(), "CC="+cc)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh test: %v\n%s", err, out)
	}
}
