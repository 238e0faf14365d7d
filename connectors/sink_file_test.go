package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

var errDiskFull = errors.New("no space left on device (fake)")

// memFile is a sinkFile in memory. Like a full disk, it fails a write that
// would grow it past limit bytes (limit < 0: no limit), after writing what
// fits.
type memFile struct {
	data            []byte
	limit           int
	syncs           int
	syncErr, trErr  error
	closed          bool
	writesAfterTear int // writes that reached the file after a failed truncate
	torn            bool
}

func (m *memFile) Write(p []byte) (int, error) {
	if m.torn {
		m.writesAfterTear++
	}
	if m.limit >= 0 && len(m.data)+len(p) > m.limit {
		n := max(m.limit-len(m.data), 0)
		m.data = append(m.data, p[:n]...)
		return n, errDiskFull
	}
	m.data = append(m.data, p...)
	return len(p), nil
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) Truncate(size int64) error {
	if m.trErr != nil {
		m.torn = true
		return m.trErr
	}
	if size > int64(len(m.data)) {
		return fmt.Errorf("memFile: truncate to %d grows a %d-byte file", size, len(m.data))
	}
	m.data = m.data[:size]
	return nil
}

func (m *memFile) Sync() error  { m.syncs++; return m.syncErr }
func (m *memFile) Close() error { m.closed = true; return nil }

// lineBatch returns n records whose payloads are lines of exactly width
// bytes (newline included), numbered from first.
func lineBatch(first, n, width int) ([]*record.Record, string) {
	recs := make([]*record.Record, n)
	var text strings.Builder
	for i := range recs {
		p := fmt.Sprintf(`{"id":%d,"pad":"`, first+i)
		p += strings.Repeat("x", width-len(p)-3) + `"}`
		recs[i] = record.New("", []byte(p))
		text.WriteString(p + "\n")
	}
	return recs, text.String()
}

func newMemSink(t *testing.T, m *memFile, cfg FileSinkConfig) *fileSink {
	t.Helper()
	cfg.Format = cmpOr(cfg.Format, FormatPayload)
	cfg.Sync = cmpOr(cfg.Sync, SyncNone)
	s, err := newFileSink(m, m, "mem.jsonl", int64(len(m.data)), true, &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestFileSink_Flush_DiskFullAfterNBytes: whatever byte the disk fills at
// (inside the buffer, at a line boundary, mid-line, in a Write that
// overflows the buffer or in a Flush), the file holds exactly the lines of
// the successful Flushes, with no partial line; the failed batches, written
// again once there is room, land once each.
func TestFileSink_Flush_DiskFullAfterNBytes(t *testing.T) {
	const width, perBatch, batches = 100, 50, 6 // 5,000-byte batches, a 4 KiB buffer
	for _, limit := range []int{0, 1, 99, 100, 101, 4095, 4096, 5000, 5001, 7777, 10000, 12345, 29999} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			m := &memFile{limit: limit}
			s := newMemSink(t, m, FileSinkConfig{BufferBytes: 4096})
			var committed, failed strings.Builder
			var retry [][]*record.Record
			var retryText []string
			for b := range batches {
				recs, text := lineBatch(b*perBatch, perBatch, width)
				err := s.Write(context.Background(), recs)
				if err == nil {
					err = s.Flush()
				}
				if err != nil {
					if !errors.Is(err, errDiskFull) {
						t.Fatalf("batch %d: error %v does not wrap the disk's error", b, err)
					}
					retry, retryText = append(retry, recs), append(retryText, text)
					failed.WriteString(text)
				} else {
					committed.WriteString(text)
				}
				if string(m.data) != committed.String() {
					t.Fatalf("batch %d: file holds %d bytes (%q...), want the %d bytes of the successful flushes",
						b, len(m.data), tail(m.data), committed.Len())
				}
				if s.committed != int64(len(m.data)) || s.pending != 0 || s.w.Buffered() != 0 {
					t.Fatalf("batch %d: committed %d pending %d buffered %d, file %d bytes",
						b, s.committed, s.pending, s.w.Buffered(), len(m.data))
				}
			}
			if limit < width*perBatch*batches && failed.Len() == 0 {
				t.Fatal("the disk never filled: the test tests nothing")
			}
			m.limit = -1 // room again: write the failed batches once more
			for i, recs := range retry {
				if err := s.Write(context.Background(), recs); err != nil {
					t.Fatal(err)
				}
				if err := s.Flush(); err != nil {
					t.Fatal(err)
				}
				committed.WriteString(retryText[i])
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if string(m.data) != committed.String() {
				t.Fatalf("after the retries the file holds %d bytes, want %d", len(m.data), committed.Len())
			}
			lines := strings.Split(strings.TrimSuffix(string(m.data), "\n"), "\n")
			if len(lines) != perBatch*batches {
				t.Fatalf("%d lines, want %d (each once)", len(lines), perBatch*batches)
			}
			seen := map[string]bool{}
			for _, l := range lines {
				if seen[l] || len(l) != width-1 {
					t.Fatalf("line %q repeated or torn", l)
				}
				seen[l] = true
			}
		})
	}
}

func tail(b []byte) []byte { return b[max(len(b)-40, 0):] }

// TestFileSink_Write_FailureRollsBackEarlierWrites: a Write that fails
// takes back the Writes before it since the last Flush too, not only its
// own batch.
func TestFileSink_Write_FailureRollsBackEarlierWrites(t *testing.T) {
	m := &memFile{limit: -1}
	s := newMemSink(t, m, FileSinkConfig{BufferBytes: 4096})
	first, firstText := lineBatch(0, 10, 100)
	if err := s.Write(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	small, _ := lineBatch(10, 10, 100) // fits in the buffer
	if err := s.Write(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	m.limit = len(m.data) + 1500
	big, _ := lineBatch(20, 100, 100) // overflows the buffer: reaches the disk
	if err := s.Write(context.Background(), big); !errors.Is(err, errDiskFull) {
		t.Fatalf("Write = %v, want the disk-full error", err)
	}
	m.limit = -1
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if string(m.data) != firstText {
		t.Fatalf("file holds %d bytes, want the %d of the first flush (the small batch must be rolled back too)", len(m.data), len(firstText))
	}
}

func TestFileSink_Flush_Sync(t *testing.T) {
	errSync := errors.New("sync failed")
	tests := []struct {
		name      string
		sync      string
		syncErr   error
		wantSyncs int
	}{
		{"none", SyncNone, nil, 0},
		{"flush", SyncFlush, nil, 2}, // two flushes with data; an empty one is skipped
		{"flush error rolls back", SyncFlush, errSync, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memFile{limit: -1, syncErr: tt.syncErr}
			s := newMemSink(t, m, FileSinkConfig{Sync: tt.sync})
			recs, text := lineBatch(0, 3, 20)
			want := ""
			for i := range 2 {
				if err := s.Write(context.Background(), recs); err != nil {
					t.Fatal(err)
				}
				err := s.Flush()
				if i == 0 && tt.syncErr != nil {
					if !errors.Is(err, tt.syncErr) {
						t.Fatalf("Flush = %v, want the sync error", err)
					}
					if len(m.data) != 0 {
						t.Fatalf("a failed sync left %q in the file", m.data)
					}
					m.syncErr = nil
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				want += text
			}
			if err := s.Flush(); err != nil { // nothing new: no fsync
				t.Fatal(err)
			}
			if m.syncs != tt.wantSyncs || string(m.data) != want {
				t.Fatalf("syncs %d (want %d), file %q (want %q)", m.syncs, tt.wantSyncs, m.data, want)
			}
		})
	}
}

// TestFileSink_Flush_RollbackFails: when the file cannot be truncated back,
// the sink refuses every later call instead of appending to a partial
// line.
func TestFileSink_Flush_RollbackFails(t *testing.T) {
	errTrunc := errors.New("truncate failed")
	m := &memFile{limit: 150, trErr: errTrunc}
	s := newMemSink(t, m, FileSinkConfig{})
	recs, _ := lineBatch(0, 2, 100)
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	err := s.Flush()
	if !errors.Is(err, errDiskFull) || !errors.Is(err, errTrunc) {
		t.Fatalf("Flush = %v, want both the write and the truncate errors", err)
	}
	m.limit = -1
	if err := s.Write(context.Background(), recs); !errors.Is(err, errTrunc) {
		t.Fatalf("Write after a failed rollback = %v, want the rollback error", err)
	}
	if err := s.Close(); !errors.Is(err, errTrunc) || !m.closed {
		t.Fatalf("Close = %v (closed %v), want the rollback error and the file closed", err, m.closed)
	}
	if m.writesAfterTear != 0 {
		t.Fatalf("%d writes reached the file after the failed rollback", m.writesAfterTear)
	}
}

// TestFileSink_Build_RepairsTornLine: an appending sink opening a file
// whose last line has no newline (a writer killed mid-line) cuts that
// line, says so in a warning, and appends after the last whole line.
func TestFileSink_Build_RepairsTornLine(t *testing.T) {
	long := strings.Repeat("y", 100<<10) // longer than one backward read
	tests := []struct {
		name, existing, want string
		removed              int
	}{
		{"torn last line", "a\nb\n{\"par", "a\nb\n", 5},
		{"whole lines", "a\nb\n", "a\nb\n", 0},
		{"empty", "", "", 0},
		{"no newline at all", "{\"partial", "", 9},
		{"torn line longer than a read", "a\n" + long, "a\n", len(long)},
		{"newline long before the end", long + "\n" + long, long + "\n", len(long)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "out.jsonl")
			if err := os.WriteFile(p, []byte(tt.existing), 0o644); err != nil {
				t.Fatal(err)
			}
			var logBuf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logBuf, nil))
			cfg := &FileSinkConfig{Path: p, Format: FormatPayload, Append: true, BufferBytes: 4096, Sync: SyncNone}
			s := buildSink(t, "file", cfg, Env{Name: "out", Logger: log})
			if err := s.Write(context.Background(), []*record.Record{record.New("", []byte("new"))}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want+"new\n" {
				t.Fatalf("file = %q, want %q", tail(got), tt.want+"new\n")
			}
			logged := logBuf.String()
			if tt.removed == 0 {
				if logged != "" {
					t.Fatalf("logged %q for a file without a torn line", logged)
				}
				return
			}
			for _, want := range []string{"level=WARN", "path=" + p, fmt.Sprintf("bytes=%d", tt.removed)} {
				if !strings.Contains(logged, want) {
					t.Fatalf("log %q lacks %q", logged, want)
				}
			}
		})
	}
}

// TestFileSink_Build_TruncateModeIgnoresTornLine: without append the file
// starts empty; nothing is repaired or logged.
func TestFileSink_Build_TruncateModeIgnoresTornLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(p, []byte("a\n{\"par"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	cfg := &FileSinkConfig{Path: p, Format: FormatPayload, BufferBytes: 4096, Sync: SyncNone}
	s := buildSink(t, "file", cfg, Env{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); len(got) != 0 || logBuf.Len() != 0 {
		t.Fatalf("file %q, log %q", got, logBuf.String())
	}
}

// TestFileSink_Flush_SyncFlushRealFile: sync: flush on a real file writes
// and commits each Flush.
func TestFileSink_Flush_SyncFlushRealFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.jsonl")
	cfg := &FileSinkConfig{Path: p, Format: FormatEnvelope, BufferBytes: 4096, Sync: SyncFlush}
	s := buildSink(t, "file", cfg, Env{})
	defer s.Close()
	for i := range 3 {
		if err := s.Write(context.Background(), testRecords()); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(got, []byte("\n")); n != 2*(i+1) {
			t.Fatalf("after flush %d: %d lines", i, n)
		}
		if fs := s.(*fileSink); fs.committed != int64(len(got)) {
			t.Fatalf("committed %d, file %d bytes", fs.committed, len(got))
		}
	}
}

// TestFileSink_Flush_DevFull: on /dev/full every Flush fails, nothing is
// committed, the buffer is emptied each time (the failed records are not
// written by a later Flush), and the sink says it cannot roll back (a
// device cannot be truncated).
func TestFileSink_Flush_DevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	cfg := &FileSinkConfig{Path: "/dev/full", Format: FormatPayload, BufferBytes: 4096, Sync: SyncFlush}
	s := buildSink(t, "file", cfg, Env{})
	fs := s.(*fileSink)
	if s.(Rollbacker).CanRollback() {
		t.Fatal("CanRollback = true for a device")
	}
	for i := range 3 {
		recs, _ := lineBatch(i*10, 10, 50)
		if err := s.Write(context.Background(), recs); err != nil {
			t.Fatalf("Write %d: %v (the buffer should hold it)", i, err)
		}
		if err := s.Flush(); err == nil {
			t.Fatalf("Flush %d on /dev/full succeeded", i)
		}
		if fs.committed != 0 || fs.pending != 0 || fs.w.Buffered() != 0 {
			t.Fatalf("after flush %d: committed %d pending %d buffered %d", i, fs.committed, fs.pending, fs.w.Buffered())
		}
	}
	big, _ := lineBatch(0, 100, 100) // overflows the buffer inside Write
	if err := s.Write(context.Background(), big); err == nil {
		t.Fatal("a Write past the buffer on /dev/full succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close with nothing written since the last error = %v", err)
	}
}

func TestFileSink_CanRollback_RegularFile(t *testing.T) {
	cfg := &FileSinkConfig{Path: filepath.Join(t.TempDir(), "x"), Format: FormatPayload, BufferBytes: 4096, Sync: SyncNone}
	s := buildSink(t, "file", cfg, Env{})
	defer s.Close()
	if r, ok := s.(Rollbacker); !ok || !r.CanRollback() {
		t.Fatal("a file sink on a regular file must roll back")
	}
}

func TestFileSinkConfig_Check_Sync(t *testing.T) {
	spec, _ := Lookup(KindSink, "file")
	for _, tt := range []struct {
		sync string
		ok   bool
	}{{SyncNone, true}, {SyncFlush, true}, {"", false}, {"always", false}} {
		cfg := spec.NewConfig().(*FileSinkConfig)
		cfg.Path, cfg.Sync = "x.jsonl", tt.sync
		if err := spec.Check(cfg); (err == nil) != tt.ok {
			t.Errorf("Check(sync %q) = %v", tt.sync, err)
		}
		if _, err := BuildSink(spec, cfg, Env{BaseDir: t.TempDir()}); (err == nil) != tt.ok {
			t.Errorf("Build(sync %q) = %v", tt.sync, err)
		}
	}
	if cfg := spec.NewConfig().(*FileSinkConfig); cfg.Sync != SyncNone {
		t.Fatalf("default sync = %q, want %q", cfg.Sync, SyncNone)
	}
}

// TestFileSink_Write_EnvelopeInvalidUTF8: an envelope line is valid JSON
// (and valid UTF-8) whatever bytes the payload holds.
func TestFileSink_Write_EnvelopeInvalidUTF8(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.jsonl")
	cfg := &FileSinkConfig{Path: p, Format: FormatEnvelope, BufferBytes: 4096, Sync: SyncNone}
	s := buildSink(t, "file", cfg, Env{})
	recs := []*record.Record{
		record.New("k\xff", []byte("{\"a\":\"\xff\"}")), // valid JSON syntax, invalid UTF-8
		record.New("", []byte("plain \xc0\xaf text")),
		record.New("", []byte("[\"\xed\xa0\x80\"]")), // an encoded surrogate
	}
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d lines, want %d", len(lines), len(recs))
	}
	for i, l := range lines {
		if !utf8.ValidString(l) || !json.Valid([]byte(l)) {
			t.Fatalf("line %d %q is not valid UTF-8 JSON", i, l)
		}
		checkEnvelope(t, []byte(l), recs[i])
	}
}

// BenchmarkFileSink measures the sync policy's cost: one Flush per batch
// of records (as the engine flushes a sink), on a file in the directory
// named by $CONVEYOR_BENCH_DIR (default: the test's temporary directory;
// fsync is free on a tmpfs, so point it at a real disk).
func BenchmarkFileSink(b *testing.B) {
	for _, sync := range []string{SyncNone, SyncFlush} {
		for _, n := range []int{64, 1024} {
			b.Run(fmt.Sprintf("sync=%s/batch=%d", sync, n), func(b *testing.B) {
				dir := os.Getenv("CONVEYOR_BENCH_DIR")
				if dir == "" {
					dir = b.TempDir()
				}
				recs, text := lineBatch(0, n, 112)
				cfg := &FileSinkConfig{Path: filepath.Join(dir, "bench.jsonl"), Format: FormatPayload, BufferBytes: 1 << 20, Sync: sync}
				s := buildSink(b, "file", cfg, Env{})
				defer os.Remove(cfg.Path)
				defer s.Close()
				b.SetBytes(int64(len(text)))
				b.ReportAllocs()
				for b.Loop() {
					if err := s.Write(context.Background(), recs); err != nil {
						b.Fatal(err)
					}
					if err := s.Flush(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
