package connectors

import "unicode/utf8"

// validLine is the file source's one-pass check of a JSON line: true means
// that fastjson.ValidateBytes accepts line and checkJSONLimits(line,
// maxDepth) finds nothing, which is all the source asks of a line that
// becomes a record. It never answers true where either would complain;
// where unsure it answers false and the caller runs both for the verdict
// and the reason. The two passes it replaces cost ~20% of a file → file
// run: fastjson's validator works through nested calls on strings, and
// the limits then read the line again for UTF-8 and depth.
//
// It accepts standard JSON only and is stricter than fastjson where they
// differ (fastjson lets a raw control character through before a string's
// last escape): such a line goes to the slow path, which decides as
// before. Nesting deeper than 64 levels is left to the slow path too.
func validLine(line []byte, maxDepth int) bool {
	const maxStack = 64
	var objects uint64 // bit d-1: the container at depth d is an object
	depth := 0
	nonASCII := false
	i := skipJSONSpace(line, 0)
	for {
		// A value starts at i.
		if i >= len(line) {
			return false
		}
		switch c := line[i]; c {
		case '{', '[':
			depth++
			if depth > maxStack || (maxDepth > 0 && depth > maxDepth) {
				return false
			}
			bit := uint64(1) << (depth - 1)
			i = skipJSONSpace(line, i+1)
			if i >= len(line) {
				return false
			}
			if c == '{' {
				objects |= bit
				if line[i] == '}' {
					depth--
					i++
					break
				}
				if i = lineKey(line, i, &nonASCII); i < 0 {
					return false
				}
				continue
			}
			objects &^= bit
			if line[i] == ']' {
				depth--
				i++
				break
			}
			continue
		case '"':
			if i = lineString(line, i+1, &nonASCII); i < 0 {
				return false
			}
		case 't':
			if !hasWord(line, i, "true") {
				return false
			}
			i += 4
		case 'f':
			if !hasWord(line, i, "false") {
				return false
			}
			i += 5
		case 'n':
			if !hasWord(line, i, "null") {
				return false
			}
			i += 4
		default:
			if i = lineNumber(line, i); i < 0 {
				return false
			}
		}
		// After a value: close containers, or find the next value.
		for {
			i = skipJSONSpace(line, i)
			if depth == 0 {
				return i == len(line) && (!nonASCII || utf8.Valid(line))
			}
			if i >= len(line) {
				return false
			}
			object := objects&(1<<(depth-1)) != 0
			c := line[i]
			if c == ',' {
				i = skipJSONSpace(line, i+1)
				if object {
					if i = lineKey(line, i, &nonASCII); i < 0 {
						return false
					}
				}
				break
			}
			if (object && c == '}') || (!object && c == ']') {
				depth--
				i++
				continue
			}
			return false
		}
	}
}

// lineKey checks an object member's name at line[i:] and the colon after
// it; it returns where the value starts (white space skipped), or -1.
func lineKey(line []byte, i int, nonASCII *bool) int {
	if i >= len(line) || line[i] != '"' {
		return -1
	}
	if i = lineString(line, i+1, nonASCII); i < 0 {
		return -1
	}
	i = skipJSONSpace(line, i)
	if i >= len(line) || line[i] != ':' {
		return -1
	}
	return skipJSONSpace(line, i+1)
}

// strByte marks the bytes a string scan stops at: the quote, the
// backslash, control characters (1) and bytes of multi-byte UTF-8 (2).
var strByte = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 1
	}
	t['"'], t['\\'] = 1, 1
	for c := 0x80; c < 0x100; c++ {
		t[c] = 2
	}
	return t
}()

// lineString checks the rest of a string whose opening quote is before
// line[i]; it returns the index after the closing quote, or -1. A byte of
// multi-byte UTF-8 sets *nonASCII (the caller checks the encoding once).
func lineString(line []byte, i int, nonASCII *bool) int {
	for {
		for i < len(line) && strByte[line[i]] == 0 {
			i++
		}
		if i >= len(line) {
			return -1
		}
		c := line[i]
		if strByte[c] == 2 {
			*nonASCII = true
			i++
			continue
		}
		switch c {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(line) {
				return -1
			}
			switch line[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(line) {
					return -1
				}
				for _, h := range line[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

// lineNumber checks a JSON number at line[i:]; it returns the index after
// it, or -1.
func lineNumber(line []byte, i int) int {
	if i < len(line) && line[i] == '-' {
		i++
	}
	start := i
	i = skipDigits(line, i)
	if i == start || (line[start] == '0' && i-start > 1) {
		return -1
	}
	if i < len(line) && line[i] == '.' {
		i++
		d := i
		if i = skipDigits(line, i); i == d {
			return -1
		}
	}
	if i < len(line) && (line[i] == 'e' || line[i] == 'E') {
		i++
		if i < len(line) && (line[i] == '+' || line[i] == '-') {
			i++
		}
		d := i
		if i = skipDigits(line, i); i == d {
			return -1
		}
	}
	return i
}

func skipDigits(line []byte, i int) int {
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	return i
}

func hasWord(line []byte, i int, w string) bool {
	return len(line)-i >= len(w) && string(line[i:i+len(w)]) == w
}

func skipJSONSpace(line []byte, i int) int {
	// Compact JSON has none: one comparison decides.
	for i < len(line) && line[i] <= ' ' && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r') {
		i++
	}
	return i
}
