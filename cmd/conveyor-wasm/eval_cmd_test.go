package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLI_Eval(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte("{\"n\":1,\"tags\":[\"a\"]}\n\nnot json\n{\"x\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "one record", args: []string{"eval", `{"total": record.payload.price * record.payload.qty, "k": record.key}`,
			"--payload", `{"price": 2.5, "qty": 4.0}`, "--key", "k1"},
			stdout: `{"k":"k1","total":10}` + "\n"},
		{name: "no payload", args: []string{"eval", "[1, 2.5, true, null, b'hi', timestamp('2026-01-01T00:00:00Z'), duration('90s')]"},
			stdout: `[1,2.5,true,null,"aGk=","2026-01-01T00:00:00Z","90s"]` + "\n"},
		{name: "metadata and event time", args: []string{"eval", `[record.metadata.a, record.event_time, record.source]`,
			"-m", "a=b", "--event-time", "2026-01-01T00:00:01.5Z", "--source", "users"},
			stdout: `["b","2026-01-01T00:00:01.5Z","users"]` + "\n"},
		{name: "per line of a file", args: []string{"eval", "record.payload.n + 1", "--input", in}, code: 1,
			stdout: "1: 2\n3: error: record.payload: malformed JSON",
			stderr: "2 records failed"},
		{name: "envelopes on stdin", args: []string{"eval", "[record.key, record.payload.v, record.metadata.m]", "-i", "-", "--envelope"},
			stdin:  `{"key":"k","payload":{"v":[1]},"metadata":{"m":"x"}}` + "\n" + `{"key":"s","payload":"text"}` + "\n",
			code:   1,
			stdout: "1: [\"k\",[1],\"x\"]\n2: error: record.payload: malformed JSON"},
		{name: "compile error with caret", args: []string{"eval", "recrd.payload.n"}, code: 1,
			stderr: "<input>:1:1: undeclared reference to 'recrd.payload.n'"},
		{name: "a map key that is not a string", args: []string{"eval", "{1: 2}"}, code: 1,
			stderr: "object keys must be strings"},
		{name: "usage", args: []string{"eval"}, code: 2, stderr: "usage: conveyor-wasm eval EXPR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, c.stdin, c.args...)
			if code != c.code || !strings.HasPrefix(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nwant prefix:\n%s\nstderr:\n%s", code, c.code, stdout, c.stdout, stderr)
			}
		})
	}
	// The caret is under the problem.
	_, _, stderr := run(t, "", "eval", "record.payload.n + recrd")
	if !strings.Contains(stderr, " | record.payload.n + recrd\n | ...................^") {
		t.Fatalf("no caret:\n%s", stderr)
	}
}
