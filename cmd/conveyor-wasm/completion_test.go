package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLI_Completion_Scripts(t *testing.T) {
	for shell, want := range map[string][]string{
		"bash": {"complete -o bashdefault -o default -F _conveyor_wasm_complete conveyor-wasm", "--generate-bash-completion"},
		"zsh":  {"#compdef conveyor-wasm", "compdef _conveyor_wasm conveyor-wasm", "--generate-bash-completion"},
		"fish": {"complete -c conveyor-wasm", "-a 'validate'", "-l set", "-l env-file"},
	} {
		code, stdout, stderr := run(t, "", "completion", shell)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", shell, code, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s completion lacks %q:\n%s", shell, w, stdout)
			}
		}
	}
	if code, _, stderr := run(t, "", "completion", "tcsh"); code != 2 || !strings.Contains(stderr, `unknown shell "tcsh"`) {
		t.Errorf("tcsh: exit %d: %s", code, stderr)
	}
}

// The scripts ask the program for the words that may follow: what it
// answers. urfave/cli reads the word being completed from os.Args, not
// from the arguments it runs with: the test sets os.Args as a shell would
// (not in parallel).
func TestCLI_Completion_Requests(t *testing.T) {
	saved := os.Args
	defer func() { os.Args = saved }()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--generate-bash-completion"}, []string{"run", "validate", "completion", "init", "docs"}},
		{[]string{"run", "--st", "--generate-bash-completion"}, []string{"--state-dir"}},
		{[]string{"completion", "--generate-bash-completion"}, []string{"bash", "zsh", "fish"}},
		{[]string{"plugin", "--generate-bash-completion"}, []string{"inspect", "new"}},
	} {
		os.Args = append([]string{"conveyor-wasm"}, tc.args...)
		code, stdout, stderr := run(t, "", tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		words := strings.Fields(stdout)
		for _, w := range tc.want {
			found := false
			for _, x := range words {
				found = found || x == w
			}
			if !found {
				t.Errorf("%v: %q not among %q", tc.args, w, words)
			}
		}
	}
}

// The bash script, loaded in a real bash, completes through this test
// binary run as the CLI.
func TestCLI_Completion_Bash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := t.TempDir()
	wrapper := "#!/bin/sh\n" + crashChildEnv + "=1 exec " + os.Args[0] + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "conveyor-wasm"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	_, script, _ := run(t, "", "completion", "bash")
	for line, want := range map[string]string{
		"conveyor-wasm va":           "validate",
		"conveyor-wasm run --env":    "--env-file",
		"conveyor-wasm completion z": "zsh",
	} {
		sh := script + `read -ra COMP_WORDS <<< "$LINE"; COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _conveyor_wasm_complete; echo "${COMPREPLY[*]}"`
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", sh)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "LINE="+line)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v: %s", line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%q completes to %q, want %q", line, got, want)
		}
	}
}

func TestCLI_Docs_Formats(t *testing.T) {
	code, man, stderr := run(t, "", "docs", "--format", "man")
	if code != 0 || !strings.Contains(man, ".TH conveyor-wasm 1") || !strings.Contains(man, "validate") || !strings.Contains(man, "--env-file") {
		t.Errorf("man: exit %d: %s\n%.500s", code, stderr, man)
	}
	code, schema, stderr := run(t, "", "docs", "--format", "jsonschema")
	if code != 0 || !strings.Contains(schema, `"$schema": "https://json-schema.org/draft/2020-12/schema"`) {
		t.Errorf("jsonschema: exit %d: %s\n%.300s", code, stderr, schema)
	}
	code, tschema, stderr := run(t, "", "docs", "--format", "test-jsonschema")
	if code != 0 || !strings.Contains(tschema, `"title": "conveyor-wasm pipeline test file"`) || !strings.Contains(tschema, `"advance"`) {
		t.Errorf("test-jsonschema: exit %d: %s\n%.300s", code, stderr, tschema)
	}
	code, md, _ := run(t, "", "docs")
	if code != 0 || !strings.HasPrefix(md, "# Pipeline file reference") {
		t.Errorf("markdown: exit %d\n%.300s", code, md)
	}
	if code, _, stderr := run(t, "", "docs", "--format", "pdf"); code != 2 || !strings.Contains(stderr, `unknown --format "pdf"`) {
		t.Errorf("pdf: exit %d: %s", code, stderr)
	}
}
