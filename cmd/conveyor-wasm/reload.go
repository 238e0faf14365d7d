package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/cmd/conveyor-wasm/internal/httpserver"
	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/fsnotify/fsnotify"
)

// Hot reload: `run` reloads its pipeline file on SIGHUP, and with --watch
// when the file changes. A changed file is parsed and compiled first; an
// invalid one is reported (every problem with its position) and the
// running pipeline goes on. A valid one drains the running run (sources
// stop, records in flight are handled and acknowledged, checkpoints saved:
// the run is stopped, not complete, so its checkpoints stay) and a run of
// the new plan starts with the same options: its file sources resume from
// those checkpoints. If the new plan cannot start, the previous one starts
// again from the same checkpoints.

// reloadDebounce is how long the pipeline file must stay unchanged after
// an event before it is read: an editor's save is several events (write,
// truncate, rename, chmod).
const reloadDebounce = 200 * time.Millisecond

// runLoop runs a pipeline and the reloads of its file, one run at a time.
type runLoop struct {
	path  string              // the pipeline file
	parse engine.ParseOptions // --set and --env-file, for reloads
	opts  engine.RunOptions   // every run's options (FromStart only for the first)
	watch bool                // reload when the file changes, not only on SIGHUP
	log   *slog.Logger
	out   *runOutput
	quiet bool
	// progress is the interval of progress lines (0: none).
	progress time.Duration
	srv      *httpserver.Server // nil without --http
	// flush writes out the dead letters buffered for stderr.
	flush func() error
	// debounce overrides reloadDebounce (tests).
	debounce time.Duration
}

// runResult is how one run ended.
type runResult struct {
	sum engine.Summary
	err error
}

// run runs r, and after each reload a run of the new plan, until a run
// ends other than by a reload: its sources were exhausted, it failed, or
// ctx was cancelled (a signal). It returns that last run's summary and
// error; every run's summary is printed (with --quiet, none).
func (l *runLoop) run(ctx context.Context, r *engine.Runner) (engine.Summary, error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var changed <-chan struct{}
	if l.watch {
		w, err := watchFile(l.path, cmp.Or(l.debounce, reloadDebounce), l.log)
		if err != nil {
			// r never runs: a drained run closes what NewRunner opened.
			r.Drain()
			sum, _ := r.Run(ctx)
			return sum, fmt.Errorf("--watch: %w", err)
		}
		defer w.Close()
		changed = w.C
		l.log.Info("watching the pipeline file", "path", l.path)
	}
	// loaded is the text of the running plan: a file event that leaves it
	// unchanged (a touch, an editor's backup) reloads nothing.
	loaded, _ := readPipeline(l.path)
	var all engine.Summary
	for n := 1; ; n++ {
		res, next, text := l.runUntilReload(ctx, r, n, hup, changed, loaded)
		addSummary(&all, res.sum)
		switch {
		case next == nil, res.err != nil, !res.sum.Stopped, ctx.Err() != nil:
			// The run ended by itself (exhausted, failed) or by a
			// signal: it is the last one. A run that completed while it
			// was being drained cleared its checkpoints: a new one would
			// read everything again, so it is the last one too.
			l.finish(res.sum, n, all, true)
			return res.sum, res.err
		}
		l.finish(res.sum, n, all, false)
		opts := l.opts
		opts.FromStart = false // the next runs resume from the checkpoints
		nr, err := engine.NewRunner(next, opts)
		if err == nil {
			l.log.Info("pipeline reloaded", "path", l.path, "run", n+1)
			r, loaded = nr, text
			continue
		}
		l.log.Error("reload failed: the new pipeline could not start; starting the previous one again from its checkpoints", "path", l.path, "err", err)
		nr, err2 := engine.NewRunner(r.Plan(), opts)
		if err2 != nil {
			return res.sum, fmt.Errorf("reload: neither the new pipeline nor the previous one could start: %w", errors.Join(err, err2))
		}
		l.log.Info("previous pipeline restarted", "path", l.path, "run", n+1)
		r = nr
	}
}

// runUntilReload runs r until it ends, or until a reload brings a valid
// new plan: then r is drained and next is that plan, text its file's
// contents.
func (l *runLoop) runUntilReload(ctx context.Context, r *engine.Runner, n int, hup <-chan os.Signal, changed <-chan struct{}, loaded []byte) (res runResult, next *engine.Plan, text []byte) {
	if l.srv != nil {
		l.srv.SetRunner(r)
	}
	stopProgress := func() {}
	if l.progress > 0 && !l.quiet {
		stopProgress = startProgress(l.out, r, l.progress)
	}
	done := make(chan runResult, 1)
	go func() {
		sum, err := r.Run(ctx)
		done <- runResult{sum, err}
	}()
	defer func() {
		if l.srv != nil {
			l.srv.RunEnded()
		}
		stopProgress() // no progress line after the summary
		_ = l.flush()
	}()
	for {
		var trigger string
		select {
		case res := <-done:
			return res, nil, nil
		case <-hup:
			trigger = "SIGHUP"
		case <-changed:
			trigger = "file changed"
		}
		next, text = l.reload(trigger, loaded)
		if next == nil {
			continue
		}
		l.log.Info("reloading: draining the running pipeline", "path", l.path, "trigger", trigger, "run", n)
		r.Drain()
		return <-done, next, text
	}
}

// reload reads and compiles the pipeline file: the new plan, or nil when
// the file is invalid (reported) or, for a file event, unchanged.
func (l *runLoop) reload(trigger string, loaded []byte) (*engine.Plan, []byte) {
	text, err := readPipeline(l.path)
	if err == nil && trigger != "SIGHUP" && bytes.Equal(text, loaded) {
		l.log.Debug("pipeline file unchanged: nothing to reload", "path", l.path)
		return nil, nil
	}
	var pl *engine.Plan
	if err == nil {
		var p *engine.Pipeline
		if p, err = engine.ParseWith(l.path, text, l.parse); err == nil {
			pl, err = p.Compile()
		}
	}
	if err == nil {
		return pl, text
	}
	const msg = "reload refused: the pipeline file is invalid; the running pipeline goes on"
	var issues engine.Issues
	if !errors.As(err, &issues) {
		l.log.Error(msg, "path", l.path, "trigger", trigger, "err", err)
		return nil, nil
	}
	for _, is := range issues {
		l.log.Error(msg, "path", l.path, "trigger", trigger, "problem", is.Error())
	}
	return nil, nil
}

// readPipeline reads the pipeline file as engine.Load does: at most
// engine.MaxPipelineBytes. Reload parses these very bytes, so that what
// runs is what was compared with the running plan's text.
func readPipeline(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, engine.MaxPipelineBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	if len(data) > engine.MaxPipelineBytes {
		return nil, fmt.Errorf("read pipeline %s: larger than %d MiB: not a pipeline file", path, engine.MaxPipelineBytes>>20)
	}
	return data, nil
}

// finish prints a run's summary; the last of several runs is followed by
// the totals of all of them.
func (l *runLoop) finish(s engine.Summary, n int, all engine.Summary, last bool) {
	if !last {
		l.log.Info("run ended for a reload", "run", n)
	} else if n > 1 {
		l.log.Info("run ended", "run", n, "of", n)
	}
	if !last && !s.Balanced() {
		fmt.Fprintf(l.out.w, "warning: %d records unaccounted for (run %d)\n", s.InFlight, n)
	}
	if l.quiet {
		return
	}
	l.out.summary(s)
	if last && n > 1 {
		l.out.total(all, n)
	}
}

// addSummary adds a run's record counts to the totals of all runs.
func addSummary(all *engine.Summary, s engine.Summary) {
	all.In += s.In
	all.Delivered += s.Delivered
	all.Filtered += s.Filtered
	all.Dropped += s.Dropped
	all.DeadLettered += s.DeadLettered
	all.Unprocessed += s.Unprocessed
	all.InFlight += s.InFlight
	all.Late += s.Late
	all.Skipped += s.Skipped
	all.Elapsed += s.Elapsed
	all.Stopped = s.Stopped
}

// total prints the record counts of all the runs of a reloaded pipeline.
func (o *runOutput) total(s engine.Summary, runs int) {
	if o.json != nil {
		o.json.Info("summary of all runs", "runs", runs, "in", s.In, "delivered", s.Delivered, "filtered", s.Filtered,
			"dropped", s.Dropped, "dead_lettered", s.DeadLettered, "unprocessed", s.Unprocessed, "in_flight", s.InFlight,
			"late", s.Late, "balanced", s.Balanced(), "elapsed_seconds", s.Elapsed.Seconds())
		return
	}
	fmt.Fprintf(o.w, "summary: all %d runs: %s\n", runs, s)
}

// fileWatcher reports, on C, changes of one file: debounced, coalesced
// (C holds at most one pending change).
type fileWatcher struct {
	C    <-chan struct{}
	w    *fsnotify.Watcher
	done chan struct{}
}

// watchFile watches the file at path. It watches the file's directory,
// not the file: editors save by writing a new file and renaming it over
// the old one, which a watch on the old file would not see. Events for
// other files in the directory are ignored, except, when path is a
// symbolic link, for the first element of its target (a Kubernetes
// ConfigMap volume swaps its "..data" link).
func watchFile(path string, debounce time.Duration, log *slog.Logger) (*fileWatcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	names := map[string]bool{abs: true}
	if target, err := os.Readlink(abs); err == nil && !filepath.IsAbs(target) {
		first, _, _ := strings.Cut(filepath.ToSlash(filepath.Clean(target)), "/")
		if first != ".." && first != "." {
			names[filepath.Join(dir, first)] = true
		}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return nil, err
	}
	c := make(chan struct{}, 1)
	fw := &fileWatcher{C: c, w: w, done: make(chan struct{})}
	go func() {
		defer close(fw.done)
		t := time.NewTimer(time.Hour)
		t.Stop()
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if !names[filepath.Clean(ev.Name)] || ev.Op == fsnotify.Chmod {
					continue
				}
				t.Reset(debounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("--watch: watching the pipeline file", "err", err)
			case <-t.C:
				select {
				case c <- struct{}{}:
				default: // a change is pending already
				}
			}
		}
	}()
	return fw, nil
}

// Close stops watching.
func (fw *fileWatcher) Close() error {
	err := fw.w.Close()
	<-fw.done
	return err
}
