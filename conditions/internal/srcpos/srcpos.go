// Package srcpos maps positions inside a decoded YAML scalar (an
// expression) back to line and column in the YAML file it came from.
//
// With the file's text, the mapping is exact: the scalar is re-read from
// the file character by character (quotes, escapes, block indentation and
// line folding included) and every character of the decoded value is tied
// to the file position it came from. Without the text, or when the re-read
// does not reproduce the value, positions are computed arithmetically
// from where the scalar starts.
package srcpos

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Pos is a 1-based line and column (in characters).
type Pos struct{ Line, Col int }

// Map translates expression positions to file positions.
type Map struct {
	value  string
	start  Pos
	quoted bool
	block  bool
	exact  []Pos // per rune of value, when the file text was available
	end    Pos   // the position just after the last rune, when exact
}

// New returns the map for value, the decoded text of a scalar that starts
// at start in a file (the opening quote of a quoted scalar, the | or >
// indicator of a block scalar). text is the whole file, or nil.
func New(value string, start Pos, quoted, block bool, text []byte) Map {
	m := Map{value: value, start: start, quoted: quoted, block: block}
	if text != nil && start.Line > 0 && start.Col > 0 {
		m.exact, m.end = exact(value, start, text)
	}
	return m
}

// Exact reports whether positions come from re-reading the file text.
func (m Map) Exact() bool { return m.end.Line > 0 }

// Pos returns the file position of the character at line (1-based) and
// col (0-based, in characters) of the value.
func (m Map) Pos(line, col int) Pos {
	off, ok := runeOffset(m.value, line, col)
	if m.end.Line > 0 {
		if ok && off < len(m.exact) {
			return m.exact[off]
		}
		return m.end
	}
	if m.start.Line <= 0 {
		return Pos{Line: line, Col: col + 1}
	}
	switch {
	case m.block:
		// Without the text the block's indentation is unknown: columns
		// are relative to it.
		return Pos{Line: m.start.Line + line, Col: col + 1}
	case line == 1:
		c := m.start.Col + col
		if m.quoted {
			c++
		}
		return Pos{Line: m.start.Line, Col: c}
	default:
		return Pos{Line: m.start.Line + line - 1, Col: col + 1}
	}
}

// runeOffset returns the rune index in s of (line, col).
func runeOffset(s string, line, col int) (int, bool) {
	off, l := 0, 1
	for l < line {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return 0, false
		}
		off += utf8.RuneCountInString(s[:i+1])
		s = s[i+1:]
		l++
	}
	if col < 0 {
		return 0, false
	}
	if end := strings.IndexByte(s, '\n'); end >= 0 {
		s = s[:end+1]
	}
	if col > utf8.RuneCountInString(s) {
		return 0, false
	}
	return off + col, true
}

// cursor walks the file text keeping track of line and column.
type cursor struct {
	text []byte
	i    int
	pos  Pos
}

func (c *cursor) eof() bool { return c.i >= len(c.text) }

func (c *cursor) peek() (rune, int) {
	if c.eof() {
		return utf8.RuneError, 0
	}
	return utf8.DecodeRune(c.text[c.i:])
}

func (c *cursor) next() rune {
	r, n := c.peek()
	if n == 0 {
		return r
	}
	c.i += n
	if r == '\n' {
		c.pos.Line++
		c.pos.Col = 1
	} else {
		c.pos.Col++
	}
	return r
}

// seek positions the cursor at p, or reports false.
func seek(text []byte, p Pos) (*cursor, bool) {
	c := &cursor{text: text, pos: Pos{1, 1}}
	for c.pos.Line < p.Line {
		i := bytes.IndexByte(c.text[c.i:], '\n')
		if i < 0 {
			return nil, false
		}
		c.i += i + 1
		c.pos.Line++
	}
	for c.pos.Col < p.Col {
		if c.eof() {
			return nil, false
		}
		if r, _ := c.peek(); r == '\n' {
			return nil, false
		}
		c.next()
	}
	return c, true
}

// exact re-reads the scalar at start and ties each rune of value to the
// position it came from. It returns nil when the re-read does not
// reproduce value.
func exact(value string, start Pos, text []byte) ([]Pos, Pos) {
	c, ok := seek(text, start)
	if !ok {
		return nil, Pos{}
	}
	first, _ := c.peek()
	var out []Pos
	switch first {
	case '|', '>':
		out, ok = readBlock(c, value, first == '>')
	case '"', '\'':
		c.next()
		out, ok = readFlow(c, value, first)
	default:
		out, ok = readFlow(c, value, 0)
	}
	if !ok {
		return nil, Pos{}
	}
	return out, c.pos
}

// readFlow matches a plain (quote 0), single- or double-quoted scalar.
func readFlow(c *cursor, value string, quote rune) ([]Pos, bool) {
	out := make([]Pos, 0, len(value))
	for _, want := range value {
		for {
			if c.eof() {
				return nil, false
			}
			at := c.pos
			r, _ := c.peek()
			switch {
			case quote == '"' && r == '\\':
				c.next()
				if e, _ := c.peek(); e == '\n' {
					// Escaped line break: the break and the next
					// line's indentation vanish.
					c.next()
					skipBlanks(c)
					continue
				}
				got, ok := unescape(c)
				if !ok || got != want {
					return nil, false
				}
				out = append(out, at)
			case quote == '\'' && r == '\'':
				c.next()
				if e, _ := c.peek(); e != '\'' || want != '\'' {
					return nil, false
				}
				c.next()
				out = append(out, at)
			case r == want:
				c.next()
				if r == '\n' {
					skipBlanks(c)
				}
				out = append(out, at)
			case r == '\n' && want == ' ':
				// Line folding: a single break becomes a space.
				c.next()
				skipBlanks(c)
				out = append(out, at)
			case r == ' ' || r == '\t' || r == '\n' || r == '\r':
				c.next()
				continue
			default:
				return nil, false
			}
			break
		}
	}
	return out, true
}

func skipBlanks(c *cursor) {
	for {
		r, _ := c.peek()
		if r != ' ' && r != '\t' {
			return
		}
		c.next()
	}
}

// unescape decodes one double-quoted escape after the backslash.
func unescape(c *cursor) (rune, bool) {
	r := c.next()
	switch r {
	case '0':
		return 0, true
	case 'a':
		return '\a', true
	case 'b':
		return '\b', true
	case 't', '\t':
		return '\t', true
	case 'n':
		return '\n', true
	case 'v':
		return '\v', true
	case 'f':
		return '\f', true
	case 'r':
		return '\r', true
	case 'e':
		return 0x1b, true
	case ' ', '"', '/', '\\':
		return r, true
	case 'N':
		return 0x85, true
	case '_':
		return 0xa0, true
	case 'L':
		return 0x2028, true
	case 'P':
		return 0x2029, true
	case 'x', 'u', 'U':
		n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[r]
		var v rune
		for range n {
			d := c.next()
			switch {
			case d >= '0' && d <= '9':
				v = v<<4 | (d - '0')
			case d >= 'a' && d <= 'f':
				v = v<<4 | (d - 'a' + 10)
			case d >= 'A' && d <= 'F':
				v = v<<4 | (d - 'A' + 10)
			default:
				return 0, false
			}
		}
		return v, true
	}
	return 0, false
}

// readBlock matches a literal (|) or folded (>) block scalar: the header
// line is skipped, the indentation is that of the first non-empty line.
func readBlock(c *cursor, value string, folded bool) ([]Pos, bool) {
	for !c.eof() {
		if c.next() == '\n' {
			break
		}
	}
	indent := -1
	// Find the indentation without consuming: scan ahead.
	for j, col := c.i, 0; j < len(c.text); j++ {
		switch c.text[j] {
		case ' ':
			col++
			continue
		case '\n':
			col = 0
			continue
		}
		indent = col
		break
	}
	if indent < 0 {
		return nil, value == ""
	}
	skipIndent := func() {
		for n := 0; n < indent; n++ {
			if r, _ := c.peek(); r != ' ' {
				return
			}
			c.next()
		}
	}
	skipIndent()
	out := make([]Pos, 0, len(value))
	for _, want := range value {
		for {
			if c.eof() {
				return nil, false
			}
			at := c.pos
			r, _ := c.peek()
			switch {
			case r == want:
				c.next()
				if r == '\n' {
					skipIndent()
				}
				out = append(out, at)
			case folded && r == '\n' && want == ' ':
				c.next()
				skipIndent()
				out = append(out, at)
			case r == '\n':
				// A break dropped by folding or chomping.
				c.next()
				skipIndent()
				continue
			default:
				return nil, false
			}
			break
		}
	}
	return out, true
}
