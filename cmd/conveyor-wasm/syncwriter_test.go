package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestLineWriter_Write_HoldsPartialLines(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string // written before Flush
	}{
		{"whole lines", []string{"a\n", "b\nc\n"}, "a\nb\nc\n"},
		{"a line in pieces", []string{"ab", "c", "d\ne"}, "abcd\n"},
		{"no newline", []string{"abc"}, ""},
		{"empty writes", []string{"", "a", "", "\n"}, "a\n"},
		{"newline only", []string{"\n", "\n"}, "\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			l := newSyncWriter(&b).lines()
			all := ""
			for _, w := range tt.writes {
				if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
				all += w
			}
			if b.String() != tt.want {
				t.Fatalf("before Flush: %q, want %q", b.String(), tt.want)
			}
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			if b.String() != all {
				t.Fatalf("after Flush: %q, want %q", b.String(), all)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLineWriter_Write_Error(t *testing.T) {
	l := newSyncWriter(failWriter{}).lines()
	if _, err := l.Write([]byte("partial")); err != nil {
		t.Fatalf("a held partial line: %v", err)
	}
	if _, err := l.Write([]byte(" line\n")); err == nil || err.Error() != "disk full" {
		t.Fatalf("err = %v, want disk full", err)
	}
}

// TestSyncWriter_Concurrent_LinesNeverInterleave writes from goroutines as
// the CLI does (whole lines straight to the syncWriter, as the logger and
// the progress loop do; lines cut at arbitrary points through lineWriters,
// as the dead-letter sink does) and checks that every line arrives whole.
// Run it with -race.
func TestSyncWriter_Concurrent_LinesNeverInterleave(t *testing.T) {
	var b bytes.Buffer
	s := newSyncWriter(&b)
	const producers, perProducer = 4, 300
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				fmt.Fprintf(s, "whole %d %d %s\n", p, i, strings.Repeat("w", i%50))
			}
		})
		wg.Go(func() {
			l := s.lines()
			var text []byte
			for i := range perProducer {
				text = fmt.Appendf(text, "cut %d %d %s\n", p, i, strings.Repeat("c", i%70))
			}
			for step := 1; len(text) > 0; step = step%13 + 1 {
				n := min(step, len(text))
				l.Write(text[:n])
				text = text[n:]
			}
			l.Flush()
		})
	}
	wg.Wait()
	want := map[string]bool{}
	for p := range producers {
		for i := range perProducer {
			want[fmt.Sprintf("whole %d %d %s\n", p, i, strings.Repeat("w", i%50))] = true
			want[fmt.Sprintf("cut %d %d %s\n", p, i, strings.Repeat("c", i%70))] = true
		}
	}
	n := 0
	for line := range strings.Lines(b.String()) {
		if !want[line] {
			t.Fatalf("broken or repeated line %q", line)
		}
		delete(want, line)
		n++
	}
	if len(want) > 0 {
		t.Fatalf("%d lines missing (%d written)", len(want), n)
	}
}

// TestCLI_Run_DeadLettersAndProgressShareStderr dead-letters every line
// of a file to the default output (stderr) while progress lines go there
// every millisecond: every line on stderr must be whole.
func TestCLI_Run_DeadLettersAndProgressShareStderr(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	const n = 20000
	for i := range n {
		fmt.Fprintf(&in, "not json %d\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(p, []byte(`id: bad-lines
sources: [{name: in, type: file, path: in.jsonl}]
services: {out: {type: file, path: out.jsonl}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "", "run", "--progress", "1ms", p)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	progress := regexp.MustCompile(`^progress: in \d+ .* in-flight \d+\n$`)
	deadLetters := 0
	for line := range strings.Lines(stderr) {
		switch {
		case strings.HasPrefix(line, "summary: "), progress.MatchString(line):
		case json.Valid([]byte(line)) && strings.HasPrefix(line, `{"reason":"malformed JSON`):
			deadLetters++
		default:
			t.Fatalf("a cut line on stderr: %q", line)
		}
	}
	if deadLetters != n {
		t.Fatalf("%d dead letters on stderr, want %d", deadLetters, n)
	}
}
