package engine

import (
	"context"
	"io"
	"testing"
	"time"
)

func TestRunner_Ready_FollowsTheRun(t *testing.T) {
	t.Parallel()
	pl, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: h
sources: [{name: in, type: file, path: "-"}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	r, err := NewRunner(pl, RunOptions{Stdin: pr})
	if err != nil {
		t.Fatal(err)
	}
	if r.Started() || r.Ready() || r.Draining() {
		t.Fatalf("before Run: started %v ready %v draining %v", r.Started(), r.Ready(), r.Draining())
	}
	done := make(chan error, 1)
	go func() { _, err := r.Run(context.Background()); done <- err }()
	if _, err := io.WriteString(pw, "{\"n\":1}\n"); err != nil {
		t.Fatal(err)
	}
	for r.Summary().Delivered == 0 { // the run has started once a record went through
		time.Sleep(time.Millisecond)
	}
	if !r.Started() || !r.Ready() || r.Draining() {
		t.Fatalf("running: started %v ready %v draining %v", r.Started(), r.Ready(), r.Draining())
	}
	r.Drain()
	if r.Ready() || !r.Draining() {
		t.Fatalf("after Drain: ready %v draining %v", r.Ready(), r.Draining())
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
