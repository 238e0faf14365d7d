package conditions

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"cel.dev/cel-go/cel"

	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/srcpos"
)

// Source says where an expression comes from in the user's configuration,
// so that errors point into that file. The zero Source positions errors
// relative to the expression itself.
type Source struct {
	// File is the file name used in messages ("pipeline.yaml").
	File string
	// Line and Col (1-based) are where the scalar holding the expression
	// starts, as yaml.Node reports it: the opening quote of a quoted
	// scalar, the | or > indicator of a block scalar.
	Line, Col int
	// Quoted says the scalar is single- or double-quoted.
	Quoted bool
	// Block says the scalar is a literal (|) or folded (>) block scalar.
	Block bool
}

// String returns "file:line:col".
func (s Source) String() string {
	f := s.File
	if f == "" {
		f = "<input>"
	}
	if s.Line <= 0 {
		return f
	}
	return fmt.Sprintf("%s:%d:%d", f, s.Line, s.Col)
}

// Error is a problem in a condition found at load time, positioned in the
// user's file.
type Error struct {
	// File, Line and Col locate the problem (1-based; Col counts
	// characters).
	File      string
	Line, Col int
	// Msg says what is wrong.
	Msg string
	// Snippet, when not empty, shows the expression line with a caret
	// under the problem, each line prefixed with " | ".
	Snippet string
}

// Error returns "file:line:col: msg" followed by the snippet, if any.
func (e *Error) Error() string {
	f := e.File
	if f == "" {
		f = "<input>"
	}
	s := fmt.Sprintf("%s:%d:%d: %s", f, e.Line, e.Col, e.Msg)
	if e.Snippet != "" {
		s += "\n" + e.Snippet
	}
	return s
}

// positioner turns expression positions into *Error values.
type positioner struct {
	expr string
	src  Source
	m    srcpos.Map
}

func (e *Env) positioner(expr string, src Source) *positioner {
	return &positioner{
		expr: expr,
		src:  src,
		m:    srcpos.New(expr, srcpos.Pos{Line: src.Line, Col: src.Col}, src.Quoted, src.Block, e.files[src.File]),
	}
}

// errorAt returns an *Error at line (1-based) and col (0-based,
// characters) of the expression.
func (p *positioner) errorAt(line, col int, msg string) *Error {
	pos := p.m.Pos(line, col)
	return &Error{File: p.src.File, Line: pos.Line, Col: pos.Col, Msg: msg, Snippet: snippet(p.expr, line, col)}
}

// fromIssues converts CEL issues into positioned errors.
func (p *positioner) fromIssues(iss *cel.Issues) error {
	var errs []error
	for _, ce := range iss.Errors() {
		line, col := ce.Location.Line(), ce.Location.Column()
		if line < 1 {
			line, col = 1, 0
		}
		if strings.HasPrefix(ce.Message, "undeclared reference to '") {
			col = identStart(p.expr, line, col)
		}
		errs = append(errs, p.errorAt(line, col, ce.Message))
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// identStart moves col back from the '.' of a qualified name
// (recrd.key), where CEL reports an undeclared reference, to the start of
// the name.
func identStart(expr string, line, col int) int {
	lines := strings.Split(expr, "\n")
	if line > len(lines) {
		return col
	}
	r := []rune(lines[line-1])
	if col >= len(r) || r[col] != '.' {
		return col
	}
	for col > 0 && (r[col-1] == '.' || r[col-1] == '_' || unicode.IsLetter(r[col-1]) || unicode.IsDigit(r[col-1])) {
		col--
	}
	return col
}

// snippet renders the expression line with CEL's caret: a dot for each
// character before the column (a wide dot under wide characters).
func snippet(expr string, line, col int) string {
	lines := strings.Split(expr, "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	l := strings.ReplaceAll(strings.TrimRight(lines[line-1], "\r"), "\t", " ")
	if len(l) > 4096 {
		return ""
	}
	var ind strings.Builder
	rest := l
	for i := 0; i < col && len(rest) > 0; i++ {
		_, sz := utf8.DecodeRuneInString(rest)
		rest = rest[sz:]
		if sz > 1 {
			ind.WriteString("\uff0e")
		} else {
			ind.WriteByte('.')
		}
	}
	if _, sz := utf8.DecodeRuneInString(rest); sz > 1 {
		ind.WriteString("\uff3e")
	} else {
		ind.WriteByte('^')
	}
	return " | " + l + "\n | " + ind.String()
}
