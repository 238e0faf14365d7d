package jsonsplice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Path is a parsed dot path ("user.address.city"): the member names from
// the document's top-level object down. The zero Path is not usable; make
// one with ParsePath. A Path is immutable and safe for concurrent use.
type Path struct {
	segs []string
	keys [][]byte // segs[i] as a JSON string literal, with its quotes
	text string
}

// ParsePath parses a dot path. Member names are taken literally (no
// escapes, no array indexes): a path is valid unless it is empty, has an
// empty segment ("a..b", ".a") or is not UTF-8.
func ParsePath(path string) (Path, error) {
	if path == "" {
		return Path{}, errors.New("empty field path")
	}
	segs := strings.Split(path, ".")
	if !utf8.ValidString(path) {
		return Path{}, fmt.Errorf("bad field path %q", path)
	}
	p := Path{segs: segs, keys: make([][]byte, len(segs)), text: path}
	for i, s := range segs {
		if s == "" {
			return Path{}, fmt.Errorf("bad field path %q", path)
		}
		p.keys[i] = appendString(nil, s)
	}
	return p, nil
}

// MustParsePath is ParsePath for paths known to be valid; it panics on a
// bad one.
func MustParsePath(path string) Path {
	p, err := ParsePath(path)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the path as it was parsed.
func (p Path) String() string { return p.text }

// Segments returns the member names of the path. The caller must not modify
// the slice.
func (p Path) Segments() []string { return p.segs }

// Overhead bounds what AppendSet adds to a document besides the value: a
// comma, and per segment its quoted name, a colon and a pair of braces.
// len(doc)+len(val)+p.Overhead() bytes of capacity in dst after its length
// make AppendSet allocate nothing.
func (p Path) Overhead() int {
	n := 1
	for _, k := range p.keys {
		n += len(k) + 3
	}
	return n
}

// NotObjectError reports that the document, or a member on the path,
// holds a value that is not a JSON object, so the path cannot be set.
type NotObjectError struct {
	// Path is the dot path of the member that is not an object; empty for
	// the document itself.
	Path string
}

func (e *NotObjectError) Error() string {
	if e.Path == "" {
		return "not an object"
	}
	return fmt.Sprintf("%q holds a value that is not an object", e.Path)
}

// SyntaxError reports a document that is not valid JSON where AppendSet
// reads it (AppendSet does not validate the parts it skips).
type SyntaxError struct {
	Offset int // byte offset in the document
	msg    string
}

func (e *SyntaxError) Error() string { return e.msg }

func syntaxError(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, msg: fmt.Sprintf(format, args...)}
}

// AppendSet appends to dst the JSON object doc with the member at path p
// set to val, and returns the extended buffer.
//
//   - An existing member is replaced in place (the first one, when a name
//     repeats, as the engine's parser reads the first).
//   - A missing member is appended to its object, after its last member;
//     missing objects on the way are created.
//   - A value on the way that is not an object, or a doc that is not an
//     object, is a *NotObjectError; doc that is not JSON where it is read,
//     a *SyntaxError. On an error dst is returned unchanged.
//
// Every byte of doc outside the replaced value (or at the insertion point)
// is kept as it is. doc should be valid JSON (only the members on the path
// are checked) and val must be one valid JSON value: AppendSet copies it
// as it is.
func (p Path) AppendSet(dst, doc, val []byte) ([]byte, error) {
	a, b, missing, comma, err := p.locate(doc)
	if err != nil {
		return dst, err
	}
	return p.splice(dst, doc, a, b, missing, comma, val), nil
}

// AppendNew is AppendSet for a doc whose top-level object the caller knows
// not to hold the path's first member (it parsed doc already): it appends
// the member before the closing brace without reading the members. empty
// tells whether the object has no members. doc must be a valid JSON
// object.
func (p Path) AppendNew(dst, doc []byte, empty bool, val []byte) []byte {
	a := bytes.LastIndexByte(doc, '}')
	if a < 0 {
		a = len(doc)
	}
	return p.splice(dst, doc, a, a, len(p.segs), !empty, val)
}

// splice writes doc with doc[a:b] replaced by val, or, when missing > 0,
// with the last missing segments and val inserted at a (after a comma).
func (p Path) splice(dst, doc []byte, a, b, missing int, comma bool, val []byte) []byte {
	dst = append(dst, doc[:a]...)
	if missing > 0 {
		if comma {
			dst = append(dst, ',')
		}
		for k, key := range p.keys[len(p.keys)-missing:] {
			if k > 0 {
				dst = append(dst, '{')
			}
			dst = append(dst, key...)
			dst = append(dst, ':')
		}
	}
	dst = append(dst, val...)
	for k := 1; k < missing; k++ {
		dst = append(dst, '}')
	}
	return append(dst, doc[b:]...)
}

// locate finds where the path goes in doc: doc[a:b] is the member's value,
// or, when missing > 0, a == b is the insertion point of the last missing
// segments (after a comma when comma is set).
func (p Path) locate(doc []byte) (a, b, missing int, comma bool, err error) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return 0, 0, 0, false, &NotObjectError{}
	}
	for depth := 0; ; depth++ {
		// doc[i] is the '{' of the object that holds segs[depth].
		vs, ve, last, members, err := member(doc, i+1, p.segs[depth], p.keys[depth])
		if err != nil {
			return 0, 0, 0, false, err
		}
		if vs < 0 {
			return last, last, len(p.segs) - depth, members, nil
		}
		if depth == len(p.segs)-1 {
			return vs, ve, 0, false, nil
		}
		if doc[vs] != '{' {
			return 0, 0, 0, false, &NotObjectError{Path: strings.Join(p.segs[:depth+1], ".")}
		}
		i = vs
	}
}

// member looks for the member name in the object whose members start at
// doc[i:]: its value is doc[vs:ve]; vs < 0 when the object has none, and
// then last is the offset after the last member's value (or after the
// '{') and members tells whether there is one.
func member(doc []byte, i int, name string, key []byte) (vs, ve, last int, members bool, err error) {
	last = i
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return 0, 0, 0, false, syntaxError(i, "unterminated object")
		}
		switch doc[i] {
		case '}':
			return -1, 0, last, members, nil
		case ',':
			i++
			continue
		case '"':
		default:
			return 0, 0, 0, false, syntaxError(i, "unexpected %q at offset %d", doc[i], i)
		}
		ks := i
		var escaped bool
		if i, escaped, err = scanString(doc, i); err != nil {
			return 0, 0, 0, false, err
		}
		match := keyIs(doc[ks:i], escaped, name)
		i = skipSpace(doc, i)
		if i >= len(doc) || doc[i] != ':' {
			return 0, 0, 0, false, syntaxError(i, "expected ':' at offset %d", i)
		}
		i = skipSpace(doc, i+1)
		vs := i
		if i, err = skipValue(doc, i); err != nil {
			return 0, 0, 0, false, err
		}
		if match {
			return vs, i, 0, false, nil
		}
		last, members = i, true
	}
}

// keyIs reports whether the JSON string literal raw (with its quotes;
// escaped tells whether it has a backslash) is name.
func keyIs(raw []byte, escaped bool, name string) bool {
	if !escaped {
		return string(raw[1:len(raw)-1]) == name
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == name
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the offset after the string literal at doc[i].
func skipString(doc []byte, i int) (int, error) {
	end, _, err := scanString(doc, i)
	return end, err
}

// scanString returns the offset after the string literal at doc[i] and
// whether it has an escape sequence.
func scanString(doc []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
			escaped = true
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, syntaxError(i, "unterminated string at offset %d", i)
}

// skipValue returns the offset after the JSON value at doc[i].
func skipValue(doc []byte, i int) (int, error) {
	if i >= len(doc) {
		return 0, syntaxError(i, "missing value at offset %d", i)
	}
	switch doc[i] {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '"':
				e, err := skipString(doc, j)
				if err != nil {
					return 0, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, syntaxError(i, "unterminated value at offset %d", i)
	}
	j := i
scan:
	for ; j < len(doc); j++ {
		switch doc[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			break scan
		}
	}
	if j == i {
		return 0, syntaxError(i, "missing value at offset %d", i)
	}
	return j, nil
}

// appendString appends s as a JSON string literal (control characters and
// the quote and backslash escaped; s is UTF-8).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
