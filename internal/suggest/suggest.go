// Package suggest holds the "did you mean" rule shared by the engine, the
// connectors and the conditions: a near miss of a known name (within two
// edits) is suggested, so every message of the kind reads the same.
package suggest

import (
	"fmt"
	"strings"
)

// Closest returns the candidate nearest to word by edit distance when it
// is within two edits (ties: the first in candidates), or "".
func Closest(word string, candidates []string) string {
	if word == "" {
		return ""
	}
	best, bestD := "", 3
	for _, c := range candidates {
		if d := Distance(word, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// DidYouMean returns ` (did you mean "x"?)` for the candidate closest to
// word, or "" when none is close.
func DidYouMean(word string, candidates []string) string {
	if best := Closest(word, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// OrList formats values as "a, b or c".
func OrList(vals []string) string {
	switch len(vals) {
	case 0:
		return "nothing"
	case 1:
		return vals[0]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

// Distance is the Levenshtein edit distance, by bytes.
func Distance(a, b string) int {
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
