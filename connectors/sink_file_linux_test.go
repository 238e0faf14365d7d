package connectors

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory, or skips
// the test where mounting is not permitted (not root).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): needs root", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestFileSink_Flush_FullTmpfs: a file sink on a real filesystem that fills
// up holds exactly the lines of its successful Flushes, none torn; after
// space is freed the failed batches, written again, land once each.
func TestFileSink_Flush_FullTmpfs(t *testing.T) {
	dir := mountTmpfs(t, "64k")
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 24<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "out.jsonl")
	cfg := &FileSinkConfig{Path: p, Format: FormatPayload, BufferBytes: 4096, Sync: SyncFlush}
	s := buildSink(t, "file", cfg, Env{})
	// Closed before the unmount, also when the test fails early.
	t.Cleanup(func() { s.Close() })
	const width, perBatch, batches = 100, 30, 20 // 60,000 bytes: more than fits
	var committed strings.Builder
	var retry [][]*record.Record
	var retryText []string
	for b := range batches {
		recs, text := lineBatch(b*perBatch, perBatch, width)
		err := s.Write(context.Background(), recs)
		if err == nil {
			err = s.Flush()
		}
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("batch %d: %v, want ENOSPC", b, err)
			}
			retry, retryText = append(retry, recs), append(retryText, text)
		} else {
			committed.WriteString(text)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != committed.String() {
			t.Fatalf("batch %d: file holds %d bytes (...%q), want the %d bytes of the successful flushes",
				b, len(got), tail(got), committed.Len())
		}
	}
	if len(retry) == 0 {
		t.Fatal("the filesystem never filled: the test tests nothing")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i, recs := range retry {
		if err := s.Write(context.Background(), recs); err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		if err := s.Flush(); err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		committed.WriteString(retryText[i])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != committed.String() {
		t.Fatalf("after the retries: %d bytes, want %d", len(got), committed.Len())
	}
	if n := strings.Count(string(got), "\n"); n != perBatch*batches {
		t.Fatalf("%d lines, want %d", n, perBatch*batches)
	}
}
