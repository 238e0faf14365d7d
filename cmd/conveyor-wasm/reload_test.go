package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// reloadCLI is a `run` of a following pipeline in a child process (see
// cliProcess) while a writer appends records {"id":N,"v":N%10} to its
// input, 2000 a second; the test changes the pipeline file and reads the
// output and stderr.
type reloadCLI struct {
	t        *testing.T
	dir      string
	pipeline string
	cmd      *exec.Cmd
	stderr   *syncBuffer
	done     chan struct{} // closed once the CLI has exited, with exit set
	exit     error
	next     atomic.Int64 // the next id the writer writes
	writing  atomic.Int64 // the end of the ids written or being written
	stop     chan struct{}
	stopped  chan struct{}
}

// reloadPipeline is a following file source, a filter on cond and an
// appending file sink.
func reloadPipeline(cond string) string {
	return fmt.Sprintf(`id: reload
settings: {batch_size: 64}
sources: [{name: in, type: file, path: in.jsonl, follow: true, poll_interval: 20ms, checkpoint_interval: 50ms}]
services: {out: {type: file, path: out.jsonl, append: true}}
stages:
  - {id: f, type: filter, condition: '%s'}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`, cond)
}

func startReloadCLI(t *testing.T, cond string, flags ...string) *reloadCLI {
	t.Helper()
	dir := t.TempDir()
	c := &reloadCLI{t: t, dir: dir, pipeline: filepath.Join(dir, "p.yaml"), stderr: &syncBuffer{}, done: make(chan struct{}),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	in, err := os.Create(filepath.Join(dir, "in.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	c.writePipeline(reloadPipeline(cond))
	args := append([]string{"run", "--progress", "0", "--state-dir", filepath.Join(dir, "state")}, flags...)
	c.cmd = cliProcess(t, append(args, c.pipeline)...)
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.exit = c.cmd.Wait(); close(c.done) }()
	go func() {
		defer close(c.stopped)
		defer in.Close()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var b bytes.Buffer
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			b.Reset()
			n := int(c.next.Load())
			for id := n; id < n+20; id++ {
				fmt.Fprintf(&b, "{\"id\":%d,\"v\":%d}\n", id, id%10)
			}
			c.writing.Store(int64(n + 20))
			if _, err := in.Write(b.Bytes()); err != nil {
				panic(err)
			}
			c.next.Store(int64(n + 20))
		}
	}()
	t.Cleanup(func() {
		c.stopWriter()
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *reloadCLI) stopWriter() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.stopped
}

// written is the next id the writer writes: every smaller one is in the
// input.
func (c *reloadCLI) written() int { return int(c.next.Load()) }

// unwritten is the first id that is not in the input, nor being written
// to it: no run has read it or a larger one. (written() can be less: the
// writer may have written its next ids without saying so yet.)
func (c *reloadCLI) unwritten() int { return int(c.writing.Load()) }

// readBefore is one past the last id in [from, from+n) that keep accepts:
// once waitDelivered(from, n, keep) has returned, the source, which reads
// in order, had read every id below it. (The ids after it that keep drops
// may have been read or not.)
func readBefore(from, n int, keep func(v int) bool) int {
	for id := from + n - 1; id >= from; id-- {
		if keep(id % 10) {
			return id + 1
		}
	}
	return from
}

// writePipeline replaces the pipeline file in place.
func (c *reloadCLI) writePipeline(text string) {
	c.t.Helper()
	if err := os.WriteFile(c.pipeline, []byte(text), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// renamePipeline replaces the pipeline file as editors save: a new file
// renamed over the old one.
func (c *reloadCLI) renamePipeline(text string) {
	c.t.Helper()
	tmp := filepath.Join(c.dir, ".p.yaml.swp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, c.pipeline); err != nil {
		c.t.Fatal(err)
	}
}

// output counts each id in the output.
func (c *reloadCLI) output() map[int]int {
	c.t.Helper()
	out, _ := os.ReadFile(filepath.Join(c.dir, "out.jsonl"))
	ids := map[int]int{}
	for _, l := range bytes.Split(out, []byte("\n")) {
		var v struct{ ID *int }
		if len(l) == 0 || json.Unmarshal(l, &v) != nil || v.ID == nil {
			continue // the last line, being written
		}
		ids[*v.ID]++
	}
	return ids
}

// waitFor polls until ok holds, or fails the test after a deadline.
func (c *reloadCLI) waitFor(what string, ok func() bool) {
	c.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		select {
		case <-c.done:
			c.t.Fatalf("the CLI ended (%v) while waiting for %s:\n%s", c.exit, what, c.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s:\n%s", what, c.stderr.String())
		}
	}
}

// waitDelivered waits until the output holds every id in [from, from+n)
// that keep accepts, and returns from+n.
func (c *reloadCLI) waitDelivered(from, n int, keep func(v int) bool) int {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("ids %d to %d", from, from+n-1), func() bool {
		ids := c.output()
		for id := from; id < from+n; id++ {
			if keep(id%10) && ids[id] == 0 {
				return false
			}
		}
		return true
	})
	return from + n
}

// waitLog waits until stderr holds a match of re.
func (c *reloadCLI) waitLog(re string) {
	c.t.Helper()
	rx := regexp.MustCompile(re)
	c.waitFor("a log line matching "+re, func() bool { return rx.MatchString(c.stderr.String()) })
}

// interrupt stops the writer, sends SIGINT and expects exit 130.
func (c *reloadCLI) interrupt() {
	c.t.Helper()
	c.stopWriter()
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
		var ee *exec.ExitError
		if !errors.As(c.exit, &ee) || ee.ExitCode() != exitInterrupted {
			c.t.Fatalf("after SIGINT: %v, want exit %d:\n%s", c.exit, exitInterrupted, c.stderr.String())
		}
	case <-time.After(20 * time.Second):
		c.t.Fatalf("SIGINT did not stop the run:\n%s", c.stderr.String())
	}
}

// checkCut checks the output against a reload between ids lo and hi: the
// source reads in order and a drained run leaves its checkpoint after its
// last record, so a cut k in [lo, hi] splits the input: the ids below it
// passed through old (the first run), the others through new. The output
// places k between the last id only old keeps and the first only new
// keeps. Up to end (the ids the test saw delivered) the output holds
// exactly the ids their filter kept, each once; after end, what it holds
// passed new.
func (c *reloadCLI) checkCut(old, new func(int) bool, lo, hi, end int) {
	c.t.Helper()
	ids := c.output()
	kLo, kHi := lo, hi
	for id := lo; id < hi; id++ {
		if v := id % 10; ids[id] > 0 && old(v) && !new(v) {
			kLo = id + 1
		}
	}
	for id := hi - 1; id >= lo; id-- {
		if v := id % 10; ids[id] > 0 && new(v) && !old(v) {
			kHi = id
		}
	}
	if kLo > kHi {
		c.t.Fatalf("no cut: id %d passed the new filter before id %d passed the old one", kHi, kLo-1)
	}
	for id := range c.written() {
		v := id % 10
		var keep bool
		switch {
		case id < kLo:
			keep = old(v)
		case id >= kHi:
			keep = new(v)
		default: // whichever side of the cut: kept only if both keep it
			keep = old(v) && new(v)
		}
		switch n := ids[id]; {
		case id >= end && n > 0 && !keep:
			c.t.Fatalf("id %d (v %d, cut in [%d, %d]) is in the output, but its filter drops it", id, v, kLo, kHi)
		case id >= end:
		case keep && n == 0:
			c.t.Fatalf("id %d (v %d, cut in [%d, %d]) is missing", id, v, kLo, kHi)
		case !keep && n > 0:
			c.t.Fatalf("id %d (v %d, cut in [%d, %d]) is in the output, but its filter drops it", id, v, kLo, kHi)
		case n > 1:
			c.t.Fatalf("id %d is in the output %d times: a drained reload duplicates nothing", id, n)
		}
	}
	c.t.Logf("%d records written, cut in [%d, %d] within [%d, %d], checked to %d", c.written(), kLo, kHi, lo, hi, end)
}

func low(v int) bool  { return v < 5 }
func high(v int) bool { return v >= 5 }

// With --watch: an invalid change is reported with its position and the
// running pipeline goes on; a valid change (a new filter condition) drains
// the run and starts the new plan from the checkpoints, while the input
// grows. Every input record passed through the filter in force when it
// was read, once.
func TestCLI_Run_WatchReloadsTheChangedPipeline(t *testing.T) {
	t.Parallel()
	c := startReloadCLI(t, "record.payload.v < 5", "--watch")
	c.waitLog(`msg="watching the pipeline file"`)
	end := c.waitDelivered(0, 200, low)

	// Invalid: an undeclared name in the condition (line 6).
	c.writePipeline(reloadPipeline("recrd.payload.v >= 5"))
	c.waitLog(`level=ERROR msg="reload refused: the pipeline file is invalid; the running pipeline goes on".*problem=".*p\.yaml:6:\d+: undeclared reference to 'recrd`)
	from := c.written()
	end = c.waitDelivered(from, 200, low) // still flowing, through the old filter

	// Valid, saved as editors do (renamed over the file).
	lo := readBefore(from, 200, low)
	c.renamePipeline(reloadPipeline("record.payload.v >= 5"))
	c.waitLog(`msg="pipeline reloaded"`)
	hi := c.unwritten()
	end = c.waitDelivered(hi, 200, high)
	c.interrupt()
	c.checkCut(low, high, lo, hi, end)

	log := c.stderr.String()
	for _, want := range []string{`msg="run ended for a reload" run=1`, `msg="run ended" run=2 of=2`, "summary: all 2 runs: records in "} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "pipeline reloaded"); n != 1 {
		t.Errorf("%d reloads, want 1:\n%s", n, log)
	}
}

// SIGHUP reloads, with or without --watch; without it a change of the
// file alone reloads nothing.
func TestCLI_Run_SIGHUPReloads(t *testing.T) {
	t.Parallel()
	c := startReloadCLI(t, "record.payload.v < 5")
	// Records delivered: the run is on, so SIGHUP is handled.
	c.waitDelivered(0, 200, low)

	c.writePipeline(reloadPipeline("record.payload.v >= 5"))
	time.Sleep(3 * reloadDebounce)
	from := c.written()
	c.waitDelivered(from, 200, low)
	lo := readBefore(from, 200, low)
	if strings.Contains(c.stderr.String(), "reload") {
		t.Fatalf("a change without --watch reloaded:\n%s", c.stderr.String())
	}

	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	c.waitLog(`msg="reloading: draining the running pipeline".*trigger=SIGHUP`)
	c.waitLog(`msg="pipeline reloaded"`)
	hi := c.unwritten()
	end := c.waitDelivered(hi, 200, high)
	c.interrupt()
	c.checkCut(low, high, lo, hi, end)
}

// A valid pipeline that cannot start (its input file is missing) leaves
// the previous pipeline running, restarted from its checkpoints.
func TestCLI_Run_ReloadThatCannotStartRestartsThePrevious(t *testing.T) {
	t.Parallel()
	c := startReloadCLI(t, "record.payload.v < 5", "--watch")
	c.waitLog(`msg="watching the pipeline file"`)
	c.waitDelivered(0, 200, low)

	broken := strings.Replace(reloadPipeline("record.payload.v >= 5"), "path: in.jsonl, follow: true", "path: missing.jsonl", 1)
	c.writePipeline(broken)
	c.waitLog(`level=ERROR msg="reload failed: the new pipeline could not start; starting the previous one again from its checkpoints".*missing\.jsonl`)
	c.waitLog(`msg="previous pipeline restarted"`)
	end := c.waitDelivered(c.written(), 200, low)
	c.interrupt()
	// The same filter before and after the restart: no cut to find.
	c.checkCut(low, low, 0, 0, end)
}

func TestWatchFile_Changes(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir, path string)
		want   bool
	}{
		{"write in place", func(t *testing.T, _, path string) { mustWrite(t, path, "b") }, true},
		{"renamed over", func(t *testing.T, dir, path string) {
			mustWrite(t, filepath.Join(dir, "tmp"), "b")
			if err := os.Rename(filepath.Join(dir, "tmp"), path); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"removed and created", func(t *testing.T, _, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, path, "b")
		}, true},
		{"another file", func(t *testing.T, dir, _ string) { mustWrite(t, filepath.Join(dir, "out.jsonl"), "x") }, false},
		{"chmod", func(t *testing.T, _, path string) {
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "p.yaml")
			mustWrite(t, path, "a")
			w, err := watchFile(path, 20*time.Millisecond, log)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			tc.change(t, dir, path)
			// A change is waited for as long as a loaded machine may
			// take; the absence of one, for 25 debounces.
			wait := 500 * time.Millisecond
			if tc.want {
				wait = 30 * time.Second
			}
			select {
			case <-w.C:
				if !tc.want {
					t.Fatal("reported a change")
				}
			case <-time.After(wait):
				if tc.want {
					t.Fatal("no change reported")
				}
			}
		})
	}
}

// A burst of writes is one change, reported once the file is quiet.
func TestWatchFile_Debounces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	mustWrite(t, path, "a")
	// The burst's writes follow each other with no sleep between them (a
	// sleep hands the thread back, and a loaded machine may take longer
	// than the debounce to give it back, splitting the burst).
	const debounce = 500 * time.Millisecond
	w, err := watchFile(path, debounce, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now()
	var last time.Time // when the last write began: its events come after
	for i := range 10 {
		last = time.Now()
		mustWrite(t, path, strings.Repeat("b", i))
	}
	<-w.C
	if took := time.Since(last); took < debounce {
		t.Fatalf("reported %s after the last write (%s after the first), before the burst had been quiet for the debounce", took, time.Since(start))
	}
	select {
	case <-w.C:
		t.Fatal("a burst reported twice")
	case <-time.After(debounce + 300*time.Millisecond):
	}
}

// A Kubernetes ConfigMap volume updates the file by swapping the "..data"
// link its path points through.
func TestWatchFile_SymlinkSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dir, v, "p.yaml"), v)
	}
	must(t, os.Symlink("v1", filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/p.yaml", filepath.Join(dir, "p.yaml")))
	w, err := watchFile(filepath.Join(dir, "p.yaml"), 20*time.Millisecond, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	must(t, os.Symlink("v2", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	select {
	case <-w.C:
	case <-time.After(30 * time.Second):
		t.Fatal("no change reported")
	}
}

func mustWrite(t *testing.T, path, text string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(text), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
