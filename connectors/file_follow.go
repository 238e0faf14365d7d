package connectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Follow mode: the file is read like any regular file, on one goroutine,
// but its end is not the end of the input. At the end, the reader hands on
// the partial batch (records never wait for a full batch, and the engine
// sees a quiet source as idle for watermarks since nothing is emitted),
// then polls every poll_interval:
//
//   - the file grew: read on;
//   - the file is shorter than what was read (truncated, copytruncate):
//     read it again from its start, with a warning;
//   - the path names another file (rotated: renamed or removed, and a new
//     file created): read the old file to its end, then the new one from
//     its start;
//   - the run is stopping (ctx done): return ctx.Err().
//
// Polling costs one fstat and one stat per poll_interval while quiet;
// fsnotify would save little at 200 ms and does not see every kind of
// file system (NFS, some FUSE), so polling is the one mechanism.

// errTruncated: the followed file got shorter than the offset read.
var errTruncated = errors.New("file truncated")

// follow reads the file at path until ctx is done.
func (s *fileSource) follow(ctx context.Context, out Emitter, path string) error {
	fresh := false
	log := s.logger()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		fh, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && fresh {
			// Rotated away and not created again yet.
			if err := sleepCtx(ctx, s.poll); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("input file: %w", err)
		}
		err = s.followFile(ctx, out, path, fh, fresh)
		fh.Close()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			log.Info("file source: followed file was rotated; reading the new file from its start", "file", path)
		case errors.Is(err, errTruncated):
			log.Warn("file source: followed file was truncated; reading it again from its start", "file", path, "error", err)
		default:
			return err
		}
		fresh = true
	}
}

// followFile reads one open file until it is rotated (nil), truncated
// (errTruncated) or ctx is done.
func (s *fileSource) followFile(ctx context.Context, out Emitter, path string, fh *os.File, fresh bool) error {
	fi, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("input file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("follow needs a regular file, %s is not one", path)
	}
	var at readAt
	if s.ck != nil {
		at.from, at.tr = s.ck.begin(path, fh, fi, fresh)
	}
	if at.from.off > 0 {
		if _, err := fh.Seek(at.from.off, io.SeekStart); err != nil {
			return fmt.Errorf("input file: %w", err)
		}
	}
	fr := &followReader{ctx: ctx, f: fh, path: path, off: at.from.off, poll: s.poll, waiting: s.followWaiting}
	if s.ck != nil {
		fr.grew = func(size int64) { s.ck.refresh(path, size) }
	}
	at.idle = &fr.idle
	return s.readSeqAt(ctx, out, fr, path, false, at)
}

// followReader reads a followed file: at its end it waits for more
// instead of returning io.EOF, which it returns only once the file was
// rotated and read to its end.
type followReader struct {
	ctx     context.Context
	f       *os.File
	path    string
	off     int64 // bytes of f read
	poll    time.Duration
	rotated bool
	// idle hands on the partial batch; set by readSeqAt.
	idle func() error
	// grew, if set, learns the file's size when it changed.
	grew func(size int64)
	size int64 // last size seen
	// waiting, if set (tests), is called before each wait.
	waiting func()
}

func (r *followReader) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		r.off += int64(n)
		if n > 0 {
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		if r.rotated {
			return 0, io.EOF
		}
		fi, err := r.f.Stat()
		if err != nil {
			return 0, fmt.Errorf("stat: %w", err)
		}
		if size := fi.Size(); size != r.size {
			r.size = size
			if r.grew != nil {
				r.grew(size)
			}
		}
		if fi.Size() < r.off {
			return 0, fmt.Errorf("%w: %d bytes now, %d bytes read", errTruncated, fi.Size(), r.off)
		}
		if fi.Size() > r.off {
			continue // written since the read
		}
		if pfi, err := os.Stat(r.path); err == nil && !os.SameFile(pfi, fi) {
			// Read what was written before the rename, then stop.
			r.rotated = true
			continue
		}
		if r.idle != nil {
			if err := r.idle(); err != nil {
				return 0, err
			}
		}
		if r.waiting != nil {
			r.waiting()
		}
		if err := sleepCtx(r.ctx, r.poll); err != nil {
			return 0, err
		}
	}
}

// sleepCtx waits for d or until ctx is done (then ctx.Err()).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
