package connectors

import (
	"fmt"
	"strings"
)

// Enumerated is an optional interface of a connector's config: the keys
// that take one of a fixed set of values, with those values. The engine
// puts them in the JSON Schema of pipeline files; the config's checks use
// them (CheckEnum) so that the two cannot disagree.
type Enumerated interface {
	Enums() map[string][]string
}

// KeyError is a problem with one key of a connector's config, returned by
// a Spec's Check (alone or joined with others). The engine reports it at
// that key in the pipeline file rather than at the source or service
// holding it.
type KeyError struct {
	Key string // the key's YAML name
	Err error
}

func (e *KeyError) Error() string { return e.Err.Error() }

// Unwrap returns the problem.
func (e *KeyError) Unwrap() error { return e.Err }

// keyErrorf returns a *KeyError for key.
func keyErrorf(key, format string, args ...any) error {
	return &KeyError{Key: key, Err: fmt.Errorf(format, args...)}
}

// CheckEnum returns nil when val is one of valid, or a *KeyError for key
// that lists the valid values and, for a near miss, suggests the closest:
//
//	unknown codec "jsonlines" (want json_lines or lines) (did you mean "json_lines"?)
//
// what names the value in the message ("codec", "sync policy").
func CheckEnum(key, what, val string, valid []string) error {
	for _, v := range valid {
		if val == v {
			return nil
		}
	}
	msg := fmt.Sprintf("unknown %s %q (want %s)", what, val, orList(valid))
	if best := closest(val, valid); best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return &KeyError{Key: key, Err: fmt.Errorf("%s", msg)}
}

// orList formats values as "a, b or c".
func orList(vals []string) string {
	switch len(vals) {
	case 0:
		return "nothing"
	case 1:
		return vals[0]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

// closest returns the candidate nearest to word by edit distance when it
// is within 2 edits (ties: the first in candidates), or "": the rule of
// the engine's other "did you mean" suggestions.
func closest(word string, candidates []string) string {
	if word == "" {
		return ""
	}
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance (by bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
