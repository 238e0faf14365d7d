//go:build unix

package connectors

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// TestFileSink_Flush_NamedPipeReaderGone: a file sink on a named pipe holds
// only its write end, so once the reader has gone a Flush fails (EPIPE)
// instead of filling the pipe and blocking for ever; it cannot roll back.
func TestFileSink_Flush_NamedPipeReaderGone(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	gone := make(chan error, 1)
	go func() {
		r, err := os.Open(p) // unblocks the sink's open
		if err == nil {
			err = r.Close()
		}
		gone <- err
	}()
	cfg := &FileSinkConfig{Path: p, Format: FormatPayload, Append: true, BufferBytes: 4096, Sync: SyncFlush}
	s := buildSink(t, "file", cfg, Env{})
	defer s.Close()
	if err := <-gone; err != nil {
		t.Fatal(err)
	}
	if s.(Rollbacker).CanRollback() {
		t.Fatal("CanRollback = true for a named pipe")
	}
	if err := s.Write(context.Background(), []*record.Record{record.New("", []byte("x"))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Flush with the reader gone = %v, want EPIPE", err)
	}
}
