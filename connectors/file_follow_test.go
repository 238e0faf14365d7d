package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// follower runs a follow-mode file source on its own goroutine. Every
// record arrives on recs as "payload@line" and is acknowledged; waits
// gets a value each time the reader is at the end of the file.
type follower struct {
	src    *fileSource
	recs   chan string
	waits  chan struct{}
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type followEmitter struct{ recs chan string }

func (e followEmitter) Emit(ctx context.Context, batch []*record.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range batch {
		e.recs <- fmt.Sprintf("%s@%d", r.Payload, r.Ack.Seq)
		r.Ack.Attach(new(countingGroup))
		r.Ack.End(record.Delivered)
	}
	return nil
}

func (e followEmitter) Reject(_ context.Context, raw []byte, origin string, _ error) error {
	e.recs <- "reject " + origin
	return nil
}

func startFollow(t *testing.T, dir, path string, cp Checkpoints) *follower {
	t.Helper()
	logs := &syncBuffer{}
	src := buildFileSource(t, FileSourceConfig{Path: path, Codec: codecLines}, Env{
		BaseDir: dir, BatchSize: 1024, Name: "src", Checkpoints: cp,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	}, 1<<20)
	src.cfg.Follow = true
	src.poll = time.Millisecond
	f := &follower{src: src, recs: make(chan string, 100), waits: make(chan struct{}, 1), done: make(chan error, 1), logs: logs}
	src.followWaiting = func() {
		select {
		case f.waits <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { f.done <- src.Read(ctx, followEmitter{recs: f.recs}) }()
	t.Cleanup(func() {
		cancel()
		<-f.done
		src.Close()
	})
	return f
}

// expect receives the next records and compares them with want.
func (f *follower) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-f.recs:
			if got != w {
				t.Fatalf("got record %s, want %s", got, w)
			}
		case err := <-f.done:
			t.Fatalf("Read returned %v while following (waiting for %s)", err, w)
		case <-time.After(10 * time.Second):
			t.Fatalf("no record %s after 10s", w)
		}
	}
}

// atEnd waits until the reader has been at the end of the file twice
// since the call: it has read everything written before.
func (f *follower) atEnd(t *testing.T) {
	t.Helper()
	for range 2 {
		select {
		case <-f.waits:
		case err := <-f.done:
			t.Fatalf("Read returned %v while following", err)
		case <-time.After(10 * time.Second):
			t.Fatal("the reader did not reach the end of the file")
		}
	}
	select {
	case r := <-f.recs:
		t.Fatalf("unexpected record %s", r)
	default:
	}
}

// stop cancels the run and checks that Read returns context.Canceled.
func (f *follower) stop(t *testing.T) {
	t.Helper()
	f.cancel()
	select {
	case err := <-f.done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Read after cancel = %v, want context.Canceled", err)
		}
		f.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return after cancel")
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// Appended lines are read as they come, one batch at a time (no waiting
// for a full batch), and a line being written is not read before its
// newline.
func TestFileSource_Follow_Appends(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "app.log", "a\nb\n")
	f := startFollow(t, dir, "app.log", nil)
	f.expect(t, "a@1", "b@2")
	appendTo(t, p, "c")
	f.atEnd(t) // "c" has been read, and is held back
	appendTo(t, p, "c\nd\n")
	f.expect(t, "cc@3", "d@4")
	f.atEnd(t)
	f.stop(t)
}

// A rotated file is read to its end (a last line without its newline
// included), then the new file at the path from its start.
func TestFileSource_Follow_Rotation(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "app.log", "a\nb\n")
	f := startFollow(t, dir, "app.log", nil)
	f.expect(t, "a@1", "b@2")
	f.atEnd(t)
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, p+".1", "c\nlast") // the writer still had the old file
	f.expect(t, "c@3")
	f.atEnd(t) // no new file yet: the old one is followed
	appendTo(t, p, "new1\nnew2\n")
	f.expect(t, "last@4", "new1@1", "new2@2")
	if !strings.Contains(f.logs.String(), "rotated") {
		t.Errorf("rotation not logged: %s", f.logs.String())
	}
	f.stop(t)
}

// A truncated file is read again from its start, with a warning.
func TestFileSource_Follow_Truncation(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "app.log", "first\nsecond\nthird\n")
	f := startFollow(t, dir, "app.log", nil)
	f.expect(t, "first@1", "second@2", "third@3")
	f.atEnd(t)
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, p, "x\ny\n") // shorter than what was read
	f.expect(t, "x@1", "y@2")
	if logs := f.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "truncated") {
		t.Errorf("truncation not logged as a warning: %s", logs)
	}
	f.stop(t)
}

// Cancelling a follow run while it waits ends Read with ctx.Err().
func TestFileSource_Follow_Cancel(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app.log", "a\n")
	f := startFollow(t, dir, "app.log", nil)
	f.expect(t, "a@1")
	f.atEnd(t)
	f.stop(t)
}

// A followed file resumes from its checkpoint: only lines appended after
// the last run are read, numbered on.
func TestFileSource_Follow_Resume(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "app.log", "a\nb\n")
	cp := &memCheckpoints{}
	f := startFollow(t, dir, "app.log", cp)
	f.expect(t, "a@1", "b@2")
	f.atEnd(t)
	f.stop(t)
	if err := f.src.Close(); err != nil {
		t.Fatal(err)
	}
	if fs := cp.decode(t).Files[p]; fs == nil || fs.Offset != 4 || fs.Line != 2 || fs.FPBytes != 4 {
		t.Fatalf("saved %+v, want offset 4, line 2, 4 bytes fingerprinted", fs)
	}
	appendTo(t, p, "c\n")
	g := startFollow(t, dir, "app.log", cp)
	g.expect(t, "c@3")
	g.atEnd(t)
	appendTo(t, p, "d\n")
	g.expect(t, "d@4")
	g.atEnd(t)
	g.stop(t)
	g.src.Close()
	// The fingerprint widened as the file grew.
	if fs := cp.decode(t).Files[p]; fs.Offset != 8 || fs.Line != 4 || fs.FPBytes != 8 {
		t.Fatalf("saved %+v, want offset 8, line 4, 8 bytes fingerprinted", fs)
	}
}

func TestFileSourceConfig_Check_Follow(t *testing.T) {
	for _, tc := range []struct {
		cfg  FileSourceConfig
		want string
	}{
		{FileSourceConfig{Path: "-", Follow: true}, "standard input"},
		{FileSourceConfig{Path: "logs/*.log", Follow: true}, "not a glob"},
		{FileSourceConfig{Path: "a.log", PollInterval: -1}, "poll_interval"},
		{FileSourceConfig{Path: "a.log", CheckpointInterval: -1}, "checkpoint_interval"},
		{FileSourceConfig{Path: "a.log", CheckpointRecords: -1}, "checkpoint_records"},
	} {
		tc.cfg.Codec, tc.cfg.MaxLineBytes = codecLines, 10
		err := tc.cfg.check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: check = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	ok := FileSourceConfig{Path: "a.log", Follow: true, Codec: codecLines, MaxLineBytes: 10}
	if err := ok.check(); err != nil {
		t.Errorf("follow on a file: %v", err)
	}
}

func TestFileSource_New_FollowNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := &FileSourceConfig{Path: "d", Follow: true, Codec: codecLines, MaxLineBytes: 10}
	if _, err := newFileSource(c, Env{BaseDir: dir}); err == nil || !strings.Contains(err.Error(), "regular file") {
		t.Fatalf("follow on a directory: %v", err)
	}
}
