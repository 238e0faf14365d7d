package connectors

import (
	"fmt"
	"unicode/utf8"
)

// DefaultMaxDepth is the default max_depth of JSON input: deeper documents
// are dead-lettered at the source, before any stage, parser or error
// message has to deal with them.
const DefaultMaxDepth = 1000

// checkJSONLimits rejects a valid JSON line that is not valid UTF-8 (its
// strings would reach outputs as invalid JSON) or that nests objects and
// arrays deeper than maxDepth. A line shorter than maxDepth cannot nest
// that deep, so the depth scan costs nothing for ordinary records.
func checkJSONLimits(line []byte, maxDepth int) error {
	if !utf8.Valid(line) {
		off := 0
		for off < len(line) {
			r, size := utf8.DecodeRune(line[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return fmt.Errorf("invalid UTF-8 at byte %d", off)
	}
	if maxDepth <= 0 || len(line) <= maxDepth {
		return nil
	}
	depth := 0
	inString := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return fmt.Errorf("JSON nested deeper than max_depth (%d) at byte %d", maxDepth, i)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
