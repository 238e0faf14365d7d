package engine

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Load reads the pipeline file at path (YAML or JSON), decodes it into a
// Pipeline (Parse, environment references expanded from the process
// environment) and compiles that into a Plan (Compile). Every problem
// is reported at once, as Issues sorted by position (file:line:col:
// message): a value that does not decode does not hide what Compile
// finds in the rest of the file (what only follows from it is left out).
func Load(path string) (*Plan, error) {
	data, err := readPipelineFile(path)
	if err != nil {
		return nil, err
	}
	return loadData(path, data, ParseOptions{})
}

// MaxPipelineBytes bounds a pipeline file: `validate /dev/zero` must not
// read forever.
const MaxPipelineBytes = 16 << 20

// readPipelineFile reads at most MaxPipelineBytes of path.
func readPipelineFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPipelineBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	if len(data) > MaxPipelineBytes {
		return nil, fmt.Errorf("read pipeline %s: larger than %d MiB: not a pipeline file", path, MaxPipelineBytes>>20)
	}
	return data, nil
}

// Parse decodes a pipeline file's contents without compiling it. file is
// used in error positions and as the base for relative paths. Environment
// references (${VAR}, ${VAR:default}) are expanded from the process
// environment (see ParseOptions).
func Parse(file string, data []byte) (*Pipeline, error) {
	return ParseWith(file, data, ParseOptions{})
}

// syntaxError turns a YAML parser error ("yaml: line 3: ...") into
// file:line:col form.
func syntaxError(file string, err error) error {
	var line, col int
	msg := err.Error()
	if n, _ := fmt.Sscanf(msg, "yaml: line %d:", &line); n == 1 {
		_, rest, _ := bytes.Cut([]byte(msg), []byte(": "))
		_, rest, _ = bytes.Cut(rest, []byte(": "))
		return Issues{{Pos: Position{File: file, Line: line, Col: max(col, 1)}, Msg: "syntax error: " + string(rest)}}
	}
	return Issues{{Pos: Position{File: file}, Msg: "syntax error: " + err.Error()}}
}

// baseDir is the directory relative paths in the pipeline resolve against.
func (p *Pipeline) baseDir() string {
	if p.File == "" {
		return "."
	}
	return filepath.Dir(p.File)
}
