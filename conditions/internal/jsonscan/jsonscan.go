// Package jsonscan reads one field of a JSON document straight from its
// bytes, without parsing the document, and converts it exactly as the
// parsed path (fastjson, then internal/celval) would: the same string
// after unescaping, the same int or double for every number text. Where
// it cannot promise that (an escape fastjson treats specially, a number
// text it does not recognize, a string too long for the caller's buffer)
// it says so, and the caller falls back to the parse.
//
// The document must be well-formed JSON: the scan does not validate what
// it skips (on other input it gives wrong answers but never reads out of
// bounds).
package jsonscan

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/celval"
)

// Kind is the JSON type of a scanned value.
type Kind uint8

// The kinds of value Get returns.
const (
	Invalid Kind = iota // not found, or not decodable exactly: fall back
	String
	Int    // a JSON number that CEL sees as int
	Double // a JSON number that CEL sees as double
	Bool
	Null
	Object
	Array
)

// Value is one scanned value. Str may point into the document or into
// the buffer given to Get, so it is valid only as long as both are.
type Value struct {
	Kind  Kind
	Str   string
	Int   int64
	Float float64
	Bool  bool
}

// Get finds path in the well-formed document doc and converts its value.
// buf is scratch space for unescaping a string; a string that needs more
// room than buf has gives Invalid rather than allocate. Kind is Invalid
// when the path is not there (the caller falls back, so that the
// interpreter reports the missing key), and when the value cannot be
// converted exactly.
//
// Keys are compared as written. An object key with an escape before the
// match gives Invalid: fastjson matches a key as written first and
// unescapes keys only when that fails, so with duplicate keys which one
// it finds depends on how the key is written and on earlier lookups.
func Get(doc []byte, path []string, buf []byte) Value {
	i, ok := find(doc, path)
	if !ok {
		return Value{}
	}
	return decodeAt(doc, i, buf)
}

// GetTop is Get for several top-level members at once: one pass over doc
// finds each keys[k] (a one-key path PathOK accepts) and stores its value
// in out[k], with Get's answer for that key, except that a string holding
// an escape is Invalid (there is no buffer to decode it in; Str points
// into doc). It stops once every key is found. out must be at least as
// long as keys, and keys at most 64; duplicate keys are allowed.
func GetTop(doc []byte, keys []string, out []Value) {
	out = out[:len(keys)]
	clear(out)
	var found uint64
	all := uint64(1)<<len(keys) - 1
	i := skipWS(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return
	}
	i = skipWS(doc, i+1)
	for found != all {
		// As find: a member name with an escape ends the scan, so that
		// the keys not found yet go to the parse.
		if i >= len(doc) || doc[i] != '"' {
			return
		}
		end, esc, ok := scanString(doc, i)
		if !ok || esc {
			return
		}
		name := bytesString(doc[i+1 : end-1])
		i = skipWS(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return
		}
		i = skipWS(doc, i+1)
		if i >= len(doc) {
			return
		}
		for k, key := range keys {
			if found&(1<<k) == 0 && key == name {
				// The first member of that name is the one find
				// returns; a later duplicate never replaces it.
				found |= 1 << k
				out[k] = decodeAt(doc, i, nil)
			}
		}
		if found == all {
			return
		}
		// skipValue, with the scalars (most members) inline.
		switch c := doc[i]; c {
		case '"':
			if i, _, ok = scanString(doc, i); !ok {
				return
			}
		case '{', '[':
			if i = skipValue(doc, i); i < 0 {
				return
			}
		default:
			i = scanToken(doc, i)
		}
		i = skipWS(doc, i)
		if i >= len(doc) || doc[i] != ',' {
			return
		}
		i = skipWS(doc, i+1)
	}
}

// decodeAt converts the value starting at doc[i] (i < len(doc)).
func decodeAt(doc []byte, i int, buf []byte) Value {
	switch doc[i] {
	case '"':
		end, _, ok := scanString(doc, i)
		if !ok {
			return Value{}
		}
		s, ok := unescape(doc[i+1:end-1], buf)
		if !ok {
			return Value{}
		}
		return Value{Kind: String, Str: s}
	case '{':
		return Value{Kind: Object}
	case '[':
		return Value{Kind: Array}
	}
	switch tok := bytesString(doc[i:scanToken(doc, i)]); tok {
	case "true":
		return Value{Kind: Bool, Bool: true}
	case "false":
		return Value{Kind: Bool}
	case "null":
		return Value{Kind: Null}
	default:
		if tok == "" || tok[0] != '-' && (tok[0] < '0' || tok[0] > '9') {
			return Value{}
		}
		i, f, isInt, ok := celval.ParseNumber(tok)
		switch {
		case !ok:
			return Value{}
		case isInt:
			return Value{Kind: Int, Int: i}
		}
		return Value{Kind: Double, Float: f}
	}
}

// PathOK reports whether Get can find path: one or more keys, each of
// which can be written without escapes (no quote, no backslash, no control
// character).
func PathOK(path []string) bool {
	if len(path) == 0 {
		return false
	}
	for _, s := range path {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '\\' || c == '"' || c < 0x20 {
				return false
			}
		}
	}
	return true
}

// find returns the offset of the value at path, or ok false when it is
// not there or an escaped key comes before it. It never reads past doc,
// whatever doc holds.
func find(doc []byte, path []string) (int, bool) {
	i := skipWS(doc, 0)
	for _, key := range path {
		if i >= len(doc) || doc[i] != '{' {
			return 0, false
		}
		i = skipWS(doc, i+1)
		for {
			if i >= len(doc) || doc[i] != '"' {
				return 0, false // '}' (not found) or not JSON
			}
			end, esc, ok := scanString(doc, i)
			if !ok || esc {
				return 0, false
			}
			match := bytesString(doc[i+1:end-1]) == key
			i = skipWS(doc, end)
			if i >= len(doc) || doc[i] != ':' {
				return 0, false
			}
			i = skipWS(doc, i+1)
			if match {
				break
			}
			if i = skipValue(doc, i); i < 0 {
				return 0, false
			}
			i = skipWS(doc, i)
			if i >= len(doc) || doc[i] != ',' {
				return 0, false
			}
			i = skipWS(doc, i+1)
		}
	}
	return i, i < len(doc)
}

func skipWS(doc []byte, i int) int {
	// Compact JSON has no whitespace: one comparison decides.
	for i < len(doc) && doc[i] <= ' ' && (doc[i] == ' ' || doc[i] == '\n' || doc[i] == '\r' || doc[i] == '\t') {
		i++
	}
	return i
}

// stringStop marks the bytes that end a run of plain string content.
var stringStop = [256]bool{'"': true, '\\': true}

// scanString returns the offset after the string starting at doc[i]
// (a quote) and whether it holds an escape.
func scanString(doc []byte, i int) (end int, esc, ok bool) {
	j := i + 1
	for {
		for j < len(doc) && !stringStop[doc[j]] {
			j++
		}
		if j >= len(doc) {
			return 0, false, false
		}
		if doc[j] == '"' {
			return j + 1, esc, true
		}
		esc = true
		j += 2
	}
}

// tokenStop marks the bytes that end a number or a literal.
var tokenStop = [256]bool{',': true, '}': true, ']': true, ' ': true, '\n': true, '\r': true, '\t': true}

// scanToken returns the offset after the number or literal at doc[i].
func scanToken(doc []byte, i int) int {
	for i < len(doc) && !tokenStop[doc[i]] {
		i++
	}
	return i
}

// skipValue returns the offset after the value at doc[i], or -1.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch doc[i] {
	case '"':
		end, _, ok := scanString(doc, i)
		if !ok {
			return -1
		}
		return end
	case '{', '[':
		depth := 0
		for i < len(doc) {
			switch doc[i] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			case '"':
				end, _, ok := scanString(doc, i)
				if !ok {
					return -1
				}
				i = end
				continue
			}
			i++
		}
		return -1
	}
	return scanToken(doc, i)
}

func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// unescape decodes the body of a JSON string as fastjson does. The simple
// escapes and \uXXXX outside the surrogate range are decoded; a surrogate
// (which fastjson pairs or keeps verbatim by its own rules) or an escape
// fastjson would keep verbatim gives ok false, as does a result longer
// than buf.
func unescape(s []byte, buf []byte) (string, bool) {
	i := 0
	for i < len(s) && s[i] != '\\' {
		i++
	}
	if i == len(s) {
		return bytesString(s), true
	}
	out := buf[:0]
	for {
		if len(out)+i > cap(out) {
			return "", false
		}
		out = append(out, s[:i]...)
		s = s[i:]
		if len(s) == 0 {
			return bytesString(out), true
		}
		// s[0] == '\\'
		if len(s) < 2 || len(out)+utf8.UTFMax > cap(out) {
			return "", false
		}
		switch c := s[1]; c {
		case '"', '\\', '/':
			out = append(out, c)
			s = s[2:]
		case 'b':
			out, s = append(out, '\b'), s[2:]
		case 'f':
			out, s = append(out, '\f'), s[2:]
		case 'n':
			out, s = append(out, '\n'), s[2:]
		case 'r':
			out, s = append(out, '\r'), s[2:]
		case 't':
			out, s = append(out, '\t'), s[2:]
		case 'u':
			if len(s) < 6 {
				return "", false
			}
			x, err := strconv.ParseUint(bytesString(s[2:6]), 16, 16)
			if err != nil || utf16.IsSurrogate(rune(x)) {
				return "", false
			}
			out = utf8.AppendRune(out, rune(x))
			s = s[6:]
		default:
			return "", false
		}
		i = 0
		for i < len(s) && s[i] != '\\' {
			i++
		}
	}
}
