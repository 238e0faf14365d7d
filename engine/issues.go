package engine

import (
	"cmp"
	"errors"
	"slices"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
)

// Issue is one problem found while loading or compiling a pipeline: where it
// is in the user's file and what is wrong. Detail, when not empty, is extra
// text shown under the message (a CEL expression with a caret under the
// problem).
type Issue struct {
	Pos    Position
	Msg    string
	Detail string
}

// Error returns "file:line:col: msg", followed by the detail lines.
func (i Issue) Error() string {
	s := i.Pos.String()
	if s != "" {
		s += ": "
	}
	s += i.Msg
	if i.Detail != "" {
		s += "\n" + i.Detail
	}
	return s
}

// Issues is every problem found in a pipeline, sorted by position: what
// Load, Parse and Compile return when a pipeline is invalid, so that a tool
// (an editor, a linter) can inspect each one instead of parsing text. Use
// errors.As to get it.
type Issues []Issue

// Error returns one issue per line (detail lines follow their issue).
func (is Issues) Error() string {
	var b strings.Builder
	for i, x := range is {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(x.Error())
	}
	return b.String()
}

// issuesOf converts the errors collected while compiling into sorted
// Issues, or nil when there are none.
func issuesOf(errs []error) error {
	var out Issues
	var add func(err error)
	add = func(err error) {
		var de *decode.Error
		var ce *conditions.Error
		var is Issues
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				add(e)
			}
			return
		}
		switch {
		case err == nil:
		case errors.As(err, &is):
			out = append(out, is...)
		case errors.As(err, &de):
			out = append(out, Issue{Pos: de.Pos, Msg: de.Msg})
		case errors.As(err, &ce):
			out = append(out, Issue{Pos: Position{File: ce.File, Line: ce.Line, Col: ce.Col}, Msg: ce.Msg, Detail: ce.Snippet})
		default:
			out = append(out, Issue{Msg: err.Error()})
		}
	}
	for _, e := range errs {
		add(e)
	}
	if len(out) == 0 {
		return nil
	}
	for i := range out {
		out[i].Pos = overridePos(out[i].Pos)
	}
	slices.SortStableFunc(out, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col), cmp.Compare(a.Msg, b.Msg))
	})
	out = slices.CompactFunc(out, func(a, b Issue) bool { return a == b })
	return out
}
