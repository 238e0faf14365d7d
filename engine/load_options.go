package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/interp"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/override"
	"go.yaml.in/yaml/v3"
)

// ParseOptions says what, besides its text, goes into a pipeline: the
// environment that ${VAR} references read and overrides of single values.
// The zero ParseOptions reads the process environment and overrides
// nothing (what Load and Parse do).
//
// References are expanded in scalar values (never in keys) after the file
// is parsed, so positions stay those of the file: ${VAR} is the variable's
// value, ${VAR:default} the default when VAR is unset or empty, and $${
// writes a literal ${. An unset variable without a default is an Issue at
// the reference. An unquoted scalar is typed after expansion
// (`batch_size: ${N}` is an integer); a quoted one stays a string.
type ParseOptions struct {
	// Env looks up a variable: its value and whether it is set. Nil:
	// os.LookupEnv.
	Env func(name string) (value string, ok bool)
	// Sets are overrides, "path=value", applied in order; their values
	// are not expanded, and a value they replace needs no variable. A path is
	// keys separated by dots; in a list, a segment is the name or id of an
	// element, or its index (sources.in.path, stages.keep.condition,
	// edges.0.to, settings.batch_size). The value is YAML: 10 is an
	// integer, '"10"' a string, [a, b] a list. A missing key is added, so
	// that an unknown one is reported like one in the file. Problems are
	// Issues in the file "--set[N]" (N counts from 1), line 1, at the
	// column of the argument.
	Sets []string
}

// LoadWith is Load with options: it reads the pipeline file at path,
// expands its environment references, applies the overrides, and compiles
// it.
func LoadWith(path string, o ParseOptions) (*Plan, error) {
	data, err := readPipelineFile(path)
	if err != nil {
		return nil, err
	}
	return loadData(path, data, o)
}

// ParseWith is Parse with options.
func ParseWith(file string, data []byte, o ParseOptions) (*Pipeline, error) {
	r, err := parse(file, data, o)
	if err != nil {
		return nil, err
	}
	if err := issuesOf(r.errs); err != nil {
		return nil, err
	}
	return r.p, nil
}

// parsed is what parse decoded: the pipeline, as far as it decoded, the
// problems found on the way, and where they are.
type parsed struct {
	p    *Pipeline
	errs []error
	root *yaml.Node
}

// parse reads, expands, overrides and decodes a pipeline. Its error is one
// that leaves nothing to decode (a syntax error, an empty file); problems
// in the values are in errs, the pipeline holding what decoded.
func parse(file string, data []byte, o ParseOptions) (*parsed, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, syntaxError(file, err)
	}
	root := decode.Resolve(&doc)
	if root == nil {
		return nil, fmt.Errorf("%s: empty pipeline file", file)
	}
	env := o.Env
	if env == nil {
		env = os.LookupEnv
	}
	var errs []error
	for i, s := range o.Sets {
		if err := override.Apply(root, s, setLine(i+1)); err != nil {
			var oe *override.Error
			if !errors.As(err, &oe) {
				return nil, err
			}
			errs = append(errs, &decode.Error{Pos: Position{File: setFile(i + 1), Line: 1, Col: oe.Col}, Msg: oe.Msg})
		}
	}
	// Overrides first: a value they replace needs no variable, and the
	// values they bring are not expanded.
	bad := map[int]bool{} // lines of references that could not be expanded
	fromSet := func(n *yaml.Node) bool { return isSetLine(n.Line) }
	for _, pr := range interp.Tree(root, env, data, fromSet) {
		errs = append(errs, &decode.Error{Pos: Position{File: file, Line: pr.Line, Col: pr.Col}, Msg: pr.Msg})
		bad[pr.Line] = true
	}
	d := &decode.Decoder{File: file}
	p := &Pipeline{}
	d.Decode(root, p)
	for _, err := range d.Errs {
		// A value left unexpanded is reported once, as such, not also as
		// a value of the wrong type.
		var de *decode.Error
		if errors.As(err, &de) && de.Pos.File == file && bad[de.Pos.Line] {
			continue
		}
		errs = append(errs, err)
	}
	p.File, p.text = file, data
	return &parsed{p: p, errs: errs, root: root}, nil
}

// loadData parses and compiles a pipeline file's contents, reporting the
// problems of both in one pass: a value that does not decode does not hide
// the problems Compile finds elsewhere. What Compile would say about a
// mapping (a source, service, stage, edge, the settings) holding a value
// that did not decode is a consequence of it (a required key misspelt
// reads as a missing one) and is left out, and so are the checks of the
// whole graph (an edge that did not decode leaves stages unreachable).
func loadData(file string, data []byte, o ParseOptions) (*Plan, error) {
	r, err := parse(file, data, o)
	if err != nil {
		return nil, err
	}
	if len(r.errs) == 0 {
		return r.p.Compile()
	}
	errs := r.errs
	tainted := taintedNodes(r.root, r.errs, file)
	lost := partial{some: true}
	for i := 0; i+1 < len(r.root.Content); i += 2 {
		k, v := r.root.Content[i], r.root.Content[i+1]
		// A list (or map) that did not decode, or an element of it that
		// did not decode as a mapping or whose name did not, loses names.
		gone := tainted[[2]int{v.Line, v.Column}] && v.Kind != yaml.SequenceNode && v.Kind != yaml.MappingNode
		for j, e := range v.Content {
			if v.Kind == yaml.MappingNode && j%2 == 0 || !tainted[[2]int{e.Line, e.Column}] {
				continue
			}
			gone = gone || e.Kind != yaml.MappingNode || k.Value == "sources" && !named(e, "name", tainted) ||
				k.Value == "stages" && !named(e, "id", tainted)
		}
		switch k.Value {
		case "sources", "stages":
			lost.nodes = lost.nodes || gone
		case "services":
			lost.services = lost.services || gone
		}
	}
	if _, err := compile(r.p, lost); err != nil {
		var is Issues
		if !errors.As(err, &is) {
			return nil, err
		}
		for _, x := range is {
			if x.Pos.File != file || !tainted[[2]int{x.Pos.Line, x.Pos.Col}] {
				errs = append(errs, Issues{x})
			}
		}
	}
	return nil, issuesOf(errs)
}

// named reports whether the mapping m has key with a value that decoded.
func named(m *yaml.Node, key string, tainted map[[2]int]bool) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			return v.Kind == yaml.ScalarNode && !tainted[[2]int{v.Line, v.Column}]
		}
	}
	return false
}

// taintedNodes returns the positions (line, column) of the nodes of the
// tree at root that are, or hold at any depth, a node errs are reported at.
func taintedNodes(root *yaml.Node, errs []error, file string) map[[2]int]bool {
	bad := map[[2]int]bool{}
	for _, err := range errs {
		var de *decode.Error
		if errors.As(err, &de) && de.Pos.File == file {
			bad[[2]int{de.Pos.Line, de.Pos.Col}] = true
		}
	}
	out := map[[2]int]bool{}
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		here := bad[[2]int{n.Line, n.Column}]
		for _, c := range n.Content {
			here = walk(c) || here
		}
		if here {
			out[[2]int{n.Line, n.Column}] = true
		}
		return here
	}
	walk(root)
	return out
}

// Nodes added by the Nth override (--set) are on line setLine(N), beyond
// any line of a pipeline file (at most MaxPipelineBytes long): issuesOf
// moves such positions to the override with overridePos.
const setLineBase = 1 << 25

func setLine(n int) int       { return n*setLineBase + 1 }
func setFile(n int) string    { return fmt.Sprintf("--set[%d]", n) }
func isSetLine(line int) bool { return line >= setLineBase }

// overridePos returns p moved to the override it is in (file --set[N],
// line 1), or p itself.
func overridePos(p Position) Position {
	if !isSetLine(p.Line) {
		return p
	}
	n := p.Line / setLineBase
	return Position{File: setFile(n), Line: p.Line - n*setLineBase, Col: p.Col}
}
