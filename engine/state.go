package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/connectors/checkpoint"
)

// A run with a state directory keeps its sources' checkpoints in
// StateDir/<pipeline key>/checkpoints.db: one database per pipeline, so
// that two pipelines never wait for each other's lock, while a second run
// of the same pipeline is refused (it would race the first one's
// checkpoints). The key is the pipeline id with a hash of the pipeline
// file's absolute path: two files that happen to share an id do not share
// checkpoints.

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// stateKey names a pipeline in a state directory.
func stateKey(p *Pipeline) string {
	id := unsafeName.ReplaceAllString(p.ID, "_")
	file := p.File
	if abs, err := filepath.Abs(file); err == nil && file != "" {
		file = abs
	}
	sum := sha256.Sum256([]byte(p.ID + "\x00" + file))
	return id + "-" + hex.EncodeToString(sum[:6])
}

// openState opens the pipeline's checkpoint store when the run has a
// state directory, clears it with FromStart, and refuses to resume an
// interrupted run into a sink that would truncate what that run wrote.
func (r *Runner) openState() error {
	if r.opts.StateDir == "" {
		return nil
	}
	r.statePipe = stateKey(r.pl.p)
	st, err := checkpoint.Open(filepath.Join(r.opts.StateDir, r.statePipe))
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	r.state = st
	fail := func(err error) error {
		_ = st.Close()
		r.state = nil
		return err
	}
	var resuming []string
	for _, n := range r.pl.sources {
		if r.opts.FromStart {
			if err := st.Clear(r.statePipe, n.id); err != nil {
				return fail(err)
			}
			continue
		}
		saved, err := st.For(r.statePipe, n.id).Load()
		if err != nil {
			return fail(fmt.Errorf("source %q: checkpoint: %w", n.id, err))
		}
		if saved != nil {
			resuming = append(resuming, n.id)
		}
	}
	if len(resuming) == 0 {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(r.pl.services)) {
		sv := r.pl.services[name]
		if t, ok := sv.cfg.(connectors.Truncater); ok && t.Truncates() {
			return fail(fmt.Errorf("%s: source %s would resume an interrupted run from its checkpoint, but service %q truncates its output when it opens, erasing what that run wrote: set append: true on it, or start again with --from-start (state in %s)",
				r.pl.p.pos(sv.svc.At), strings.Join(quoteAll(resuming), ", "), name, st.Dir()))
		}
	}
	r.log.Info("resuming from checkpoints", "sources", resuming, "state", st.Dir())
	return nil
}

// closeState closes the checkpoint store, after the sources' last saves.
// A run that read every source to its end and handled every record first
// forgets its checkpoints, so the next run starts from the beginning;
// endless sources (follow mode) keep theirs.
func (r *Runner) closeState(complete bool) error {
	if r.state == nil {
		return nil
	}
	defer func() { _ = r.state.Close() }()
	if !complete {
		return nil
	}
	for _, n := range r.pl.sources {
		if e, ok := n.sourceCfg.(connectors.Endless); ok && e.Endless() {
			continue
		}
		if err := r.state.Clear(r.statePipe, n.id); err != nil {
			return err
		}
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
