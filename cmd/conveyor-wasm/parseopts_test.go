package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const envPipeline = `id: ${PIPELINE_ID:env-demo}
settings:
  batch_size: ${BATCH}
sources:
  - name: in
    type: generate
    count: 3
services:
  out: {type: stdout}
stages:
  - id: sink
    type: sink
    service_name: out
edges:
  - {from: in, to: sink}
`

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLI_Validate_MissingVariable(t *testing.T) {
	p := writeTemp(t, "p.yaml", envPipeline)
	code, _, stderr := run(t, "", "validate", p)
	if code != 1 || !strings.Contains(stderr, p+":3:15: environment variable BATCH is not set") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}

func TestCLI_Validate_EnvFile(t *testing.T) {
	p := writeTemp(t, "p.yaml", envPipeline)
	env := writeTemp(t, ".env", "# settings\n\nexport BATCH=16 # a comment\nPIPELINE_ID='from file'\n")
	code, stdout, stderr := run(t, "", "validate", "--env-file", env, p)
	if code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	// The process environment wins over the file.
	t.Setenv("BATCH", "not-a-number")
	code, _, stderr = run(t, "", "validate", p, "--env-file", env)
	if code != 1 || !strings.Contains(stderr, `:3:15: expected an integer, got "not-a-number"`) {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}

func TestCLI_Validate_EnvFileErrors(t *testing.T) {
	p := writeTemp(t, "p.yaml", envPipeline)
	for content, want := range map[string]string{
		"BATCH=1\nnot a line\n": ":2: expected KEY=VALUE",
		"1X=2\n":                ":1: expected KEY=VALUE",
		"A=\"open\n":            ":1: unterminated \" quote",
	} {
		env := writeTemp(t, ".env", content)
		code, _, stderr := run(t, "", "validate", "--env-file", env, p)
		if code != 1 || !strings.Contains(stderr, env+want) {
			t.Errorf("%q: exit %d:\n%s", content, code, stderr)
		}
	}
	code, _, stderr := run(t, "", "validate", "--env-file", filepath.Join(t.TempDir(), "none"), p)
	if code != 1 || !strings.Contains(stderr, "--env-file: open") {
		t.Errorf("missing env file: exit %d:\n%s", code, stderr)
	}
}

func TestCLI_Run_Set(t *testing.T) {
	p := writeTemp(t, "p.yaml", envPipeline)
	code, stdout, stderr := run(t, "", "run", "--progress", "0", "--state-dir", "none", "-q", p,
		"--set", "settings.batch_size=2", "--set", "sources.in.count=5", "--set", "id=[not, a, string]")
	if code != 1 || !strings.Contains(stderr, "--set[3]:1:4: expected a string, got a list") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	code, stdout, stderr = run(t, "", "run", "--progress", "0", "--state-dir", "none", "-q", p,
		"--set", "settings.batch_size=2", "--set", "sources.in.count=5")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 5 {
		t.Errorf("%d records out, want the 5 of --set sources.in.count=5:\n%s", n, stdout)
	}
}

func TestCLI_Validate_SetErrors(t *testing.T) {
	p := writeTemp(t, "p.yaml", envPipeline)
	for _, tc := range []struct{ set, want string }{
		{"settings.batchsize=10", `--set[1]:1:10: unknown key "batchsize" (did you mean "batch_size"?)`},
		{"sources.nope.count=1", `--set[1]:1:9: sources has no element named "nope"`},
		{"sources.in.count=many", `--set[1]:1:18:`},
		{"settings", `--set[1]:1:1: expected path=value`},
	} {
		code, _, stderr := run(t, "", "validate", "--set", "settings.batch_size=1", "--set", tc.set, p)
		want := strings.Replace(tc.want, "--set[1]", "--set[2]", 1)
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("--set %s: exit %d, want %q:\n%s", tc.set, code, want, stderr)
		}
	}
}

func TestCLI_Set_KeepsCommas(t *testing.T) {
	p := writeTemp(t, "p.yaml", envPipeline)
	code, _, stderr := run(t, "", "validate", "--set", "settings.batch_size=1", "--set", "stages.sink.nope=[a, b]", p)
	if code != 1 || !strings.Contains(stderr, `--set[2]:1:13: unknown key "nope"`) {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}
