// Package plugintest builds Go plugin guests from source for tests, so that
// no compiled .wasm is committed. Builds are cached by content hash under
// os.TempDir, so repeated test runs reuse the module.
package plugintest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

var mu sync.Mutex // serialises builds within one test binary

// BuildGo compiles the Go guest in dir with GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared and returns the path of the .wasm file. The output is
// cached under os.TempDir()/conveyor-wasm-guests, keyed by a hash of the Go
// version and every non-standard-library source file the guest depends on.
// It fails tb when the build fails.
func BuildGo(tb testing.TB, dir string) string {
	tb.Helper()
	path, err := Build(dir)
	if err != nil {
		tb.Fatalf("plugintest: %v", err)
	}
	return path
}

// Build is BuildGo without a testing.TB, for benchmarks driven from main
// packages and tools.
func Build(dir string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	key, err := sourceHash(abs)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	cache := filepath.Join(os.TempDir(), "conveyor-wasm-guests")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	out := filepath.Join(cache, filepath.Base(abs)+"-"+key+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	tmp, err := os.CreateTemp(cache, "build-*.wasm")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command(goTool(), "build", "-buildmode=c-shared", "-o", tmp.Name(), ".")
	cmd.Dir = abs
	cmd.Env = wasmEnv()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", dir, err, msg)
	}
	// Rename is atomic: concurrent test binaries never see a partial file.
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	return out, nil
}

// goTool finds the go command: $GOROOT/bin/go when GOROOT is set, else
// the one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func wasmEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(s string) bool {
		return strings.HasPrefix(s, "GOOS=") || strings.HasPrefix(s, "GOARCH=") || strings.HasPrefix(s, "GOFLAGS=")
	})
	return append(env, "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=-trimpath")
}

// sourceHash hashes the Go version, go.mod/go.sum and the files of every
// non-standard package the guest in dir depends on.
func sourceHash(dir string) (string, error) {
	cmd := exec.Command(goTool(), "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}|{{.Module.GoMod}}{{end}}", ".")
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	listing, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list: %w: %s", err, stderr.Bytes())
	}
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(listing)), "\n") {
		pkgDir, gomod, _ := strings.Cut(line, "|")
		files := []string{gomod, strings.TrimSuffix(gomod, ".mod") + ".sum"}
		entries, err := os.ReadDir(pkgDir)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, filepath.Join(pkgDir, e.Name()))
			}
		}
		for _, f := range files {
			if f == "" || f == ".sum" || seen[f] {
				continue
			}
			seen[f] = true
			if err := hashFile(h, f); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func hashFile(h io.Writer, name string) error {
	f, err := os.Open(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\n", name)
	_, err = io.Copy(h, f)
	return err
}
