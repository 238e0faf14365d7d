package connectors

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// The file source's checkpoint state, saved in Env.Checkpoints as JSON:
//
//	{"version":1,"files":{"/abs/in.jsonl":{"dev":2049,"ino":1234,"size":5000,
//	  "fingerprint":"af63bd4c8601b7df","fingerprint_bytes":1024,
//	  "offset":4096,"line":40}}}
//
// Per file path: the file's identity (device and inode, its size when
// saved, and an FNV-1a 64 hash of its first fingerprint_bytes bytes, at most
// 1 KiB) and the end of its acknowledged prefix: reading resumes at byte
// offset, numbering lines from line+1. A saved entry applies to the file at
// its path only if the device and inode match, the file is at least offset
// bytes long and its first fingerprint_bytes bytes hash the same; otherwise
// the file is read from its start, with a warning.

// stateVersion is the version of the saved state's format.
const stateVersion = 1

// fingerprintBytes is how much of a file's start its fingerprint covers.
const fingerprintBytes = 1024

type sourceState struct {
	Version int                   `json:"version"`
	Files   map[string]*fileState `json:"files"`
}

type fileState struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	FP      string `json:"fingerprint"`
	FPBytes int    `json:"fingerprint_bytes"`
	Offset  int64  `json:"offset"`
	Line    int64  `json:"line"`
}

// fileID is what identifies a file across runs.
type fileID struct {
	dev, ino uint64
	size     int64
	fp       uint64
	fpBytes  int
}

// identify reads f's identity: fi's device and inode, and the fingerprint
// of its first min(size, 1 KiB) bytes.
func identify(f *os.File, fi os.FileInfo) (fileID, error) {
	id := fileID{size: fi.Size()}
	id.dev, id.ino = devIno(fi)
	n := int(min(fi.Size(), fingerprintBytes))
	fp, err := fingerprint(f, n)
	if err != nil {
		return id, err
	}
	id.fp, id.fpBytes = fp, n
	return id, nil
}

// fingerprint hashes the first n bytes of f (without moving its offset).
func fingerprint(f io.ReaderAt, n int) (uint64, error) {
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil && !(err == io.EOF && n == 0) {
		return 0, fmt.Errorf("fingerprint: %w", err)
	}
	h := fnv.New64a()
	h.Write(buf)
	return h.Sum64(), nil
}

// fileCheckpointer holds a file source's state: what was loaded, and a
// prefixTracker per file being read. It saves the state from a background
// goroutine every interval (and after every `every` acknowledged lines),
// so that saving is never on the read path.
type fileCheckpointer struct {
	cp    Checkpoints
	log   *slog.Logger
	every int64

	mu    sync.Mutex
	files map[string]*fileState // as loaded, for files not being read
	runs  map[string]*fileRun   // files being read (or read) in this run

	saveMu sync.Mutex
	last   []byte // the state last saved

	wake      chan struct{}
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// fileRun is one file read in this run: its identity and its tracker.
type fileRun struct {
	f  *os.File // for the fingerprint while it covers less than 1 KiB
	id fileID
	tr *prefixTracker
}

// newFileCheckpointer loads the saved state (dropping files no longer in
// files) and starts the committer.
func newFileCheckpointer(cp Checkpoints, interval time.Duration, every int, files []string, log *slog.Logger) (*fileCheckpointer, error) {
	raw, err := cp.Load()
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	c := &fileCheckpointer{
		cp: cp, log: log, every: int64(every),
		files: map[string]*fileState{}, runs: map[string]*fileRun{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	if raw != nil {
		var st sourceState
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("load checkpoint: %w", err)
		}
		if st.Version != stateVersion {
			return nil, fmt.Errorf("load checkpoint: state version %d, this build reads version %d (start from the beginning to replace it)", st.Version, stateVersion)
		}
		for _, f := range files {
			if fs := st.Files[f]; fs != nil {
				c.files[f] = fs
			}
		}
		c.last = raw
	}
	go c.commit(interval)
	return c, nil
}

// begin starts tracking the file name, open as f: it returns where to
// resume reading and the tracker for its records. With fresh (a rotated
// or truncated file in follow mode) the saved position is not used.
func (c *fileCheckpointer) begin(name string, f *os.File, fi os.FileInfo, fresh bool) (filePos, *prefixTracker) {
	id, err := identify(f, fi)
	if err != nil {
		c.log.Warn("file source: cannot fingerprint the file; its checkpoint is not used", "file", name, "error", err)
	}
	var from filePos
	c.mu.Lock()
	saved := c.files[name]
	if r := c.runs[name]; r != nil && !fresh {
		// Read before in this run (not expected): go on from there.
		saved = r.state(name)
	}
	c.mu.Unlock()
	if saved != nil && !fresh && err == nil {
		if why := mismatch(saved, f, fi, id); why != "" {
			c.log.Warn("file source: the file at this path is not the one checkpointed; reading it from the start",
				"file", name, "reason", why)
		} else {
			from = filePos{off: saved.Offset, line: saved.Line}
			if from.off > 0 {
				c.log.Info("file source: resuming from checkpoint", "file", name, "offset", from.off, "line", from.line)
			}
		}
	}
	tr := newPrefixTracker(from)
	if c.every > 0 {
		tr.onAcked = func(n int64) {
			if n%c.every == 0 {
				select {
				case c.wake <- struct{}{}:
				default:
				}
			}
		}
	}
	c.mu.Lock()
	c.runs[name] = &fileRun{f: f, id: id, tr: tr}
	delete(c.files, name)
	c.mu.Unlock()
	return from, tr
}

// mismatch says why saved does not describe the file f, or "" when it does.
func mismatch(saved *fileState, f *os.File, fi os.FileInfo, id fileID) string {
	if saved.Dev != id.dev || saved.Ino != id.ino {
		return fmt.Sprintf("a different file (device/inode %d/%d, checkpointed %d/%d)", id.dev, id.ino, saved.Dev, saved.Ino)
	}
	if fi.Size() < saved.Offset {
		return fmt.Sprintf("the file is shorter (%d bytes) than the checkpointed offset (%d)", fi.Size(), saved.Offset)
	}
	if int64(saved.FPBytes) > fi.Size() || saved.FPBytes < 0 || saved.FPBytes > fingerprintBytes {
		return fmt.Sprintf("the file is shorter (%d bytes) than its fingerprint (%d)", fi.Size(), saved.FPBytes)
	}
	fp, err := fingerprint(f, saved.FPBytes)
	if err != nil {
		return err.Error()
	}
	if strconv.FormatUint(fp, 16) != saved.FP {
		return fmt.Sprintf("its first %d bytes changed (rewritten)", saved.FPBytes)
	}
	return ""
}

// refresh, in follow mode, widens the fingerprint of name to the file's
// current size (up to 1 KiB) and records the size.
func (c *fileCheckpointer) refresh(name string, size int64) {
	c.mu.Lock()
	r := c.runs[name]
	c.mu.Unlock()
	if r == nil {
		return
	}
	var fp uint64
	n := int(min(size, fingerprintBytes))
	widen := n > r.id.fpBytes
	if widen {
		var err error
		if fp, err = fingerprint(r.f, n); err != nil {
			widen = false
		}
	}
	c.mu.Lock()
	r.id.size = size
	if widen {
		r.id.fp, r.id.fpBytes = fp, n
	}
	c.mu.Unlock()
}

// state is the run's entry for the file. Call with c.mu held.
func (r *fileRun) state(name string) *fileState {
	p := r.tr.position()
	return &fileState{
		Dev: r.id.dev, Ino: r.id.ino, Size: max(r.id.size, p.off),
		FP: strconv.FormatUint(r.id.fp, 16), FPBytes: r.id.fpBytes,
		Offset: p.off, Line: p.line,
	}
}

// save saves the state if it changed since the last save.
func (c *fileCheckpointer) save() error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	st := sourceState{Version: stateVersion, Files: map[string]*fileState{}}
	c.mu.Lock()
	for name, fs := range c.files {
		st.Files[name] = fs
	}
	for name, r := range c.runs {
		st.Files[name] = r.state(name)
	}
	c.mu.Unlock()
	raw, err := json.Marshal(st) // maps are encoded in key order
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if string(raw) == string(c.last) {
		return nil
	}
	if err := c.cp.Save(raw); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	c.last = raw
	return nil
}

// commit saves every interval and on wake until stop.
func (c *fileCheckpointer) commit(interval time.Duration) {
	defer close(c.stopped)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-c.wake:
		}
		if err := c.save(); err != nil {
			c.log.Warn("file source: checkpoint not saved; will retry", "error", err)
		}
	}
}

// close stops the committer and saves a last time.
func (c *fileCheckpointer) close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.stopped
		c.closeErr = c.save()
	})
	return c.closeErr
}
