// Package exampletest runs the examples' pipelines end to end in tests (the
// examples' own and the CLI's): it
// copies an example directory to a temporary one (so outputs land there),
// runs its pipeline.yaml through the engine and reads what it wrote.
package exampletest

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine"
)

// Copy copies the example directory src (everything but out/) into a new
// temporary directory and returns it. replace holds old, new pairs applied
// to pipeline.yaml (to point at a plugin built by the test, say).
func Copy(tb testing.TB, src string, replace ...string) string {
	tb.Helper()
	dst := tb.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "out" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "pipeline.yaml" {
			for i := 0; i+1 < len(replace); i += 2 {
				b = bytes.ReplaceAll(b, []byte(replace[i]), []byte(replace[i+1]))
			}
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return dst
}

// Run loads dir/pipeline.yaml, runs it to the end and returns its summary.
func Run(tb testing.TB, dir string, opts engine.RunOptions) engine.Summary {
	tb.Helper()
	p, err := engine.Load(filepath.Join(dir, "pipeline.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	r, err := engine.NewRunner(p, opts)
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return sum
}

// Lines returns the lines of dir/out/name (none for an empty file).
func Lines(tb testing.TB, dir, name string) []string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "out", name))
	if err != nil {
		tb.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
