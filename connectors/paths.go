package connectors

import (
	"os"
	"path/filepath"
	"strings"
)

var _ PathUser = (*FileSourceConfig)(nil)

// Paths returns the file or glob the source reads, absolute and cleaned;
// none for standard input ("-").
func (c *FileSourceConfig) Paths(baseDir string) (reads, writes []string) {
	if c.Path == "-" || c.Path == "" {
		return nil, nil
	}
	return []string{absPath(baseDir, c.Path)}, nil
}

// absPath is p resolved against baseDir (or, when baseDir is empty or
// itself relative, the working directory), cleaned.
func absPath(baseDir, p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// hasGlobMeta reports whether the file source reads p as a glob.
func hasGlobMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// Overlaps reports whether a file source reading glob (a glob, or a plain
// path when it has none of * ? [) can read the file at path, a sink's
// output: a glob when filepath.Match says it matches, a plain path when
// SameFile says it is the same file. Both are cleaned, and each is also
// tried with symbolic links resolved as far as they exist (the glob's
// directory when it has no wildcard), so a link to an output directory does
// not hide the output. A malformed glob matches nothing (the file source's
// own check rejects it).
//
// Two sinks writing one file is Overlaps(pathA, pathB) with plain paths.
func Overlaps(glob, path string) bool {
	glob, path = filepath.Clean(glob), filepath.Clean(path)
	if !hasGlobMeta(glob) {
		return SameFile(glob, path)
	}
	globs := []string{glob}
	if dir, base := filepath.Split(glob); !hasGlobMeta(dir) {
		if r := resolve(filepath.Clean(dir)); r != filepath.Clean(dir) {
			globs = append(globs, filepath.Join(r, base))
		}
	}
	paths := []string{path}
	if r := resolve(path); r != path {
		paths = append(paths, r)
	}
	for _, g := range globs {
		for _, p := range paths {
			if ok, err := filepath.Match(g, p); err == nil && ok {
				return true
			}
		}
	}
	return false
}

// SameFile reports whether the plain paths a and b name one file: equal
// once cleaned and with symbolic links resolved as far as they exist, or,
// where both exist, one file by os.SameFile (hard links).
func SameFile(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	if a == b || resolve(a) == resolve(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// resolve is p with symbolic links evaluated: p itself when it exists,
// else its nearest existing ancestor, with the rest of p appended (an
// output file not created yet, in a directory reached through a link).
func resolve(p string) string {
	var rest []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		dir, base := filepath.Split(p)
		dir = filepath.Clean(dir)
		if dir == p || base == "" {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{base}, rest...)
		p = dir
	}
}
