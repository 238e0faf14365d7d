package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const envCheckPipeline = `id: env
sources:
  - {name: in, type: file, path: in.jsonl}
services:
  out: {type: file, path: out/o.jsonl}
  plug: {type: wasm, path: plug.wasm}
stages:
  - {id: t, type: transform, service_name: plug}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: t}, {from: t, to: s}]
`

// validate checks the environment by default and reports each problem at
// its place; --static checks the file only. Neither writes anything.
func TestCLI_Validate_Environment(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(p, []byte(envCheckPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plug.wasm"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	code, stdout, stderr := run(t, "", "validate", "--state-dir", state, p)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{
		p + `:3:5: source "in": input file: stat ` + filepath.Join(dir, "in.jsonl") + ": no such file or directory\n",
		p + `:6:9: service "plug": load plugin: ` + filepath.Join(dir, "plug.wasm") + " is ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code, stdout, stderr := run(t, "", "validate", "--static", p); code != 0 || !strings.Contains(stdout, ": ok") {
		t.Fatalf("--static: exit %d: %s%s", code, stdout, stderr)
	}
	// The state directory must be creatable: here a file stands in its way.
	os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte("{}\n"), 0o644)
	os.Remove(filepath.Join(dir, "plug.wasm"))
	blocked := filepath.Join(dir, "in.jsonl", "state")
	code, _, stderr = run(t, "", "validate", "--state-dir", blocked, p)
	if code != 1 || !strings.Contains(stderr, "state directory: cannot create "+blocked) ||
		!strings.Contains(stderr, p+`:6:9: service "plug": load plugin: open `) {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, made := range []string{"out", "state"} {
		if _, err := os.Stat(filepath.Join(dir, made)); !os.IsNotExist(err) {
			t.Errorf("validate created %s (%v)", made, err)
		}
	}
}
