// Package rust_test builds the Rust SDK's examples from source with Debian's
// rustc and runs them through the real host, next to their Go counterparts.
package rust_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rustc returns Debian's rustc with the wasm32-wasi standard library, or
// skips the test (fails it when CI=true) naming the packages to install.
func rustc(t testing.TB) string {
	t.Helper()
	rc := os.Getenv("RUSTC")
	if rc == "" {
		rc = "/usr/bin/rustc"
	}
	msg := ""
	if _, err := exec.LookPath(rc); err != nil {
		msg = fmt.Sprintf("no rustc at %s", rc)
	} else if out, err := exec.Command(rc, "--print", "sysroot").Output(); err != nil {
		msg = fmt.Sprintf("%s --print sysroot: %v", rc, err)
	} else if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "lib/rustlib/wasm32-wasi")); err != nil {
		msg = fmt.Sprintf("%s has no wasm32-wasi standard library", rc)
	}
	if msg != "" {
		msg += " (apt-get install rustc libstd-rust-dev-wasm32)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return rc
}

// build builds the plugin whose crate root is src with build.sh, cached
// under os.TempDir by a hash of the compiler and every source file of the
// SDK and the plugin, and returns the .wasm path.
func build(t testing.TB, src string) string {
	t.Helper()
	rc := rustc(t)
	h := sha256.New()
	ver, _ := exec.Command(rc, "--version").Output()
	h.Write(ver)
	for _, dir := range []string{"src", filepath.Dir(src), "build.sh"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cache := filepath.Join(os.TempDir(), "conveyor-wasm-guests")
	name := filepath.Base(filepath.Dir(filepath.Dir(src)))
	out := filepath.Join(cache, "rust-"+name+"-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + fmt.Sprintf(".%d.tmp", os.Getpid())
	cmd := exec.Command("./build.sh", "plugin", src, tmp)
	// One build directory per compiler, so the SDK's rlib is built once
	// for all plugins (build.sh rebuilds it when a source is newer).
	vh := sha256.Sum256(ver)
	bdir := filepath.Join(cache, "rust-build-"+hex.EncodeToString(vh[:8]))
	cmd.Env = append(os.Environ(), "RUSTC="+rc, "BUILD="+bdir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", src, err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// cacheDir holds compiled code for the whole test binary, so each module
// is compiled once however many times it is loaded.
var cacheDir = filepath.Join(os.TempDir(), "conveyor-wasm-sdk-rust-test-cache")

// TestSDK_NativeUnitTests runs the SDK's and the examples' own Rust unit
// tests natively (build.sh test). A pass is remembered under os.TempDir by
// a hash of the compiler and the sources, so unchanged sources are not
// rebuilt.
func TestSDK_NativeUnitTests(t *testing.T) {
	rc := rustc(t)
	h := sha256.New()
	ver, _ := exec.Command(rc, "--version").Output()
	h.Write(ver)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && d.Name() == "build" {
			if err == nil {
				err = filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".rs") || path == "build.sh") {
			b, err := os.ReadFile(path)
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stamp := filepath.Join(os.TempDir(), "conveyor-wasm-guests", "rust-unit-tests-"+hex.EncodeToString(h.Sum(nil))[:16]+".passed")
	if _, err := os.Stat(stamp); err == nil {
		return
	}
	cmd := exec.Command("./build.sh", "test")
	cmd.Env = append(os.Environ(), "RUSTC="+rc, "BUILD="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("build.sh test: %v\n%s", err, out.String())
	}
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err == nil {
		os.WriteFile(stamp, nil, 0o644)
	}
}
