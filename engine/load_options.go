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
	p, err := ParseWith(path, data, o)
	if err != nil {
		return nil, err
	}
	return p.Compile()
}

// ParseWith is Parse with options.
func ParseWith(file string, data []byte, o ParseOptions) (*Pipeline, error) {
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
	if err := issuesOf(errs); err != nil {
		return nil, err
	}
	return p, nil
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
