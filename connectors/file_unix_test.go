//go:build unix

package connectors

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// TestFileSource_Read_NamedPipeFlushesBeforeBlocking: a named pipe given as
// path is read like standard input: a line written to it reaches the
// Emitter while the writer still holds the pipe open, without waiting for a
// full batch or the end of the input.
func TestFileSource_Read_NamedPipeFlushesBeforeBlocking(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "in.pipe")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			src := buildFileSource(t, FileSourceConfig{Path: "in.pipe", ParseWorkers: workers}, Env{BaseDir: dir, BatchSize: 1024}, 1<<20)
			em := chanEmitter{ch: make(chan []*record.Record, 4)}
			done := make(chan error, 1)
			go func() { done <- src.Read(context.Background(), em) }()
			w, err := os.OpenFile(p, os.O_WRONLY, 0) // waits for the reader
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			fmt.Fprint(w, "{\"a\":1}\n")
			select {
			case b := <-em.ch:
				if len(b) != 1 || string(b[0].Payload) != `{"a":1}` || b[0].Ack.Seq != 1 {
					t.Fatalf("first batch = %d records, want {\"a\":1} at line 1", len(b))
				}
			case err := <-done:
				t.Fatalf("Read returned %v before the writer closed", err)
			case <-time.After(10 * time.Second):
				t.Fatal("a line written to a named pipe was not emitted while the writer was open")
			}
			fmt.Fprint(w, "\n{\"a\":2}")
			w.Close()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if b := <-em.ch; len(b) != 1 || string(b[0].Payload) != `{"a":2}` || b[0].Ack.Seq != 3 {
				t.Fatalf("last batch = %d records, want {\"a\":2} at line 3", len(b))
			}
		})
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
