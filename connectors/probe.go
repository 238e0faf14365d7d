package connectors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Probing is what `validate` does beyond Check: it looks at the
// environment a run would meet (the files a source reads exist, the
// directory a sink writes can be written, a lookup table loads) without
// creating, truncating or writing anything. A connector opts in with
// Spec.Probe; a spec without one is taken to need nothing from the
// environment.
//
// Probe is given the decoded config (already through Check) and the Env a
// run would build it with, minus standard streams and checkpoints; for a
// lookup service, Env.LookupFields lists the field combinations the
// pipeline's lookup stages key it by. It may read (open a file, load a
// table into memory and drop it) but must leave no trace. Its error says
// what a run would fail with; the engine adds where in the pipeline.

// ProbeSpec runs s.Probe on cfg, or returns nil when s has none.
func ProbeSpec(s Spec, cfg any, env Env) error {
	if s.Probe == nil {
		return nil
	}
	return s.Probe(cfg, env)
}

// Access modes of access(2): POSIX fixes their values.
const (
	accessRead  = 4
	accessWrite = 2
	accessExec  = 1
)

// CanWrite reports, without creating or writing anything, whether path can
// be written by this process: a file that exists must be writable; one that
// does not must be creatable, in a directory that exists and is writable,
// or, when directories are missing, whose nearest existing ancestor is a
// writable directory (so that they can be created as a run would). dir
// says path itself is a directory (a state directory) rather than a file.
func CanWrite(path string, dir bool) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil:
		if fi.IsDir() != dir {
			if dir {
				return fmt.Errorf("%s is not a directory", path)
			}
			return fmt.Errorf("%s is a directory", path)
		}
		if err := access(path, accessWrite); err != nil {
			return fmt.Errorf("%s is not writable: %w", path, err)
		}
		return nil
	case !missing(err):
		return err // EACCES on the way: what a run would hit
	}
	// Find the nearest existing ancestor: it must be a writable directory.
	anc := filepath.Dir(path)
	for {
		fi, err := os.Stat(anc)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("cannot create %s: %s is not a directory", path, anc)
			}
			if err := access(anc, accessWrite|accessExec); err != nil {
				if anc == filepath.Dir(path) {
					return fmt.Errorf("cannot create %s: directory %s is not writable: %w", path, anc, err)
				}
				return fmt.Errorf("cannot create %s: %s does not exist and %s is not writable: %w", path, filepath.Dir(path), anc, err)
			}
			return nil
		}
		if !missing(err) {
			return fmt.Errorf("cannot create %s: %w", path, err)
		}
		up := filepath.Dir(anc)
		if up == anc {
			return fmt.Errorf("cannot create %s: no ancestor exists", path)
		}
		anc = up
	}
}

// missing reports whether err says a path does not exist, or that a
// file stands where a directory on its way should be (ENOTDIR): the
// nearest existing ancestor then says why.
func missing(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// canRead reports whether the file at path can be opened for reading:
// it exists, is not a directory, and this process may read it. It does
// not open it (a named pipe would wait for a writer).
func canRead(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	if err := access(path, accessRead); err != nil {
		return fmt.Errorf("%s is not readable: %w", path, err)
	}
	return nil
}

// probeFileSource finds the files the source would read, as a run does
// (the file exists; a glob matches at least one), and checks that each can
// be read. Standard input (-) needs nothing.
func probeFileSource(cfg any, env Env) error {
	c := cfg.(*FileSourceConfig)
	if c.Path == "-" {
		return nil
	}
	env.Stdin = strings.NewReader("") // what Build needs for "-"; unused
	env.Checkpoints = nil
	s, err := newFileSource(c, env) // Stat and Glob only: nothing is opened
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range s.files {
		if err := canRead(f); err != nil {
			errs = append(errs, fmt.Errorf("input file: %w", err))
		}
	}
	return errors.Join(errs...)
}

// probeFileSink checks that the sink's file could be opened for writing
// (created, with its parent directories) without opening it.
func probeFileSink(cfg any, env Env) error {
	c := cfg.(*FileSinkConfig)
	p := c.Path
	if !filepath.IsAbs(p) && env.BaseDir != "" {
		p = filepath.Join(env.BaseDir, p)
	}
	if err := CanWrite(p, false); err != nil {
		return fmt.Errorf("output file: %w", err)
	}
	return nil
}

// probeStaticLookup loads the table into memory, indexes it by every field
// combination the pipeline looks it up by, and drops it. A combination no
// row of a non-empty table has is reported: every lookup would miss.
func probeStaticLookup(cfg any, env Env) error {
	s, err := NewStaticLookup(cfg.(*StaticLookupConfig), env.BaseDir)
	if err != nil {
		return err
	}
	defer s.Close()
	var errs []error
	for _, fields := range env.LookupFields {
		if err := s.LookupBatch(context.Background(), fields, nil, nil); err != nil {
			errs = append(errs, err)
			continue
		}
		if idx, _ := s.index(fields); len(idx) == 0 && s.Len() > 0 {
			errs = append(errs, fmt.Errorf("static lookup: none of the table's %d rows has %s: every lookup would miss",
				s.Len(), strings.Join(quoted(fields), " and ")))
		}
	}
	return errors.Join(errs...)
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
